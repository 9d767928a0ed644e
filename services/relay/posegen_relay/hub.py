"""Fan-in from Redis: one pub/sub connection per relay process, subscribed to the channels of exactly the
users connected here (subscribe on a user's first connection, unsubscribe after the last). When Redis goes
away the hub keeps the sessions, reconnects with backoff and subscribes again; clients fill the gap with
``subscribe`` + ``lastEventId``."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from posegen.contracts import QUEUE_NAME, user_channel
from posegen.retry import async_retrying
from posegen_relay.metrics import RelayMetrics
from posegen_relay.session import Envelope, Session

log = logging.getLogger("posegen.relay.hub")
_CHANNEL_PREFIX = f"{QUEUE_NAME}:"
POLL_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 5.0
REDIS_FAULTS = (RedisError, OSError)


class Hub:
    def __init__(self, redis_url: str, metrics: RelayMetrics) -> None:
        self.redis_url = redis_url
        self.metrics = metrics
        self.sessions: dict[str, set[Session]] = {}
        self.up = False
        self._pending: asyncio.Queue[tuple[str, str, asyncio.Future | None]] = asyncio.Queue()

    async def join(self, session: Session, *, timeout: float = 2.0) -> None:
        """Add the session; on a user's first connection wait (a little) until its channel is subscribed,
        so that no live event published after ``connected`` is missed."""
        users = self.sessions.setdefault(session.user_id, set())
        users.add(session)
        self.metrics.users.set(len(self.sessions))
        if len(users) > 1:
            return
        done = asyncio.get_running_loop().create_future()
        self._pending.put_nowait(("subscribe", session.user_id, done))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), timeout)

    def remove(self, session: Session) -> None:
        users = self.sessions[session.user_id]  # joined: Relay.close_session removes each session once
        users.discard(session)
        if not users:
            del self.sessions[session.user_id]
            self._pending.put_nowait(("unsubscribe", session.user_id, None))
        self.metrics.users.set(len(self.sessions))

    async def run(self) -> None:
        """Read the pub/sub connection forever; after a Redis failure, reconnect with backoff (which starts
        again from its shortest wait once a connection has been made)."""
        while True:
            client = aioredis.Redis.from_url(self.redis_url, socket_connect_timeout=2, health_check_interval=10)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                retrying = async_retrying(on=REDIS_FAULTS, deadline=None, first=0.1, cap=MAX_BACKOFF_SECONDS, log=log)
                async for attempt in retrying:
                    with attempt:
                        # Every connected user's channel; what is still pending is then (re)done by ``_read``.
                        channels = [user_channel(user) for user in self.sessions]
                        await pubsub.subscribe(*(channels or [f"{_CHANNEL_PREFIX}relay-keepalive"]))
                self._set_up(True)
                await self._read(pubsub)
            except REDIS_FAULTS as error:
                if self.up:
                    log.warning("lost Redis (%s); reconnecting", error)
                self._set_up(False)
            finally:
                for closing in (pubsub, client):
                    with contextlib.suppress(Exception):
                        await closing.aclose()

    async def _read(self, pubsub) -> None:
        while True:
            while not self._pending.empty():
                action, user, done = self._pending.get_nowait()
                if action == "subscribe" and user in self.sessions:
                    await pubsub.subscribe(user_channel(user))
                elif action == "unsubscribe" and user not in self.sessions:
                    await pubsub.unsubscribe(user_channel(user))
                if done is not None and not done.done():
                    done.set_result(None)
            message = await pubsub.get_message(timeout=POLL_SECONDS)
            if message and message.get("type") == "message":
                self._dispatch(message["channel"], message["data"])

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        user = channel.decode()[len(_CHANNEL_PREFIX) :]
        sessions = self.sessions.get(user)
        if not sessions:
            return
        try:
            event = Envelope.parse(data.decode())
        except (ValueError, KeyError):
            log.warning("ignored a malformed event on %s", channel)
            return
        if event.user_id != user:
            return
        for session in sessions:
            session.offer(event)

    def _set_up(self, up: bool) -> None:
        self.up = up
        self.metrics.redis_up.set(1 if up else 0)
