"""Messages of the relay's WebSocket protocol (SPEC §7), built in one place."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posegen.contracts import RELAY_PATH

WS_PATH = RELAY_PATH
AUTH_TIMEOUT_SECONDS = 10.0
CLOSE_POLICY = 4401
"""Close code after a refused token."""


class ClientMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=1, max_length=32)
    token: str | None = Field(default=None, max_length=8192)
    generation_id: str | None = Field(default=None, alias="generationId", max_length=128)
    last_event_id: str | None = Field(default=None, alias="lastEventId", max_length=64)


class BadMessage(ValueError):
    pass


def parse_client_message(raw: str | bytes) -> ClientMessage:
    try:
        return ClientMessage.model_validate_json(raw)
    except ValidationError:
        raise BadMessage("expected a JSON object with a 'type'") from None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def envelope(event: str, data: dict) -> str:
    return json.dumps({"event": event, "data": data}, separators=(",", ":"))


_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def valid_event_id(value: str) -> bool:
    """A Redis stream entry id, ``<milliseconds>-<sequence>``."""
    return bool(_EVENT_ID.match(value))


def subscribed(generation_id: str) -> str:
    """Sent after a replay: everything stored has been queued; live events follow."""
    return envelope("subscribed", {"generationId": generation_id})


def connected(user_id: str) -> str:
    return envelope("connected", {"message": "Connected to Pose Generator updates", "userId": user_id})


def pong() -> str:
    return envelope("pong", {"timestamp": _now()})


def error(message: str, code: str) -> str:
    return envelope("error", {"message": message, "code": code, "timestamp": _now()})


def update(event_json: str) -> str:
    """Wrap an event as published by the worker; it is already valid JSON, so it is not parsed again."""
    return f'{{"event":"pose-generation-update","data":{event_json}}}'
