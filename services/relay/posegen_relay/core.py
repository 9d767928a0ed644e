"""What both protocols share: authentication, the limits, sessions joined to the hub, client messages, and
draining at shutdown. A protocol module only turns its wire format into calls here and supplies a ``Sender``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Coroutine

import redis.asyncio as aioredis

from posegen.auth import Principal, decode_token
from posegen.settings import RelaySettings
from posegen_relay import protocol
from posegen_relay.hub import Hub
from posegen_relay.metrics import RelayMetrics
from posegen_relay.session import Sender, Session

CLOSE_SECONDS = 3.0


class Relay:
    def __init__(self, settings: RelaySettings) -> None:
        self.settings = settings
        self.metrics = RelayMetrics()
        self.hub = Hub(settings.redis_url, metrics=self.metrics)
        self.redis = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        self.sessions: set[Session] = set()
        self.draining = False
        self.pending: OrderedDict[object, Callable[[bool], None]] = OrderedDict()
        """Connections still authenticating, oldest first, each with what closes it (``timed_out``)."""
        self._tasks: set[asyncio.Task] = set()
        self.metrics.buffered.set_function(lambda: sum(session.buffered for session in self.sessions))

    def authenticate(self, token: str) -> Principal:
        return decode_token(
            token, secret=self.settings.jwt_secret.get_secret_value(), algorithm=self.settings.jwt_algorithm
        )

    def full(self) -> bool:
        """At the limit of authenticated connections: a new one is refused (counted here)."""
        if len(self.sessions) < self.settings.relay_max_connections:
            return False
        self.metrics.refused.labels("relay_full").inc()
        return True

    def admit_unauthenticated(self, key: object, close: Callable[[bool], None]) -> None:
        """A connection that has yet to authenticate, in a pool of its own (``RELAY_MAX_UNAUTHENTICATED``): at
        the pool's limit the oldest is closed, so idle handshakes cannot keep anyone out; each is closed
        ``RELAY_AUTH_TIMEOUT_SECONDS`` after it arrived unless it has authenticated (or left) by then."""
        while len(self.pending) >= self.settings.max_unauthenticated:
            _, oldest = self.pending.popitem(last=False)
            self.metrics.refused.labels("unauthenticated_limit").inc()
            oldest(False)
        self.pending[key] = close
        self.metrics.unauthenticated.set(len(self.pending))
        asyncio.get_running_loop().call_later(self.settings.relay_auth_timeout_seconds, self._expire, key)

    def settle(self, key: object) -> None:
        """The connection authenticated, or left."""
        if self.pending.pop(key, None) is not None:
            self.metrics.unauthenticated.set(len(self.pending))

    def _expire(self, key: object) -> None:
        close = self.pending.pop(key, None)
        if close is not None:
            self.metrics.unauthenticated.set(len(self.pending))
            self.metrics.refused.labels("auth_timeout").inc()
            close(True)

    def spawn(self, work: Coroutine) -> None:
        """Run ``work`` in the background, keeping a reference until it ends."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def user_full(self, principal: Principal) -> bool:
        if len(self.hub.sessions.get(principal.user_id, ())) < self.settings.relay_max_connections_per_user:
            return False
        self.metrics.refused.labels("user_limit").inc()
        return True

    async def open_session(self, principal: Principal, sender: Sender) -> Session:
        """Join the hub (so that no live event published after ``connected`` is missed), then greet."""
        session = Session(sender, principal, self.settings, self.metrics)
        self.sessions.add(session)
        await self.hub.join(session)
        self.metrics.connections.labels(sender.protocol).inc()
        session.say(protocol.connected(principal.user_id))
        return session

    async def close_session(self, session: Session) -> None:
        if session not in self.sessions:
            return
        self.sessions.discard(session)
        self.hub.remove(session)
        self.metrics.connections.labels(session.sender.protocol).dec()
        await session.stop()

    async def handle(self, session: Session, parse: Callable[[], protocol.ClientMessage]) -> bool:
        """One client message; bad input gets an ``error`` and the connection stays. Too many messages get an
        ``error`` and the connection is closed: False."""
        if not session.bucket.take():
            self.metrics.refused.labels("message_flood").inc()
            await self.close_session(session)
            await refuse(
                session.sender, "too many messages; slow down", "rate_limited", protocol.CLOSE_POLICY_VIOLATION
            )
            return False
        async with session.handling:
            try:
                message = parse()
            except protocol.BadMessage as error:
                session.say(protocol.error(str(error), "bad_message"))
                return True
            if message.type == "ping":
                session.say(protocol.pong())
            elif message.type == "subscribe":
                await self._subscribe(session, message)
            elif message.type == "auth":
                session.say(protocol.error("already authenticated", "already_authenticated"))
            else:
                session.say(protocol.error(f"unknown message type '{message.type}'", "unknown_type"))
        return True

    async def _subscribe(self, session: Session, message: protocol.ClientMessage) -> None:
        if not message.generation_id:
            session.say(protocol.error("subscribe needs a generationId", "bad_message"))
            return
        if message.last_event_id and not protocol.valid_event_id(message.last_event_id):
            session.say(protocol.error("lastEventId is not an event id", "bad_message"))
            return
        try:
            found = await session.replay(self.redis, message.generation_id, message.last_event_id)
        except (OSError, aioredis.RedisError):
            found = None
        if found is None:
            session.say(protocol.error("events cannot be replayed right now; retry", "unavailable"))
        elif not found:
            session.say(protocol.error("no events for this generation", "not_found"))
        else:
            session.say(protocol.subscribed(message.generation_id))

    async def drain(self) -> None:
        """Refuse new connections and tell every client that the relay is going away (plain: close 1001;
        Socket.IO: the transport closes, so the client reconnects, through the edge, to another relay)."""
        self.draining = True
        sessions = list(self.sessions)
        for session in sessions:
            await self.close_session(session)
        await asyncio.gather(*(_close(s.sender, protocol.CLOSE_GOING_AWAY, "going away") for s in sessions))


async def refuse(sender: Sender, message: str, code: str, close_code: int) -> None:
    """Send an ``error`` straight to the connection (not through a session's queue), then close it."""
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(sender.message(protocol.error(message, code)), CLOSE_SECONDS)
    await _close(sender, close_code, code)


async def _close(sender: Sender, code: int, reason: str) -> None:
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(sender.close(code, reason), CLOSE_SECONDS)
