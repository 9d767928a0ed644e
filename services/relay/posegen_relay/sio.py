"""Socket.IO (v5 over Engine.IO v4, what socket.io-client 4.x speaks) with python-socketio: namespace
``/pose-generator``, the same messages and limits as the plain protocol, fed from the same hub and sessions.

Authentication is ``auth.token`` in the namespace's CONNECT (or an ``Authorization`` header); a refusal is a
CONNECT_ERROR whose message the client's ``connect_error`` receives, with ``data.code``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from urllib.parse import parse_qs

import socketio
from engineio import packet as engine_packet
from socketio import packet as sio_packet
from socketio.exceptions import ConnectionRefusedError as Refused

from posegen.auth import AuthError, Principal, bearer_token
from posegen_relay import protocol
from posegen_relay.core import Relay
from posegen_relay.protocol import SOCKETIO_NAMESPACE as NAMESPACE
from posegen_relay.protocol import Message
from posegen_relay.session import Session

CONNECT_WAIT_SECONDS = 30.0


class RawJSON:
    """An event's JSON exactly as the worker published it, emitted without being decoded and encoded again."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Packet(sio_packet.Packet):
    """python-socketio's packet, splicing a ``RawJSON`` argument in as it is."""

    def encode(self):
        data = self.data
        if (
            self.packet_type == sio_packet.EVENT
            and isinstance(data, list)
            and len(data) == 2
            and isinstance(data[1], RawJSON)
        ):
            namespace = "" if self.namespace in (None, "/") else self.namespace + ","
            return f"{sio_packet.EVENT}{namespace}[{json.dumps(data[0])},{data[1].text}]"
        return super().encode()


class SocketIOSender:
    """Hands EVENT packets to the client's Engine.IO socket, whose queue then plays the part of a transport's
    write buffer: once ``BACKLOG`` packets wait there, sending waits until the transport (the WebSocket
    writer, or the next long-poll response) has taken them, so a slow client's backlog stays in the
    session's queue, where stale progress is shed, instead of piling up in Engine.IO's unbounded one."""

    protocol = "socketio"
    BACKLOG = 16

    def __init__(self, server: socketio.AsyncServer, sid: str, eio_sid: str) -> None:
        self.server, self.sid, self.eio_sid = server, sid, eio_sid
        self._connected = False

    async def message(self, message: Message) -> None:
        await self._send(message.event, message.data)

    async def update(self, event_json: str) -> None:
        await self._send(protocol.UPDATE, RawJSON(event_json))

    async def _send(self, event: str, data: object) -> None:
        if not self._connected:
            await self._wait_for_connect()
        socket = self._socket()
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=NAMESPACE, data=[event, data]).encode()
        await socket.send(engine_packet.Packet(engine_packet.MESSAGE, data=encoded))
        queue = self._socket().queue
        if queue.qsize() >= self.BACKLOG:
            await queue.join()

    async def _wait_for_connect(self) -> None:
        """The session starts inside the connect handler, before python-socketio sends the namespace's
        CONNECT; nothing may be sent before it."""
        deadline = time.monotonic() + CONNECT_WAIT_SECONDS
        while not self.server.manager.is_connected(self.sid, NAMESPACE):
            if time.monotonic() > deadline:
                raise OSError("the Socket.IO connection did not complete")
            await asyncio.sleep(0.005)
        self._connected = True

    def _socket(self):
        socket = self.server.eio.sockets.get(self.eio_sid)
        if socket is None or socket.closed or socket.closing:
            raise OSError("the Socket.IO connection is gone")
        return socket

    async def close(self, code: int, reason: str) -> None:
        if code == protocol.CLOSE_GOING_AWAY:
            await self.server.eio.disconnect(self.eio_sid)
        else:
            await self.server.disconnect(self.sid, namespace=NAMESPACE)


