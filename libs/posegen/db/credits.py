"""The credit ledger: append-only rows with the running balance; ``users.credit_balance`` mirrors the newest.

Every function runs inside the caller's transaction (rows as dicts). The balance moves with one
conditional ``UPDATE`` of the user's row, so concurrent changes for one user serialise on that row and a
charge can never overdraw. Grants and refunds happen at most once per reference (the ledger's unique key).
"""

from __future__ import annotations

from psycopg import Connection

from posegen.errors import InsufficientCredits

_APPEND = """
INSERT INTO credit_ledger (user_id, amount, balance, type, reference_type, reference_id, description)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (type, reference_type, reference_id) DO NOTHING
RETURNING id
"""
_MOVE = "UPDATE users SET credit_balance = credit_balance + %s, updated_at = now() WHERE id = %s"


class _AlreadyRecorded(Exception):
    pass


def balance(*, conn: Connection, user_id: str) -> int:
    row = conn.execute("SELECT credit_balance FROM users WHERE id = %s", (user_id,)).fetchone()
    return row["credit_balance"] if row else 0


def charge(*, conn: Connection, user_id: str, amount: int, reference_type: str, reference_id: str) -> int:
    """Take ``amount`` credits or raise :class:`InsufficientCredits`; return the new balance."""
    row = conn.execute(
        _MOVE + " AND credit_balance >= %s RETURNING credit_balance", (-amount, user_id, amount)
    ).fetchone()
    if row is None:
        raise InsufficientCredits(required=amount, balance=balance(conn=conn, user_id=user_id))
    if amount > 0:
        appended = _append(conn, user_id, -amount, row["credit_balance"], "usage", reference_type, reference_id)
        if not appended:
            raise ValueError(f"{reference_type} {reference_id} was already charged")
    return row["credit_balance"]


def grant(
    *,
    conn: Connection,
    user_id: str,
    amount: int,
    reference_type: str,
    reference_id: str,
    description: str | None = None,
) -> int | None:
    """Add credits once per reference; return the new balance, or None when it was granted before."""
    return _credit(conn, user_id, amount, "grant", reference_type, reference_id, description)


def refund(*, conn: Connection, user_id: str, amount: int, reference_type: str, reference_id: str) -> int | None:
    """Give credits back once per reference; return the new balance, or None when already refunded."""
    return _credit(conn, user_id, amount, "refund", reference_type, reference_id, None)


def _credit(
    conn: Connection,
    user_id: str,
    amount: int,
    kind: str,
    reference_type: str,
    reference_id: str,
    description: str | None,
) -> int | None:
    if amount <= 0:
        raise ValueError("a grant or refund must be positive")
    try:
        with conn.transaction():
            row = conn.execute(_MOVE + " RETURNING credit_balance", (amount, user_id)).fetchone()
            if row is None:
                raise LookupError(f"no user {user_id}")
            if not _append(
                conn, user_id, amount, row["credit_balance"], kind, reference_type, reference_id, description
            ):
                raise _AlreadyRecorded
    except _AlreadyRecorded:
        return None
    return row["credit_balance"]


def _append(
    conn: Connection,
    user_id: str,
    amount: int,
    new_balance: int,
    kind: str,
    reference_type: str,
    reference_id: str,
    description: str | None = None,
) -> bool:
    params = (user_id, amount, new_balance, kind, reference_type, reference_id, description)
    return conn.execute(_APPEND, params).fetchone() is not None


def recent_entries(*, conn: Connection, user_id: str, limit: int = 50) -> list[dict]:
    return conn.execute(
        "SELECT id, amount, balance, type, reference_type, reference_id, description, created_at"
        " FROM credit_ledger WHERE user_id = %s ORDER BY id DESC LIMIT %s",
        (user_id, limit),
    ).fetchall()
