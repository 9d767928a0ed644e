"""Requests that a pose be added to the public library: a user's own list, and the admins' review queue."""

from __future__ import annotations

from psycopg import Connection

from posegen.db import fetch_page

_COLUMNS = (
    "r.id, r.user_id, r.name, r.description, r.extraction_id, r.status, r.reviewer_id, r.reason, r.pose_id,"
    " r.created_at, r.reviewed_at"
)


def create_request(
    *, conn: Connection, request_id: str, user_id: str, name: str, description: str, extraction_id: str | None
) -> dict:
    return conn.execute(
        "INSERT INTO pose_requests AS r (id, user_id, name, description, extraction_id)"
        f" VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
        (request_id, user_id, name, description, extraction_id),
    ).fetchone()


def get_request(
    *, conn: Connection, request_id: str, user_id: str | None = None, for_update: bool = False
) -> dict | None:
    """The request (only if it is ``user_id``'s, when given)."""
    owner = " AND r.user_id = %(user)s" if user_id is not None else ""
    lock = " FOR UPDATE" if for_update else ""
    return conn.execute(
        f"SELECT {_COLUMNS} FROM pose_requests r WHERE r.id = %(id)s{owner}{lock}",
        {"id": request_id, "user": user_id},
    ).fetchone()


def list_requests(
    *, conn: Connection, user_id: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[dict], int]:
    """A user's requests, newest first; or (``user_id`` None) every request, oldest first: the review queue."""
    clauses, params = [], {}
    if user_id is not None:
        clauses.append("r.user_id = %(user)s")
        params["user"] = user_id
    if status is not None:
        clauses.append("r.status = %(status)s")
        params["status"] = status
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    order = "r.created_at DESC, r.id" if user_id is not None else "r.created_at, r.id"
    query = f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM pose_requests r{where} ORDER BY {order}"
    return fetch_page(conn, dict, query, params, limit=limit, offset=offset)


def mark_reviewed(
    *, conn: Connection, request_id: str, status: str, reviewer_id: str, reason: str | None, pose_id: str | None
) -> dict | None:
    """Approve or reject a pending request; None when it is no longer pending."""
    return conn.execute(
        "UPDATE pose_requests AS r SET status = %s, reviewer_id = %s, reason = %s, pose_id = %s, reviewed_at = now()"
        f" WHERE r.id = %s AND r.status = 'pending' RETURNING {_COLUMNS}",
        (status, reviewer_id, reason, pose_id, request_id),
    ).fetchone()
