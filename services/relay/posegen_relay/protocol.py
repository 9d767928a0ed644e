"""Messages of the relay (docs/websocket.md), built in one place for both protocols.

A message is an event name and a data object. The plain WebSocket protocol sends it as the JSON text
``{"event": ..., "data": ...}``; Socket.IO emits the same name with the same data object.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posegen.contracts import RELAY_PATH

WS_PATH = RELAY_PATH
SOCKETIO_NAMESPACE = "/pose-generator"
UPDATE = "pose-generation-update"
QUERY_TOKEN_NAMES = frozenset({"token", "access_token", "jwt"})
QUERY_TOKEN_REFUSED = "tokens in the query string are refused; use a header or auth message"

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TRY_AGAIN = 1013
CLOSE_POLICY = 4401
"""Close code after a refused token."""
CLOSE_AUTH_TIMEOUT = 4408
"""Close code for a connection that did not authenticate within ``RELAY_AUTH_TIMEOUT_SECONDS``."""
CLOSE_TOO_MANY = 4429


@dataclass(frozen=True, slots=True)
class Message:
    event: str
    data: dict


class ClientMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=1, max_length=32)
    token: str | None = Field(default=None, max_length=8192)
    generation_id: str | None = Field(default=None, alias="generationId", max_length=128)
    last_event_id: str | None = Field(default=None, alias="lastEventId", max_length=64)


class BadMessage(ValueError):
    pass


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """A plain-protocol message: one JSON object with a ``type``."""
    try:
        return ClientMessage.model_validate_json(raw)
    except ValidationError:
        raise BadMessage("expected a JSON object with a 'type'") from None


def client_event(event: str, data: object) -> ClientMessage:
    """A Socket.IO event: its name is the ``type``, its (optional) argument an object with the other fields."""
    if not isinstance(data, dict | None):
        raise BadMessage("expected a JSON object as the event's argument")
    try:
        return ClientMessage.model_validate({**(data or {}), "type": event})
    except ValidationError:
        raise BadMessage("expected a known event with valid fields") from None


def _now() -> str:
    return datetime.now(UTC).isoformat()


_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def valid_event_id(value: str) -> bool:
    """A Redis stream entry id, ``<milliseconds>-<sequence>``."""
    return bool(_EVENT_ID.match(value))


def subscribed(generation_id: str) -> Message:
    """Sent after a replay: everything stored has been queued; live events follow."""
    return Message("subscribed", {"generationId": generation_id})


def resync(generation_id: str, last_event_id: str | None) -> Message:
    """The client fell too far behind on a generation: the relay stopped keeping its live events. Subscribe
    again from ``lastEventId`` (from the start when null) to get the rest."""
    return Message(
        "resync",
        {
            "generationId": generation_id,
            "lastEventId": last_event_id,
            "message": "too far behind: subscribe again from lastEventId",
            "timestamp": _now(),
        },
    )


def connected(user_id: str) -> Message:
    return Message("connected", {"message": "Connected to Pose Generator updates", "userId": user_id})


def pong() -> Message:
    return Message("pong", {"timestamp": _now()})


def error(message: str, code: str) -> Message:
    return Message("error", {"message": message, "code": code, "timestamp": _now()})


def envelope(message: Message) -> str:
    """The plain protocol's text for one of the relay's own messages."""
    return json.dumps({"event": message.event, "data": message.data}, separators=(",", ":"))


def update(event_json: str) -> str:
    """The plain protocol's text for an event as published by the worker; it is already valid JSON, so it is
    not parsed again."""
    return f'{{"event":"{UPDATE}","data":{event_json}}}'
