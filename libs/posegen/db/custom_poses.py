"""Writing poses that do not come from the seed catalogue: a user's private poses (scoped to their owner)
and library poses added by an approved pose request."""

from __future__ import annotations

import uuid

from psycopg import Connection
from psycopg.types.json import Jsonb

from posegen.db import insert_query

_COLUMNS = "id, owner_id, visibility, category_id, name"
_EDITABLE = {"name", "description", "tags", "difficulty", "gender_suitability", "category_id"}


def create_private_pose(
    *, conn: Connection, owner_id: str, fields: dict, keypoints: list, source_extraction_id: str | None
) -> dict:
    """``fields``: category_id, name, description, tags, difficulty, gender_suitability."""
    private = {"owner_id": owner_id, "visibility": "private", "source_extraction_id": source_extraction_id}
    return _insert(conn, {**fields, "id": str(uuid.uuid4()), "keypoints": Jsonb(keypoints), **private})


def update_private_pose(*, conn: Connection, owner_id: str, pose_id: str, changes: dict) -> dict | None:
    """Apply ``changes`` (known columns only) to the owner's live private pose; None when it is not theirs."""
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    assignments = "".join(f"{column} = %({column})s, " for column in changes)
    return conn.execute(
        f"UPDATE poses SET {assignments}updated_at = now()"
        " WHERE id = %(id)s AND owner_id = %(owner)s AND deleted_at IS NULL"
        f" RETURNING {_COLUMNS}",
        {**changes, "id": pose_id, "owner": owner_id},
    ).fetchone()


def delete_private_pose(*, conn: Connection, owner_id: str, pose_id: str) -> bool:
    """Hide the owner's private pose everywhere. The row stays (generations that used it still name it, and
    one still waiting in the queue can finish)."""
    return (
        conn.execute(
            "UPDATE poses SET deleted_at = now(), updated_at = now()"
            " WHERE id = %s AND owner_id = %s AND deleted_at IS NULL",
            (pose_id, owner_id),
        ).rowcount
        == 1
    )


def create_library_pose(*, conn: Connection, pose_id: str, fields: dict, keypoints: list) -> dict:
    """A public library pose (an approved pose request); ``fields`` as for a private pose."""
    return _insert(conn, {**fields, "id": pose_id, "keypoints": Jsonb(keypoints)})


def _insert(conn: Connection, values: dict) -> dict:
    return conn.execute(insert_query("poses", values, f" RETURNING {_COLUMNS}"), values).fetchone()
