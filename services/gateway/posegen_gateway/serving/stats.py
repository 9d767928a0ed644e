"""The user's stats and the admin views (users, everyone's generations, cluster stats)."""

from __future__ import annotations

import logging

import redis
from psycopg import Connection

from posegen.db import stats as stats_db
from posegen.queue import queue_counts, worker_count
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.stats import (
    AdminStats,
    AdminUser,
    DayImages,
    QueueState,
    UserStats,
)

log = logging.getLogger("posegen.gateway.stats")


def user_stats(*, conn: Connection, user_id: str) -> UserStats:
    found = stats_db.user_stats(conn=conn, user_id=user_id)
    return UserStats.from_row(
        found,
        generations=sum(found.by_status.values()),
        generations_by_status=found.by_status,
        most_used_poses=found.top_poses,
    )


def admin_users(*, conn: Connection, page: PageQuery) -> Page[AdminUser]:
    rows, total = stats_db.admin_users(conn=conn, limit=page.capped_limit, offset=page.offset)
    return Page[AdminUser].of(rows, page, total)


def admin_stats(*, conn: Connection, connection: redis.Redis, days: int) -> AdminStats:
    found = stats_db.admin_stats(conn=conn, days=days)
    tried = found.images_made + found.images_failed
    try:
        counts, workers = queue_counts(connection), worker_count(connection)
        queue = QueueState(waiting=counts.waiting, active=counts.active, delayed=counts.delayed)
    except redis.RedisError as error:
        log.warning("admin stats without the queue: %s", error)
        queue, workers = None, None
    return AdminStats.from_row(
        found,
        days=days,
        images_per_day=[DayImages(date=d.day, images=d.images, failed=d.failed) for d in found.days],
        failure_rate=round(found.images_failed / tried, 4) if tried else None,
        queue=queue,
        queue_depth=queue.waiting if queue else None,
        workers=workers,
        p50_seconds_per_image=found.p50_seconds,
        p95_seconds_per_image=found.p95_seconds,
    )
