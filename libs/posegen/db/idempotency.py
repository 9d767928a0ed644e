"""First answers to requests sent with an ``Idempotency-Key``, kept for :data:`KEPT` per (user, route, key).

:func:`claim` runs first in the transaction that charges or grants: a second request with the same key waits
on the row's primary key until the first commits (then finds it answered) or rolls back (then goes ahead).
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import Connection
from psycopg.types.json import Jsonb

KEPT = "24 hours"


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    request_hash: str
    status_code: int
    response: dict


def find(*, conn: Connection, user_id: str, route: str, key: str) -> StoredAnswer | None:
    row = conn.execute(
        "SELECT request_hash, status_code, response FROM idempotency_keys"
        f" WHERE user_id = %s AND route = %s AND key = %s AND created_at > now() - interval '{KEPT}'",
        (user_id, route, key),
    ).fetchone()
    return StoredAnswer(**row) if row else None


def claim(*, conn: Connection, user_id: str, route: str, key: str, request_hash: str, status_code: int) -> bool:
    """Take the key for this request (an expired row is taken over); False when a live answer holds it."""
    row = conn.execute(
        "INSERT INTO idempotency_keys (user_id, route, key, request_hash, status_code, response)"
        " VALUES (%s, %s, %s, %s, %s, 'null') ON CONFLICT (user_id, route, key) DO UPDATE"
        " SET request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,"
        " response = EXCLUDED.response, created_at = now()"
        f" WHERE idempotency_keys.created_at <= now() - interval '{KEPT}' RETURNING 1",
        (user_id, route, key, request_hash, status_code),
    ).fetchone()
    return row is not None


def record(*, conn: Connection, user_id: str, route: str, key: str, response: dict) -> None:
    conn.execute(
        "UPDATE idempotency_keys SET response = %s WHERE user_id = %s AND route = %s AND key = %s",
        (Jsonb(response), user_id, route, key),
    )


def delete_expired(*, conn: Connection, limit: int = 10_000) -> int:
    return conn.execute(
        "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys"
        f" WHERE created_at <= now() - interval '{KEPT}' LIMIT %s))",
        (limit,),
    ).rowcount
