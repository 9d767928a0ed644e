"""Generations and their images: created with the charge, read by owners, moved through their states by
``posegen.lifecycle``. Rows come back typed (:class:`GenerationRow`, :class:`ImageRow`), not as dicts."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from psycopg import Connection
from psycopg.types.json import Jsonb

from posegen.contracts import job_id
from posegen.db import fetch_all, fetch_one, insert_query

TERMINAL = ("completed", "partial", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class GenerationRow:
    id: str
    project_id: str
    user_id: str
    generation_type: str
    text_prompt: str | None
    prompt: str | None
    negative_prompt: str | None
    variations_per_pose: int
    width: int
    height: int
    steps: int
    guidance_scale: float
    seed: int | None
    identity_strength: float
    avatar_key: str | None
    status: str
    poses_total: int
    poses_completed: int
    poses_failed: int
    credit_charged: int
    credit_refunded: int
    error_message: str | None
    queue_job_id: str | None
    worker_name: str | None
    cancel_requested_at: datetime | None
    recovery_attempts: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    final_event_at: datetime | None
    """When the final event reached Redis; None while it is owed (see ``posegen.lifecycle``)."""

    @property
    def image_cost(self) -> int:
        return self.credit_charged // self.poses_total


@dataclass(frozen=True, slots=True)
class ImageRow:
    """One made (or failed) image of a generation: a ``generated_poses`` row."""

    id: str
    generation_id: str
    pose_id: str | None
    variation_key: str
    status: str
    image_key: str | None
    thumbnail_key: str | None
    seed: int | None
    prompt_used: str | None
    generation_seconds: float | None
    identity_strength: float
    error_message: str | None
    created_at: datetime | None = None
    keypoints: list | None = None
    """The keypoints it was generated from, normalised to the image (pose-aware export framing)."""
    guide_pose_id: str | None = None
    """The library pose that guided it (the same as ``pose_id`` in gallery mode; text mode's match)."""


_COLUMNS = ", ".join(f.name for f in fields(GenerationRow))
_IMAGE_COLUMNS = ", ".join(f.name for f in fields(ImageRow))


def insert_generation(*, conn: Connection, generation_id: str, user_id: str, fields: dict) -> GenerationRow:
    """Insert a queued generation; ``fields`` holds the request's columns (project_id, prompt, ...)."""
    columns = {**fields, "id": generation_id, "user_id": user_id, "queue_job_id": job_id(generation_id)}
    return fetch_one(conn, GenerationRow, insert_query("generations", columns, f" RETURNING {_COLUMNS}"), columns)


def insert_generation_poses(*, conn: Connection, generation_id: str, pose_ids: list[str]) -> None:
    if not pose_ids:
        return
    conn.execute(
        "INSERT INTO generation_poses (generation_id, position, pose_id)"
        " SELECT %s, ordinality - 1, pose_id FROM unnest(%s::text[]) WITH ORDINALITY AS u(pose_id, ordinality)",
        (generation_id, pose_ids),
    )


def get_generation(
    *, conn: Connection, generation_id: str, user_id: str | None = None, for_update: bool = False
) -> GenerationRow | None:
    owner = " AND user_id = %(user_id)s" if user_id is not None else ""
    lock = " FOR UPDATE" if for_update else ""
    return fetch_one(
        conn,
        GenerationRow,
        f"SELECT {_COLUMNS} FROM generations WHERE id = %(id)s{owner}{lock}",
        {"id": generation_id, "user_id": user_id},
    )


def update_generation(
    *,
    conn: Connection,
    generation_id: str,
    assignments: str,
    from_statuses: tuple[str, ...] = ("processing",),
    params: tuple = (),
    where: str = "TRUE",
) -> GenerationRow | None:
    """``UPDATE ... SET {assignments}`` on a generation in one of ``from_statuses`` (a running one unless told)
    and matching ``where``; the changed row or None. Only ``posegen.lifecycle`` moves a generation between states."""
    return fetch_one(
        conn,
        GenerationRow,
        f"UPDATE generations SET {assignments}, updated_at = now()"
        f" WHERE id = %s AND status = ANY(%s) AND ({where}) RETURNING {_COLUMNS}",
        (*params, generation_id, list(from_statuses)),
    )


def generation_pose_ids(*, conn: Connection, generation_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT pose_id FROM generation_poses WHERE generation_id = %s ORDER BY position", (generation_id,)
    ).fetchall()
    return [row["pose_id"] for row in rows]


def generated_poses(*, conn: Connection, generation_id: str, status: str | None = None) -> list[ImageRow]:
    only = " AND status = %(status)s" if status else ""
    return fetch_all(
        conn,
        ImageRow,
        f"SELECT {_IMAGE_COLUMNS} FROM generated_poses WHERE generation_id = %(id)s{only} ORDER BY created_at, id",
        {"id": generation_id, "status": status},
    )


def list_generations(
    *,
    conn: Connection,
    user_id: str | None,
    project_id: str | None = None,
    status: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[GenerationRow], int]:
    """Newest first; ``user_id`` None lists everyone's (the admin view)."""
    filters = {"user_id": user_id, "project_id": project_id, "status": status}
    where = " AND ".join(f"{name} = %({name})s" for name, value in filters.items() if value is not None) or "true"
    params = {**filters, "limit": limit, "offset": offset}
    total = conn.execute(f"SELECT count(*) AS n FROM generations WHERE {where}", params)
    rows = fetch_all(
        conn,
        GenerationRow,
        f"SELECT {_COLUMNS} FROM generations WHERE {where}"
        " ORDER BY created_at DESC, id LIMIT %(limit)s OFFSET %(offset)s",
        params,
    )
    return rows, total.fetchone()["n"]


def add_refunded(*, conn: Connection, generation_id: str, amount: int) -> None:
    conn.execute(
        "UPDATE generations SET credit_refunded = credit_refunded + %s, updated_at = now() WHERE id = %s",
        (amount, generation_id),
    )


def _ids_older_than(conn: Connection, column: str, seconds: float, condition: str, *params: object) -> list[str]:
    """Up to 100 ids of generations matching ``condition`` whose ``column`` is more than ``seconds`` old."""
    rows = conn.execute(
        f"SELECT id FROM generations WHERE {condition} AND {column} < now() - make_interval(secs => %s)"
        " ORDER BY updated_at LIMIT 100",
        (*params, seconds),
    )
    return [row["id"] for row in rows.fetchall()]


def stale_queued(*, conn: Connection, older_than_seconds: float) -> list[str]:
    """Queued generations old enough that their job should exist by now (for the reconciler)."""
    return _ids_older_than(conn, "created_at", older_than_seconds, "status = 'queued'")


def processing_older_than(*, conn: Connection, seconds: float) -> list[str]:
    return _ids_older_than(conn, "updated_at", seconds, "status = 'processing'")


def owing_final_event(*, conn: Connection, older_than_seconds: float) -> list[str]:
    """Ended generations whose final event was never confirmed published (a crash after the commit)."""
    condition = "final_event_at IS NULL AND status = ANY(%s)"
    return _ids_older_than(conn, "completed_at", older_than_seconds, condition, list(TERMINAL))


def mark_final_event_published(*, conn: Connection, generation_id: str) -> None:
    conn.execute(
        "UPDATE generations SET final_event_at = now() WHERE id = %s AND final_event_at IS NULL", (generation_id,)
    )


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


def insert_image(*, conn: Connection, row: ImageRow) -> bool:
    """Record one image (completed or failed) once; False when its variation was recorded before."""
    values = {f.name: getattr(row, f.name) for f in fields(ImageRow) if f.name != "created_at"}
    values["keypoints"] = Jsonb(row.keypoints) if row.keypoints is not None else None
    once = " ON CONFLICT (generation_id, variation_key) DO NOTHING RETURNING id"
    return conn.execute(insert_query("generated_poses", values, once), values).fetchone() is not None


def refresh_counts(*, conn: Connection, generation_id: str) -> GenerationRow:
    """Recount the generation's completed and failed images from its rows (exact after any re-run)."""
    return fetch_one(
        conn,
        GenerationRow,
        "UPDATE generations g SET updated_at = now(),"
        " poses_completed = (SELECT count(*) FROM generated_poses p WHERE p.generation_id = g.id"
        "   AND p.status = 'completed'),"
        " poses_failed = (SELECT count(*) FROM generated_poses p WHERE p.generation_id = g.id"
        "   AND p.status = 'failed')"
        f" WHERE g.id = %s RETURNING {_COLUMNS}",
        (generation_id,),
    )
