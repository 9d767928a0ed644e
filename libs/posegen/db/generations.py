"""Generations and their rows: created with the charge, read by owners, moved through their states."""

from __future__ import annotations

from psycopg import Connection

from posegen.contracts import job_id

_COLUMNS = """
id, project_id, user_id, generation_type, text_prompt, prompt, negative_prompt, variations_per_pose, width, height,
steps, guidance_scale, seed, identity_strength, avatar_key, status, poses_total, poses_completed, poses_failed,
credit_charged, credit_refunded,
error_message, queue_job_id, worker_name, cancel_requested_at, recovery_attempts, created_at, started_at,
completed_at, updated_at
"""
ACTIVE = ("queued", "processing")
TERMINAL = ("completed", "partial", "failed", "cancelled")


def insert_generation(*, conn: Connection, generation_id: str, user_id: str, fields: dict) -> dict:
    """Insert a queued generation; ``fields`` holds the request's columns (project_id, prompt, ...)."""
    columns = {**fields, "id": generation_id, "user_id": user_id, "queue_job_id": job_id(generation_id)}
    names = ", ".join(columns)
    values = ", ".join(f"%({name})s" for name in columns)
    return conn.execute(f"INSERT INTO generations ({names}) VALUES ({values}) RETURNING {_COLUMNS}", columns).fetchone()


def insert_generation_poses(*, conn: Connection, generation_id: str, pose_ids: list[str]) -> None:
    if not pose_ids:
        return
    conn.execute(
        "INSERT INTO generation_poses (generation_id, position, pose_id)"
        " SELECT %s, ordinality - 1, pose_id FROM unnest(%s::text[]) WITH ORDINALITY AS u(pose_id, ordinality)",
        (generation_id, pose_ids),
    )


def get_generation(*, conn: Connection, generation_id: str, user_id: str | None = None, for_update: bool = False):
    owner = " AND user_id = %(user_id)s" if user_id is not None else ""
    lock = " FOR UPDATE" if for_update else ""
    return conn.execute(
        f"SELECT {_COLUMNS} FROM generations WHERE id = %(id)s{owner}{lock}",
        {"id": generation_id, "user_id": user_id},
    ).fetchone()


def generation_pose_ids(*, conn: Connection, generation_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT pose_id FROM generation_poses WHERE generation_id = %s ORDER BY position", (generation_id,)
    ).fetchall()
    return [row["pose_id"] for row in rows]


def generated_poses(*, conn: Connection, generation_id: str, status: str | None = None) -> list[dict]:
    only = " AND status = %(status)s" if status else ""
    return conn.execute(
        "SELECT id, generation_id, pose_id, variation_key, status, image_key, thumbnail_key, seed, prompt_used,"
        " generation_seconds, identity_strength, error_message, created_at FROM generated_poses"
        f" WHERE generation_id = %(id)s{only} ORDER BY created_at, id",
        {"id": generation_id, "status": status},
    ).fetchall()


def list_generations(
    *, conn: Connection, user_id: str, project_id: str | None, limit: int, offset: int
) -> tuple[list[dict], int]:
    scope = " AND project_id = %(project_id)s" if project_id else ""
    rows = conn.execute(
        f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM generations WHERE user_id = %(user_id)s{scope}"
        " ORDER BY created_at DESC, id LIMIT %(limit)s OFFSET %(offset)s",
        {"user_id": user_id, "project_id": project_id, "limit": limit, "offset": offset},
    ).fetchall()
    if rows or offset == 0:
        return rows, rows[0]["total"] if rows else 0
    total = conn.execute(
        f"SELECT count(*) AS n FROM generations WHERE user_id = %(user_id)s{scope}",
        {"user_id": user_id, "project_id": project_id},
    ).fetchone()["n"]
    return [], total


def mark_cancelled(*, conn: Connection, generation_id: str, from_statuses: tuple[str, ...]) -> dict | None:
    return conn.execute(
        f"UPDATE generations SET status = 'cancelled', completed_at = now(), updated_at = now(),"
        f" cancel_requested_at = coalesce(cancel_requested_at, now())"
        f" WHERE id = %s AND status = ANY(%s) RETURNING {_COLUMNS}",
        (generation_id, list(from_statuses)),
    ).fetchone()


def request_cancel(*, conn: Connection, generation_id: str) -> dict | None:
    return conn.execute(
        f"UPDATE generations SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()"
        f" WHERE id = %s AND status = 'processing' RETURNING {_COLUMNS}",
        (generation_id,),
    ).fetchone()


def add_refunded(*, conn: Connection, generation_id: str, amount: int) -> None:
    conn.execute(
        "UPDATE generations SET credit_refunded = credit_refunded + %s, updated_at = now() WHERE id = %s",
        (amount, generation_id),
    )


