"""A small HTTP server for a process's own endpoints beside its main work (Prometheus ``/metrics``, health
probes): each path maps to a function answering ``(status, body, content type)``, served from a daemon thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple[int, bytes, str]
NOT_FOUND: Answer = (404, b'{"status":"not_found"}', "application/json")


class EndpointServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, host: str, port: int, routes: Mapping[str, Callable[[], Answer]], *, reuse_port: bool = False
    ) -> None:
        self.allow_reuse_port = reuse_port
        super().__init__((host, port), _Handler)
        self.routes = routes

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, name="metrics-http", daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: EndpointServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        route = self.server.routes.get(self.path.split("?", 1)[0])
        status, body, content_type = route() if route else NOT_FOUND
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass
