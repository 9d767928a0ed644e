"""A real HTTPS server on loopback for the fetcher's tests: a certificate of its own (openssl) for
``localhost``, ``127.0.0.1`` and ``avatars.example.test``, and a few behaviours chosen by path."""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TEST_HOST = "avatars.example.test"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
        + ["-addext", f"subjectAltName=DNS:localhost,DNS:{TEST_HOST},IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


class HttpsServer:
    """``/big`` 5000 bytes, ``/redirect-private`` and ``/redirect-http`` redirects, ``/missing`` 404,
    ``/trickle`` one byte every ``trickle_interval`` seconds (``trickle_bytes`` of them), ``/held`` the
    headers at once and ``held_body`` once :meth:`release` is called; anything else ``hello``."""

    def __init__(self, folder: Path, *, held_body: bytes = b"hello") -> None:
        cert, key = make_certificate(folder)
        self.trickle_interval, self.trickle_bytes = 0.25, 40
        self.held_body = held_body
        self.released = threading.Event()
        self.held = threading.Semaphore(0)
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                routes: dict[str, Callable[[], None]] = {
                    "/big": lambda: self._send(200, b"x" * 5000),
                    "/redirect-private": lambda: self._redirect("https://10.1.2.3/a.png"),
                    "/redirect-http": lambda: self._redirect("http://127.0.0.1/a.png"),
                    "/missing": lambda: self._send(404, b""),
                    "/trickle": self._trickle,
                    "/held": self._held,
                }
                routes.get(self.path, lambda: self._send(200, b"hello"))()

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _trickle(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(server_self.trickle_bytes))
                self.end_headers()
                self.wfile.flush()
                for _ in range(server_self.trickle_bytes):
                    time.sleep(server_self.trickle_interval)
                    self.wfile.write(b"x")
                    self.wfile.flush()

            def _held(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(server_self.held_body)))
                self.end_headers()
                self.wfile.flush()
                server_self.held.release()
                server_self.released.wait(120)
                self.wfile.write(server_self.held_body)

            def log_message(self, *args):
                pass

            def handle(self):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    super().handle()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.base = f"https://localhost:{self.port}"
        self.client_context = ssl.create_default_context(cafile=str(cert))
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait_held(self, count: int, timeout: float) -> bool:
        """Whether ``count`` requests reached ``/held`` within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        return all(self.held.acquire(timeout=max(0.0, deadline - time.monotonic())) for _ in range(count))

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
