"""One client connection, whatever its protocol: its bounded outgoing queue, the task that drains it into
the connection's ``Sender``, and resumable replay.

Everything here runs on the relay's event loop, so no locks are needed. The hub offers every event of the
user's generations; a slow client's queue sheds its oldest ``progress`` events first and never a
``pose_completed`` or a final event; events are de-duplicated by their stream id, so a replay and the live
feed can overlap without the client seeing an event twice. A ``Sender`` only writes: one per protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import redis.asyncio as aioredis

from posegen.auth import Principal
from posegen.contracts import event_stream_key, stream_id_of
from posegen.events import entry_json
from posegen.settings import RelaySettings
from posegen_relay import protocol
from posegen_relay.metrics import RelayMetrics
from posegen_relay.protocol import Message

REPLAY_PAGE = 500
TRACKED_GENERATIONS = 64
BEHIND_FACTOR = 2
"""Events that may not be dropped are queued past ``RELAY_QUEUE_SIZE`` up to this many times it; past that
the client has fallen behind on their generation and is sent a ``resync``."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event as it travels: the JSON exactly as published, plus what routing needs from it. ``stream_id``
    is its subject: the generation's id (or the extraction's, or the pose request's)."""

    id: str
    type: str
    stream_id: str
    user_id: str
    timestamp: float
    raw: str

    @classmethod
    def parse(cls, raw: str) -> Envelope:
        data = json.loads(raw)
        return cls(
            data.get("id", ""), data["type"], stream_id_of(data), data["userId"], _epoch(data.get("timestamp")), raw
        )

    @property
    def droppable(self) -> bool:
        return self.type == "progress"


def _epoch(value: str | None) -> float:
    try:
        return datetime.fromisoformat(value).timestamp() if value else time.time()
    except ValueError:
        return time.time()


