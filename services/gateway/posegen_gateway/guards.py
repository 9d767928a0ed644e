"""Refuses, before routing, request targets that no handler could store or look up safely."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from posegen_gateway.errors import envelope


class RejectNulMiddleware:
    """A NUL byte in the path or query string is a 422 (like any other invalid parameter), not a database
    error deep in a handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
            if b"\x00" in target or b"%00" in target or "\x00" in scope.get("path", ""):
                response = envelope(422, "the request path or query contains a NUL character", "validation_error")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
