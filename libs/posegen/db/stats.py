"""History, stats and admin views: read-only aggregates over generations, images and the ledger. Rows are
typed dataclasses; every function runs one or a few plain SQL statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from psycopg import Connection

from posegen.db import fetch_all

STATUSES = ("queued", "processing", "completed", "partial", "failed", "cancelled")


def first_thumbnails(*, conn: Connection, generation_ids: list[str]) -> dict[str, str]:
    """The first completed image's thumbnail key of each generation that has one."""
    rows = conn.execute(
        "SELECT DISTINCT ON (generation_id) generation_id, thumbnail_key FROM generated_poses"
        " WHERE generation_id = ANY(%s) AND status = 'completed' AND thumbnail_key IS NOT NULL"
        " ORDER BY generation_id, created_at, id",
        (generation_ids,),
    ).fetchall()
    return {row["generation_id"]: row["thumbnail_key"] for row in rows}


@dataclass(frozen=True, slots=True)
class PoseUse:
    pose_id: str
    name: str
    images: int


@dataclass(frozen=True, slots=True)
class UserStats:
    by_status: dict[str, int]
    images_made: int
    images_failed: int
    credits_charged: int
    credits_refunded: int
    median_seconds_per_image: float | None
    top_poses: list[PoseUse]


def user_stats(*, conn: Connection, user_id: str, top: int = 5) -> UserStats:
    totals = conn.execute(
        "SELECT status, count(*) AS n, sum(credit_charged) AS charged, sum(credit_refunded) AS refunded"
        " FROM generations WHERE user_id = %s GROUP BY status",
        (user_id,),
    ).fetchall()
    images = conn.execute(
        "SELECT count(*) FILTER (WHERE gp.status = 'completed') AS made,"
        " count(*) FILTER (WHERE gp.status = 'failed') AS failed,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY gp.generation_seconds)"
        "   FILTER (WHERE gp.status = 'completed') AS median"
        " FROM generated_poses gp JOIN generations g ON g.id = gp.generation_id WHERE g.user_id = %s",
        (user_id,),
    ).fetchone()
    poses = fetch_all(
        conn,
        PoseUse,
        "SELECT p.id AS pose_id, p.name, count(*)::int AS images FROM generated_poses gp"
        " JOIN generations g ON g.id = gp.generation_id"
        " JOIN poses p ON p.id = coalesce(gp.pose_id, gp.guide_pose_id)"
        " WHERE g.user_id = %s AND gp.status = 'completed'"
        " GROUP BY p.id, p.name ORDER BY images DESC, p.name LIMIT %s",
        (user_id, top),
    )
    return UserStats(
        by_status={**dict.fromkeys(STATUSES, 0), **{row["status"]: row["n"] for row in totals}},
        images_made=images["made"],
        images_failed=images["failed"],
        credits_charged=sum(row["charged"] or 0 for row in totals),
        credits_refunded=sum(row["refunded"] or 0 for row in totals),
        median_seconds_per_image=_rounded(images["median"]),
        top_poses=poses,
    )


@dataclass(frozen=True, slots=True)
class AdminUserRow:
    id: str
    email: str | None
    role: str
    balance: int
    generations: int
    images: int
    created_at: datetime
    last_active_at: datetime


def admin_users(*, conn: Connection, limit: int, offset: int) -> tuple[list[AdminUserRow], int]:
    """Every user, most recently active first: balance, generations, images made, last activity (their
    newest generation or ledger row, or their creation)."""
    total = conn.execute("SELECT count(*) AS n FROM users").fetchone()["n"]
    rows = fetch_all(
        conn,
        AdminUserRow,
        "SELECT u.id, u.email, u.role, u.credit_balance AS balance,"
        " coalesce(g.generations, 0)::int AS generations, coalesce(g.images, 0)::int AS images, u.created_at,"
        " greatest(u.created_at, g.last_generation, l.last_entry) AS last_active_at"
        " FROM users u"
        " LEFT JOIN LATERAL (SELECT count(*) AS generations, sum(poses_completed) AS images,"
        "   max(created_at) AS last_generation FROM generations WHERE user_id = u.id) g ON true"
        " LEFT JOIN LATERAL (SELECT max(created_at) AS last_entry FROM credit_ledger WHERE user_id = u.id) l"
        "   ON true"
        " ORDER BY last_active_at DESC, u.id LIMIT %s OFFSET %s",
        (limit, offset),
    )
    return rows, total


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    images: int
    failed: int


@dataclass(frozen=True, slots=True)
class AdminStats:
    days: list[DayCount]
    images_made: int
    images_failed: int
    refunds: int
    credits_refunded: int
    p50_seconds: float | None
    p95_seconds: float | None


def admin_stats(*, conn: Connection, days: int) -> AdminStats:
    """The last ``days`` days (today included, UTC): images per day, failures, refunds and seconds per image."""
    per_day = fetch_all(
        conn,
        DayCount,
        "SELECT d::date AS day, count(gp.id) FILTER (WHERE gp.status = 'completed')::int AS images,"
        " count(gp.id) FILTER (WHERE gp.status = 'failed')::int AS failed"
        " FROM generate_series((now() AT TIME ZONE 'UTC')::date - (%(days)s - 1),"
        "   (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS d"
        " LEFT JOIN generated_poses gp ON (gp.created_at AT TIME ZONE 'UTC')::date = d::date"
        " GROUP BY d ORDER BY d",
        {"days": days},
    )
    since = "now() - make_interval(days => %(days)s)"
    seconds = conn.execute(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY generation_seconds) AS p50,"
        " percentile_cont(0.95) WITHIN GROUP (ORDER BY generation_seconds) AS p95"
        f" FROM generated_poses WHERE status = 'completed' AND created_at >= {since}",
        {"days": days},
    ).fetchone()
    refunds = conn.execute(
        "SELECT count(*) AS n, coalesce(sum(amount), 0) AS credits FROM credit_ledger"
        f" WHERE type = 'refund' AND created_at >= {since}",
        {"days": days},
    ).fetchone()
    return AdminStats(
        days=per_day,
        images_made=sum(d.images for d in per_day),
        images_failed=sum(d.failed for d in per_day),
        refunds=refunds["n"],
        credits_refunded=int(refunds["credits"]),
        p50_seconds=_rounded(seconds["p50"]),
        p95_seconds=_rounded(seconds["p95"]),
    )


def _rounded(seconds: object) -> float | None:
    return round(float(seconds), 3) if seconds is not None else None
