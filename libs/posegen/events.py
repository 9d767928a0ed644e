"""Publishing and reading events (docs/events.md): a generation's, and the extraction and pose-request events.

One atomic script appends the event to its subject's capped, expiring stream (the generation's, the
extraction's or the request's) and publishes it on the user's channel. The stream entry id becomes the
event's ``id``, so a client that replays the stream and listens live at the same time can drop duplicates by
id. A generation's final event is published once: the script remembers its id (``final_event_key``) and a
second publish of a final event returns that id instead.
"""

from __future__ import annotations

import redis

from posegen.contracts import (
    STREAM_MAXLEN,
    STREAM_TTL_SECONDS,
    Event,
    event_stream_key,
    final_event_key,
    parse_event,
    user_channel,
)

# ARGV[1] is the event's JSON with an empty id first ('{"id":"",...'); the script fills the id in.
# ARGV[4] is 1 for a final event: KEYS[3] then holds the id of the one already published, if any.
_PUBLISH = """
if ARGV[4] == '1' then
  local published = redis.call('GET', KEYS[3])
  if published then return published end
end
local entry = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if ARGV[4] == '1' then redis.call('SET', KEYS[3], entry, 'EX', ARGV[3]) end
local message = '{"id":"' .. entry .. '"' .. string.sub(ARGV[1], 9)
redis.call('PUBLISH', KEYS[2], message)
return entry
"""
_EMPTY_ID_PREFIX = '{"id":""'


class EventPublisher:
    def __init__(self, connection: redis.Redis) -> None:
        self._script = connection.register_script(_PUBLISH)

    def publish(self, event: Event) -> str:
        """Append and publish; return the event's id."""
        payload = event.model_copy(update={"id": ""}).to_json()
        if not payload.startswith(_EMPTY_ID_PREFIX):
            raise ValueError("events must serialise with 'id' first")
        result = self._script(
            keys=[
                event_stream_key(event.stream_id),
                user_channel(event.user_id),
                final_event_key(event.stream_id),
            ],
            args=[payload, STREAM_MAXLEN, STREAM_TTL_SECONDS, 1 if event.is_terminal else 0],
        )
        return result.decode() if isinstance(result, bytes) else result


def entry_json(entry_id: bytes | str, fields: dict) -> str:
    """The event JSON of a stream entry, with its id filled in (the stored JSON has an empty one)."""
    entry = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    payload = fields.get(b"e") or fields.get("e")
    if isinstance(payload, bytes):
        payload = payload.decode()
    return f'{{"id":"{entry}"' + payload[len(_EMPTY_ID_PREFIX) :]


def event_from_entry(entry_id: bytes | str, fields: dict) -> Event:
    return parse_event(entry_json(entry_id, fields))


def read_events(connection: redis.Redis, stream_id: str) -> list[Event]:
    """The stored events of a generation (or extraction, or request), oldest first."""
    return [event_from_entry(i, f) for i, f in connection.xrange(event_stream_key(stream_id))]


def last_event(connection: redis.Redis, generation_id: str) -> Event | None:
    entries = connection.xrevrange(event_stream_key(generation_id), "+", "-", count=1)
    return event_from_entry(*entries[0]) if entries else None
