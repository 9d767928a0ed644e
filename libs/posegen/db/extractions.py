"""Pose extractions: a photo a user uploaded and the pose the extractor found in it. Reads are scoped to
the owner; the extractor claims, completes or fails one by id."""

from __future__ import annotations

from psycopg import Connection
from psycopg.types.json import Jsonb

_COLUMNS = (
    "id, user_id, status, photo_key, photo_width, photo_height, keypoints, image_keypoints, people, people_count,"
    " chosen_person, skeleton_key, overlay_key, error_code, error_message, seconds, created_at, started_at,"
    " completed_at"
)


def create_extraction(
    *, conn: Connection, extraction_id: str, user_id: str, photo_key: str, width: int, height: int
) -> dict:
    return conn.execute(
        f"INSERT INTO pose_extractions (id, user_id, photo_key, photo_width, photo_height)"
        f" VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
        (extraction_id, user_id, photo_key, width, height),
    ).fetchone()


def get_extraction(*, conn: Connection, extraction_id: str, user_id: str | None = None) -> dict | None:
    """The extraction (only if it is ``user_id``'s, when given)."""
    owner = " AND user_id = %(user)s" if user_id is not None else ""
    return conn.execute(
        f"SELECT {_COLUMNS} FROM pose_extractions WHERE id = %(id)s{owner}", {"id": extraction_id, "user": user_id}
    ).fetchone()


def claim_extraction(*, conn: Connection, extraction_id: str) -> dict | None:
    """Move a queued extraction to processing; None when it is not queued (done, failed, or taken)."""
    return conn.execute(
        f"UPDATE pose_extractions SET status = 'processing', started_at = now()"
        f" WHERE id = %s AND status = 'queued' RETURNING {_COLUMNS}",
        (extraction_id,),
    ).fetchone()


def complete_extraction(*, conn: Connection, extraction_id: str, result: dict) -> dict | None:
    """Record what was found: ``keypoints``, ``image_keypoints``, ``people`` (list of dicts), ``chosen_person``,
    ``skeleton_key``, ``overlay_key``, ``seconds``."""
    return conn.execute(
        "UPDATE pose_extractions SET status = 'completed', keypoints = %(keypoints)s,"
        " image_keypoints = %(image_keypoints)s, people = %(people)s, people_count = %(people_count)s,"
        " chosen_person = %(chosen_person)s, skeleton_key = %(skeleton_key)s, overlay_key = %(overlay_key)s,"
        " seconds = %(seconds)s, completed_at = now()"
        f" WHERE id = %(id)s AND status = 'processing' RETURNING {_COLUMNS}",
        {
            **result,
            "id": extraction_id,
            "keypoints": Jsonb(result["keypoints"]),
            "image_keypoints": Jsonb(result["image_keypoints"]),
            "people": Jsonb(result["people"]),
            "people_count": len(result["people"]),
        },
    ).fetchone()


def fail_extraction(
    *,
    conn: Connection,
    extraction_id: str,
    code: str,
    message: str,
    people: list[dict] | None = None,
    seconds: float | None = None,
) -> dict | None:
    """Fail a queued or processing extraction; None when it had already ended."""
    return conn.execute(
        "UPDATE pose_extractions SET status = 'failed', error_code = %s, error_message = %s, people = %s,"
        " people_count = %s, seconds = %s, completed_at = now()"
        f" WHERE id = %s AND status IN ('queued', 'processing') RETURNING {_COLUMNS}",
        (code, message, Jsonb(people or []), len(people or []), seconds, extraction_id),
    ).fetchone()


def expire_stale(*, conn: Connection, older_than_seconds: float, user_id: str | None = None) -> list[dict]:
    """Fail (code ``timeout``) extractions queued or processing for longer than any extraction takes: their
    extractor died or their job was lost. Return the rows failed now."""
    owner = " AND user_id = %(user)s" if user_id is not None else ""
    return conn.execute(
        "UPDATE pose_extractions SET status = 'failed', error_code = 'timeout',"
        " error_message = 'the extraction did not finish in time; upload the photo again', completed_at = now()"
        " WHERE status IN ('queued', 'processing') AND created_at < now() - make_interval(secs => %(age)s)"
        f"{owner} RETURNING {_COLUMNS}",
        {"age": older_than_seconds, "user": user_id},
    ).fetchall()