def stale_queued(*, conn: Connection, older_than_seconds: float, limit: int = 100) -> list[dict]:
    """Queued generations old enough that their job should exist by now (for the reconciler)."""
    return conn.execute(
        "SELECT id, user_id FROM generations WHERE status = 'queued'"
        " AND created_at < now() - make_interval(secs => %s) ORDER BY created_at LIMIT %s",
        (older_than_seconds, limit),
    ).fetchall()


def queued_ahead(*, conn: Connection, created_at) -> int:
    return conn.execute(
        "SELECT count(*) AS n FROM generations WHERE status = 'queued' AND created_at < %s", (created_at,)
    ).fetchone()["n"]


def mean_seconds_per_image(*, conn: Connection, sample: int = 200) -> float | None:
    row = conn.execute(
        "SELECT avg(generation_seconds) AS s FROM (SELECT generation_seconds FROM generated_poses"
        " WHERE status = 'completed' AND generation_seconds IS NOT NULL ORDER BY created_at DESC LIMIT %s) r",
        (sample,),
    ).fetchone()
    return float(row["s"]) if row and row["s"] is not None else None


def claim(*, conn: Connection, generation_id: str, worker_name: str) -> dict | None:
    """Move a queued (or re-run processing) generation to ``processing`` under this worker."""
    return conn.execute(
        f"UPDATE generations SET status = 'processing', started_at = coalesce(started_at, now()),"
        f" worker_name = %s, updated_at = now() WHERE id = %s AND status IN ('queued', 'processing')"
        f" RETURNING {_COLUMNS}",
        (worker_name, generation_id),
    ).fetchone()


def insert_generated_pose(*, conn: Connection, row: dict) -> bool:
    """Record one image (completed or failed) once; return False when its variation was recorded before."""
    inserted = conn.execute(
        "INSERT INTO generated_poses (id, generation_id, pose_id, variation_key, status, image_key, thumbnail_key,"
        " seed, prompt_used, generation_seconds, identity_strength, error_message) VALUES (%(id)s,"
        " %(generation_id)s, %(pose_id)s, %(variation_key)s, %(status)s, %(image_key)s, %(thumbnail_key)s, %(seed)s,"
        " %(prompt_used)s, %(generation_seconds)s, %(identity_strength)s, %(error_message)s)"
        " ON CONFLICT (generation_id, variation_key) DO NOTHING RETURNING id",
        row,
    ).fetchone()
    return inserted is not None


def refresh_counts(*, conn: Connection, generation_id: str) -> dict:
    """Recount the generation's completed and failed images from its rows (exact after any re-run)."""
    return conn.execute(
        f"UPDATE generations g SET updated_at = now(),"
        f" poses_completed = (SELECT count(*) FROM generated_poses p WHERE p.generation_id = g.id"
        f"   AND p.status = 'completed'),"
        f" poses_failed = (SELECT count(*) FROM generated_poses p WHERE p.generation_id = g.id AND p.status = 'failed')"
        f" WHERE g.id = %s RETURNING {_COLUMNS}",
        (generation_id,),
    ).fetchone()


def finish(*, conn: Connection, generation_id: str, status: str, error_message: str | None = None) -> dict | None:
    """Set a terminal status on a processing generation."""
    return conn.execute(
        f"UPDATE generations SET status = %s, error_message = %s, completed_at = now(), updated_at = now()"
        f" WHERE id = %s AND status = 'processing' RETURNING {_COLUMNS}",
        (status, error_message, generation_id),
    ).fetchone()


def release_to_queue(*, conn: Connection, generation_id: str, recovered: bool = False) -> dict | None:
    """Put a processing generation back to ``queued`` (a worker shutting down, or the reaper)."""
    bump = ", recovery_attempts = recovery_attempts + 1" if recovered else ""
    return conn.execute(
        f"UPDATE generations SET status = 'queued', worker_name = NULL, updated_at = now(){bump}"
        f" WHERE id = %s AND status = 'processing' RETURNING {_COLUMNS}",
        (generation_id,),
    ).fetchone()


def processing_older_than(*, conn: Connection, seconds: float, limit: int = 100) -> list[dict]:
    return conn.execute(
        "SELECT id FROM generations WHERE status = 'processing' AND updated_at < now() - make_interval(secs => %s)"
        " ORDER BY updated_at LIMIT %s",
        (seconds, limit),
    ).fetchall()


def touch(*, conn: Connection, generation_id: str) -> None:
    conn.execute("UPDATE generations SET updated_at = now() WHERE id = %s", (generation_id,))
