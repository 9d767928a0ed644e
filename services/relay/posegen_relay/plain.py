"""The plain WebSocket protocol (docs/websocket.md) over an ASGI WebSocket: the Origin check, authentication by header
or first message, the limits, and one text frame per message."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs

from posegen.auth import AuthError, Principal, bearer_token
from posegen_relay import protocol
from posegen_relay.core import Relay, refuse
from posegen_relay.protocol import Message

BUSY = "the relay is at its connection limit; retry shortly"


class PlainSender:
    protocol = "plain"

    def __init__(self, send) -> None:
        self._send = send

    async def message(self, message: Message) -> None:
        await self._send({"type": "websocket.send", "text": protocol.envelope(message)})

    async def update(self, event_json: str) -> None:
        await self._send({"type": "websocket.send", "text": protocol.update(event_json)})

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError):  # already closed
            await self._send({"type": "websocket.close", "code": code, "reason": reason})


class PlainProtocol:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def __call__(self, scope, receive, send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        if scope["path"] != protocol.WS_PATH or not self._origin_allowed(scope):
            await send({"type": "websocket.close"})  # before the accept: the handshake gets 403
            return
        await send({"type": "websocket.accept"})
        sender = PlainSender(send)
        if not await self._room_for(sender):
            return
        await self._serve(scope, receive, sender)

    async def _room_for(self, sender: PlainSender) -> bool:
        """False, with the connection closed, while the relay drains or is full (asked again after the
        authentication: the limit counts authenticated sessions)."""
        if self.relay.draining:
            await sender.close(protocol.CLOSE_GOING_AWAY, "going away")
            return False
        if self.relay.full():
            await refuse(sender, BUSY, "busy", protocol.CLOSE_TRY_AGAIN)
            return False
        return True

    def _origin_allowed(self, scope) -> bool:
        allowed = self.relay.settings.allowed_origins
        origin = _header(scope, b"origin")
        return allowed is None or origin is None or origin in allowed

    async def _serve(self, scope, receive, sender: PlainSender) -> None:
        principal = await self._authenticated(scope, receive, sender)
        if principal is None or not await self._room_for(sender):
            return
        if self.relay.user_full(principal):
            await refuse(sender, "too many connections for this user", "too_many_connections", protocol.CLOSE_TOO_MANY)
            return
        relay = self.relay
        session = await relay.open_session(principal, sender)
        try:
            while session in relay.sessions:
                event = await receive()
                if event["type"] != "websocket.receive":
                    break
                raw = event["text"] if event.get("text") is not None else event.get("bytes") or b""
                if not await relay.handle(session, lambda raw=raw: protocol.parse_client_message(raw)):
                    break
        finally:
            await relay.close_session(session)

    async def _authenticated(self, scope, receive, sender: PlainSender) -> Principal | None:
        """The connection's principal; None once it has been refused (or left before authenticating)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        header = _header(scope, b"authorization")
        try:
            if protocol.QUERY_TOKEN_NAMES & query.keys():
                raise AuthError(protocol.QUERY_TOKEN_REFUSED)
            if header:
                return self.relay.authenticate(bearer_token(header))
            event = await self._first_message(receive, sender)
            if event is None:
                return None
            message = protocol.parse_client_message(event.get("text") or event.get("bytes") or b"")
            if message.type != "auth" or not message.token:
                raise AuthError("the first message must be {'type': 'auth', 'token': ...}")
            return self.relay.authenticate(message.token)
        except (AuthError, protocol.BadMessage) as error:
            await refuse(sender, str(error), "unauthorized", protocol.CLOSE_POLICY)
            return None

    async def _first_message(self, receive, sender: PlainSender) -> dict | None:
        """The first message, waited for in the relay's pool of unauthenticated connections; None when the
        client left, or was closed for taking too long (4408) or to make room in the pool (1013)."""
        relay = self.relay
        timed_out: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        relay.admit_unauthenticated(sender, timed_out.set_result)
        receiving = asyncio.ensure_future(receive())
        try:
            done, _ = await asyncio.wait((receiving, timed_out), return_when=asyncio.FIRST_COMPLETED)
        finally:
            relay.settle(sender)
            if not receiving.done():
                receiving.cancel()
        if receiving not in done:
            if timed_out.result():
                timeout = relay.settings.relay_auth_timeout_seconds
                reason, code, close_code = (
                    f"no auth message within {timeout:g} s",
                    "auth_timeout",
                    protocol.CLOSE_AUTH_TIMEOUT,
                )
            else:
                reason, code, close_code = (
                    "too many connections are authenticating; retry",
                    "busy",
                    protocol.CLOSE_TRY_AGAIN,
                )
            await refuse(sender, reason, code, close_code)
            return None
        event = receiving.result()
        return event if event["type"] == "websocket.receive" else None


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