def _stream_order(event_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = event_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class Sender(Protocol):
    """Writes one connection's messages in its protocol; raises ``OSError`` once the connection is gone. What
    was sent counts as delivered once ``message`` or ``update`` returns (a sender may wait there while a slow
    client's transport is behind)."""

    protocol: str

    async def message(self, message: Message) -> None: ...

    async def update(self, event_json: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class TokenBucket:
    """``rate`` client messages a second on average, bursts of twice that."""

    def __init__(self, rate: float) -> None:
        self.rate, self.capacity = rate, 2 * rate
        self.tokens, self.updated = self.capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Session:
    def __init__(self, sender: Sender, principal: Principal, settings: RelaySettings, metrics: RelayMetrics) -> None:
        self.sender = sender
        self.principal = principal
        self.queue_size = settings.relay_queue_size
        self.metrics = metrics
        self.bucket = TokenBucket(settings.relay_max_messages_per_second)
        self.handling = asyncio.Lock()
        """Held while a client message is handled, so that one client's messages are handled in order."""
        self._queue: deque[Envelope | Message] = deque()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self.closed = False
        self._delivered: OrderedDict[str, set[str]] = OrderedDict()
        self._replaying: dict[str, deque[Envelope]] = {}
        self._behind: dict[str, None] = {}
        """Generations this client fell too far behind on (an ordered set): their live events are not kept
        until it subscribes again."""
        self._task = asyncio.create_task(self._send_forever())

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    @property
    def buffered(self) -> int:
        """Events held for this client: its queue and what waits behind a replay."""
        return len(self._queue) + sum(len(waiting) for waiting in self._replaying.values())

    def offer(self, event: Envelope) -> None:
        """An event from the live feed (called by the hub)."""
        if event.stream_id in self._behind:
            self.metrics.dropped.labels(event.type).inc()
            return
        waiting = self._replaying.get(event.stream_id)
        if waiting is None:
            if not self._enqueue(event):
                self._fall_behind(event.stream_id)
                self._resync(event.stream_id)
        elif not self._hold(waiting, event):
            self._fall_behind(event.stream_id)
            waiting.clear()

    def say(self, message: Message) -> None:
        """A protocol message of our own (pong, error, resync); never dropped."""
        self._queue.append(message)
        self._wake.set()

    def _enqueue(self, event: Envelope) -> bool:
        """Queue ``event`` (unless already sent, or stale progress shed for room); False when it may not be
        dropped and the queue already holds ``BEHIND_FACTOR`` times ``RELAY_QUEUE_SIZE``: the client has fallen
        too far behind."""
        seen = self._delivered.get(event.stream_id, set())
        if event.id and event.id in seen:
            return True
        if len(self._queue) >= self.queue_size and not self._shed(self._queue, event.stream_id):
            if not event.droppable and len(self._queue) >= self.queue_size * BEHIND_FACTOR:
                return False
            if event.droppable:
                self._mark_delivered(event)
                self.metrics.dropped.labels(event.type).inc()
                return True
        self._mark_delivered(event)
        self._queue.append(event)
        self._wake.set()
        return True

    def _mark_delivered(self, event: Envelope) -> None:
        if not event.id:
            return
        self._delivered.setdefault(event.stream_id, set()).add(event.id)
        self._delivered.move_to_end(event.stream_id)
        while len(self._delivered) > TRACKED_GENERATIONS:
            self._delivered.popitem(last=False)

    def _shed(self, queue: deque, stream_id: str) -> bool:
        """Drop the oldest progress event (of the same generation first); False when there is none."""
        for same_generation in (True, False):
            for index, queued in enumerate(queue):
                if (
                    isinstance(queued, Envelope)
                    and queued.droppable
                    and (not same_generation or queued.stream_id == stream_id)
                ):
                    del queue[index]
                    self.metrics.dropped.labels(queued.type).inc()
                    return True
        return False

    def _hold(self, waiting: deque[Envelope], event: Envelope) -> bool:
        """Keep a live event behind the replay of its generation, within ``RELAY_QUEUE_SIZE`` as the queue
        (stale progress shed first); False when it is full of events that may not be dropped."""
        if len(waiting) >= self.queue_size and not self._shed(waiting, event.stream_id):
            if not event.droppable:
                return False
            self.metrics.dropped.labels(event.type).inc()
            return True
        waiting.append(event)
        return True

    def _fall_behind(self, stream_id: str) -> None:
        """Stop keeping this generation's live events until the client subscribes to it again."""
        self._behind[stream_id] = None
        while len(self._behind) > TRACKED_GENERATIONS:
            del self._behind[next(iter(self._behind))]
        self.metrics.resyncs.inc()

    def _resync(self, stream_id: str) -> None:
        """Tell a client that fell behind where to subscribe again from: the last event queued for it."""
        if stream_id in self._behind:
            last = max(self._delivered.get(stream_id, ()), key=_stream_order, default=None)
            self.say(protocol.resync(stream_id, last))

    async def replay(self, client: aioredis.Redis, generation_id: str, last_event_id: str | None) -> bool:
        """Send the generation's stored events after ``last_event_id``, then the live ones that arrived
        meanwhile (de-duplicated, and paced like the replay), then resume live delivery. False when the
        generation is not the user's. A client that falls too far behind meanwhile gets a ``resync``."""
        self._behind.pop(generation_id, None)
        waiting = self._replaying[generation_id] = deque()
        try:
            found = await self._replay_stored(client, generation_id, last_event_id)
            while found and waiting and await self._wait_for_room():
                self._enqueue(waiting.popleft())
            return found
        finally:
            for event in self._replaying.pop(generation_id, ()):
                self._enqueue(event)
            self._resync(generation_id)

    async def _replay_stored(self, client: aioredis.Redis, generation_id: str, last_event_id: str | None) -> bool:
        key = event_stream_key(generation_id)
        first = await client.xrange(key, "-", "+", count=1)
        if not first or Envelope.parse(entry_json(*first[0])).user_id != self.user_id:
            return False
        start = f"({last_event_id}" if last_event_id else "-"
        while True:
            entries = await client.xrange(key, start, "+", count=REPLAY_PAGE)
            for entry_id, fields in entries:
                if not await self._wait_for_room():
                    return True
                self._enqueue(Envelope.parse(entry_json(entry_id, fields)))
            if len(entries) < REPLAY_PAGE:
                return True
            start = "(" + entries[-1][0].decode()

    async def _wait_for_room(self) -> bool:
        """A replay is paced by the client instead of shedding: it waits while the queue is full. False once
        the connection is gone."""
        while len(self._queue) >= self.queue_size and not self.closed:
            self._room.clear()
            await self._room.wait()
        return not self.closed

    async def stop(self) -> None:
        """Stop sending (what is still queued is not sent)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _send_forever(self) -> None:
        """Drain the queue into the sender; a slow client only ever blocks this task."""
        sender, metrics = self.sender, self.metrics
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    item = self._queue.popleft()
                    if len(self._queue) < self.queue_size:
                        self._room.set()
                    if isinstance(item, Message):
                        await sender.message(item)
                        continue
                    await sender.update(item.raw)
                    metrics.relayed.labels(item.type, sender.protocol).inc()
                    metrics.lag.labels(sender.protocol).observe(max(0.0, time.time() - item.timestamp))
        except OSError:
            pass
        finally:
            self.closed = True
            self._room.set()
