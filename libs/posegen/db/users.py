"""Users, created on their first valid token with ``STARTING_CREDITS``."""

from __future__ import annotations

from psycopg import Connection

from posegen.db import credits


def ensure_user(*, conn: Connection, user_id: str, role: str, email: str | None, starting_credits: int) -> bool:
    """Create the user (and its starting grant) if it does not exist; return whether it was created.

    The user and its grant are written together; a concurrent first request finds the user and does nothing.
    """
    with conn.transaction():
        created = conn.execute(
            "INSERT INTO users (id, email, role) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
            (user_id, email, role),
        ).fetchone()
        if created and starting_credits > 0:
            credits.grant(
                conn=conn,
                user_id=user_id,
                amount=starting_credits,
                reference_type="signup",
                reference_id=user_id,
            )
    return created is not None
