"""``Idempotency-Key`` on the routes that move money (Stripe's convention, docs/api.md).

The same key with the same request from the same user within 24 hours gets the first answer again (its
status and body, with ``Idempotent-Replayed: true``) and nothing runs twice; the same key with another request
is a 422 ``idempotency_key_reused``. Only answers that did something are kept: a request that failed changed
nothing, and its retry runs afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Header
from psycopg import Connection
from pydantic import BaseModel
from pydantic.json_schema import SkipJsonSchema

from posegen.db import idempotency as idempotency_db
from posegen.errors import IdempotencyKeyReused

M = TypeVar("M", bound=BaseModel)
HEADER = "Idempotency-Key"
REPLAYED = {"Idempotent-Replayed": "true"}
KeyHeader = Annotated[
    str | SkipJsonSchema[None],
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]([ -~]*[!-~])?$",
        description=(
            "1..255 printable ASCII characters (no space first or last) chosen by the client (a UUID, say) to "
            "make a retry safe: within 24 hours the same key with the same body returns the first answer and does "
            "nothing again; the same key with another body is 422 `idempotency_key_reused`"
        ),
    ),
]


class AlreadyAnswered(Exception):
    """Another request with the key committed while this one waited for it."""


@dataclass(frozen=True, slots=True)
class Idempotency:
    user_id: str
    route: str
    key: str
    request_hash: str

    @classmethod
    def of(cls, key: str | None, *, user_id: str, route: str, request: dict) -> Idempotency | None:
        """The key of a request (None without the header); ``request`` is what must match on a retry."""
        if key is None:
            return None
        canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
        return cls(user_id, route, key, hashlib.sha256(canonical.encode()).hexdigest())

    def replay(self, conn: Connection, model: type[M]) -> M | None:
        """The first answer, if the key has one; 422 when it was given to another request."""
        stored = idempotency_db.find(conn=conn, user_id=self.user_id, route=self.route, key=self.key)
        if stored is None:
            return None
        if stored.request_hash != self.request_hash:
            raise IdempotencyKeyReused(
                f"this {HEADER} was used with another request in the last 24 hours; send a new key", field=HEADER
            )
        return model.model_validate(stored.response)

    def claim(self, conn: Connection, status_code: int) -> None:
        """First in the transaction that does the work: raise :class:`AlreadyAnswered` when another request
        holds the key (after waiting for it to commit)."""
        if not idempotency_db.claim(
            conn=conn,
            user_id=self.user_id,
            route=self.route,
            key=self.key,
            request_hash=self.request_hash,
            status_code=status_code,
        ):
            raise AlreadyAnswered

    def record(self, conn: Connection, answer: BaseModel) -> None:
        response = answer.model_dump(mode="json", by_alias=True)
        idempotency_db.record(conn=conn, user_id=self.user_id, route=self.route, key=self.key, response=response)


def run_once(
    conn: Connection, idempotency: Idempotency | None, model: type[M], status_code: int, work: Callable[[], M]
) -> tuple[M, bool]:
    """``work()`` in one transaction with the key claimed and its answer recorded, or the first answer again;
    returns the answer and whether it is a replay."""
    if idempotency is None:
        with conn.transaction():
            return work(), False
    if (first := idempotency.replay(conn, model)) is not None:
        return first, True
    try:
        with conn.transaction():
            idempotency.claim(conn, status_code)
            answer = work()
            idempotency.record(conn, answer)
            return answer, False
    except AlreadyAnswered:
        return idempotency.replay(conn, model), True
