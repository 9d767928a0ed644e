"""Projects: a user's avatar and the generations made for it. Every query is scoped to the owner."""

from __future__ import annotations

import uuid

from psycopg import Connection

from posegen.db import fetch_page

_COLUMNS = "id, user_id, name, description, avatar_source, avatar_image, status, created_at, updated_at"
ACTIVE_GENERATION_STATUSES = ("queued", "processing")


def create_project(
    *,
    conn: Connection,
    user_id: str,
    name: str,
    description: str | None,
    avatar_source: str | None,
    avatar_image: str | None,
    project_id: str | None = None,
) -> dict:
    return conn.execute(
        f"INSERT INTO projects (id, user_id, name, description, avatar_source, avatar_image)"
        f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
        (project_id or str(uuid.uuid4()), user_id, name, description, avatar_source, avatar_image),
    ).fetchone()


def get_project(
    *, conn: Connection, user_id: str, project_id: str, for_update: bool = False, for_share: bool = False
) -> dict | None:
    """``for_share`` keeps the row (its avatar) as read until the transaction ends, ``for_update`` also
    excludes other readers that lock it."""
    lock = " FOR UPDATE" if for_update else " FOR SHARE" if for_share else ""
    return conn.execute(
        f"SELECT {_COLUMNS} FROM projects WHERE id = %s AND user_id = %s{lock}", (project_id, user_id)
    ).fetchone()


def list_projects(*, conn: Connection, user_id: str, limit: int, offset: int) -> tuple[list[dict], int]:
    query = (
        f"SELECT {_COLUMNS}, count(*) OVER () AS total,"
        " (SELECT count(*) FROM generations g WHERE g.project_id = projects.id) AS generation_count"
        " FROM projects WHERE user_id = %(user_id)s ORDER BY created_at DESC, id"
    )
    return fetch_page(conn, dict, query, {"user_id": user_id}, limit=limit, offset=offset)


def update_project(*, conn: Connection, user_id: str, project_id: str, changes: dict) -> dict | None:
    """Apply ``changes`` (column -> value, only known columns) and return the row, or None if not the user's."""
    allowed = {"name", "description", "avatar_source", "avatar_image", "status"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    if not changes:
        return get_project(conn=conn, user_id=user_id, project_id=project_id)
    assignments = ", ".join(f"{column} = %({column})s" for column in changes)
    return conn.execute(
        f"UPDATE projects SET {assignments}, updated_at = now()"
        f" WHERE id = %(id)s AND user_id = %(user_id)s RETURNING {_COLUMNS}",
        {**changes, "id": project_id, "user_id": user_id},
    ).fetchone()


def has_active_generations(*, conn: Connection, project_id: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM generations WHERE project_id = %s AND status = ANY(%s) LIMIT 1",
            (project_id, list(ACTIVE_GENERATION_STATUSES)),
        ).fetchone()
        is not None
    )


def delete_project(*, conn: Connection, project_id: str) -> None:
    conn.execute("DELETE FROM projects WHERE id = %s", (project_id,))


def replace_avatar(
    *, conn: Connection, user_id: str, project_id: str, key: str, source: str
) -> tuple[dict | None, str | None]:
    """In the caller's transaction: show avatar ``key`` on the project and record the one it replaces as
    discarded (to be deleted from storage once nothing pins it). Returns the project's row (None if it is not
    the user's) and the discarded key (None if there was none)."""
    before = get_project(conn=conn, user_id=user_id, project_id=project_id, for_update=True)
    if before is None:
        return None, None
    discarded = before["avatar_image"] if before["avatar_image"] != key else None
    if discarded:
        conn.execute("INSERT INTO discarded_avatars (key) VALUES (%s) ON CONFLICT (key) DO NOTHING", (discarded,))
    row = update_project(
        conn=conn, user_id=user_id, project_id=project_id, changes={"avatar_image": key, "avatar_source": source}
    )
    return row, discarded


def deletable_avatars(*, conn: Connection, keys: list[str] | None = None, limit: int = 100) -> list[str]:
    """Discarded avatars (``keys`` of them, or any) that no project shows and no unfinished generation pins."""
    return [
        row["key"]
        for row in conn.execute(
            "SELECT d.key FROM discarded_avatars d"
            " WHERE (%(keys)s::text[] IS NULL OR d.key = ANY(%(keys)s::text[]))"
            " AND NOT EXISTS (SELECT 1 FROM projects p WHERE p.avatar_image = d.key)"
            " AND NOT EXISTS (SELECT 1 FROM generations g WHERE g.avatar_key = d.key AND g.status = ANY(%(active)s))"
            " ORDER BY d.discarded_at LIMIT %(limit)s",
            {"keys": keys, "active": list(ACTIVE_GENERATION_STATUSES), "limit": limit},
        ).fetchall()
    ]


def forget_discarded_avatar(*, conn: Connection, key: str) -> None:
    conn.execute("DELETE FROM discarded_avatars WHERE key = %s", (key,))