class SocketIOProtocol:
    """The python-socketio server and its handlers; requests reach it through ``server.handle_request``."""

    def __init__(self, relay: Relay) -> None:
        settings = relay.settings
        allowed = settings.allowed_origins
        self.relay = relay
        self.server = socketio.AsyncServer(
            async_mode="asgi",
            serializer=Packet,
            cors_allowed_origins="*" if allowed is None else allowed,
            ping_interval=settings.relay_ping_interval,
            ping_timeout=settings.relay_ping_timeout,
            max_http_buffer_size=settings.relay_max_message_bytes,
            logger=False,
            engineio_logger=False,
        )
        self.sessions: dict[str, Session] = {}
        self.server.on("connect", self._connect, namespace=NAMESPACE)
        self.server.on("disconnect", self._disconnect, namespace=NAMESPACE)
        self.server.on("*", self._event, namespace=NAMESPACE)
        self._socketio_engine_connect = self.server.eio.handlers["connect"]
        self._socketio_engine_disconnect = self.server.eio.handlers["disconnect"]
        self.server.eio.on("connect", self._engine_connect)
        self.server.eio.on("disconnect", self._engine_disconnect)

    async def _connect(self, sid: str, environ: dict, auth: object) -> None:
        relay = self.relay
        principal = self._authenticated(environ, auth)
        if relay.draining:
            raise Refused("the relay is shutting down; reconnect", {"code": "going_away"})
        if relay.full():
            raise Refused("the relay is at its connection limit; retry shortly", {"code": "busy"})
        if relay.user_full(principal):
            raise Refused("too many connections for this user", {"code": "too_many_connections"})
        eio_sid = self.server.manager.eio_sid_from_sid(sid, NAMESPACE)
        relay.settle(eio_sid)
        session = await relay.open_session(principal, SocketIOSender(self.server, sid, eio_sid))
        socket = self.server.eio.sockets.get(eio_sid)
        if socket is None or socket.closed or socket.closing:  # the client left while the hub subscribed
            await relay.close_session(session)
            raise Refused("the connection closed", {"code": "gone"})
        self.sessions[sid] = session

    def _authenticated(self, environ: dict, auth: object) -> Principal:
        if protocol.QUERY_TOKEN_NAMES & parse_qs(environ.get("QUERY_STRING", "")).keys():
            raise Refused(protocol.QUERY_TOKEN_REFUSED, {"code": "unauthorized"})
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            if not token and environ.get("HTTP_AUTHORIZATION"):
                token = bearer_token(environ["HTTP_AUTHORIZATION"])
            if not isinstance(token, str) or not token:
                raise AuthError("no token: connect with auth: {token} or an Authorization header")
            return self.relay.authenticate(token)
        except AuthError as error:
            raise Refused(error.reason, {"code": "unauthorized"}) from None

    async def _engine_connect(self, eio_sid: str, environ: dict) -> None:
        """An Engine.IO connection joins the relay's pool of unauthenticated connections until it connects the
        namespace; closing it makes the client see a ``disconnect`` (``transport close``)."""
        await self._socketio_engine_connect(eio_sid, environ)
        self.relay.admit_unauthenticated(eio_sid, lambda _timed_out: self.relay.spawn(self._close_engine(eio_sid)))

    async def _close_engine(self, eio_sid: str) -> None:
        socket = self.server.eio.sockets.get(eio_sid)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.eio.disconnect(eio_sid), 2)
        if socket is not None and socket.upgraded:
            # python-engineio sends the close packet but keeps the WebSocket until the client closes it (or a
            # ping times out); ending its writer closes it now.
            socket.queue.put_nowait(None)

    async def _engine_disconnect(self, eio_sid: str, reason: str) -> None:
        self.relay.settle(eio_sid)
        await self._socketio_engine_disconnect(eio_sid, reason)
        socket = self.server.eio.sockets.get(eio_sid)
        if socket is not None and not socket.upgraded:
            # python-engineio leaves the pending long-poll of a closed session waiting for pingInterval +
            # pingTimeout; this ends it now, as engineio's own WebSocket transport does.
            socket.queue.put_nowait(None)

    async def _disconnect(self, sid: str, _reason: str) -> None:
        session = self.sessions.pop(sid, None)
        if session is not None:
            await self.relay.close_session(session)

    async def _event(self, event: str, sid: str, *args: object) -> None:
        session = self.sessions.get(sid)
        if session is None or session not in self.relay.sessions:
            return
        data = args[0] if len(args) == 1 else (None if not args else list(args))
        if not await self.relay.handle(session, lambda: protocol.client_event(event, data)):
            self.sessions.pop(sid, None)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.eio.disconnect(), 3)
        await self.server.shutdown()
