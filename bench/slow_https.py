"""A slow HTTPS server on loopback for ``bench/gateway_memory.py``: every GET answers a small PNG one byte
every ``interval`` seconds (a certificate of its own, made with openssl, for ``avatars.example.test``), until
:meth:`SlowHttpsServer.finish` sends the rest of every body at once."""

from __future__ import annotations

import io
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

TEST_HOST = "avatars.example.test"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (90, 140, 200)).save(buffer, "PNG")
    return buffer.getvalue()


class SlowHttpsServer:
    def __init__(self, folder: Path, *, interval: float = 0.5) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.cafile, key = folder / "cert.pem", folder / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={TEST_HOST}"]
            + ["-addext", f"subjectAltName=DNS:{TEST_HOST}", "-keyout", str(key), "-out", str(self.cafile)],
            check=True,
            capture_output=True,
        )
        self.interval = interval
        self.body = _png()
        self.finished = threading.Event()
        self._count = threading.Condition()
        self.in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                with server._count:
                    server.in_flight += 1
                    server._count.notify_all()
                try:
                    sent = 0
                    while sent < len(server.body) and not server.finished.wait(server.interval):
                        self.wfile.write(server.body[sent : sent + 1])
                        self.wfile.flush()
                        sent += 1
                    self.wfile.write(server.body[sent:])
                except OSError:
                    pass
                finally:
                    with server._count:
                        server.in_flight -= 1

            def log_message(self, *_args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cafile, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def wait_for(self, count: int, *, timeout: float) -> int:
        """Wait until ``count`` bodies are being trickled (or ``timeout`` passed); returns how many are."""
        deadline = time.monotonic() + timeout
        with self._count:
            while self.in_flight < count and time.monotonic() < deadline:
                self._count.wait(deadline - time.monotonic())
            return self.in_flight

    def finish(self) -> None:
        self.finished.set()

    def __enter__(self) -> SlowHttpsServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.finish()
        self._server.shutdown()
        self._server.server_close()
