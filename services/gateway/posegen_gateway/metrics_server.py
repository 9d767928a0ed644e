"""The gateway's ``/metrics`` on a port of its own (``GATEWAY_METRICS_PORT``), which no edge routes: the
exposition tells credits charged and queue depth, so the public port (``GATEWAY_PORT``) does not serve it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True
    # Every uvicorn worker process (GATEWAY_WORKERS) binds the port; a scrape reaches one of them, as a
    # request to the public port does.
    allow_reuse_port = True

    def __init__(self, host: str, port: int, registry: CollectorRegistry) -> None:
        super().__init__((host, port), _Handler)
        self.registry = registry

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, name="metrics-http", daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.split("?", 1)[0] == "/metrics":
            self._reply(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        else:
            self._reply(404, b'{"status":"not_found"}', "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass
