"""Liveness, readiness and the seed's comprehensive health check (docs/api.md)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from posegen import __version__
from posegen.contracts import API_PREFIX
from posegen.queue import extractor_count, queue_counts, worker_count
from posegen.storage import storage_status
from posegen_gateway.context import GatewayContext
from posegen_gateway.deps import ContextDep

router = APIRouter(tags=["health"])


def _now() -> str:
    return datetime.now(UTC).isoformat()


def database_ok(ctx: GatewayContext) -> bool:
    try:
        with ctx.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def redis_ok(ctx: GatewayContext) -> bool:
    try:
        return bool(ctx.redis.ping())
    except redis.RedisError:
        return False


@router.get("/health", summary="Liveness: the process answers")
def liveness() -> dict:
    return {"status": "ok", "timestamp": _now()}


@router.get(
    "/ready",
    summary="Readiness: PostgreSQL and Redis are reachable (the storage backend is reported too)",
    responses={503: {"description": "not ready"}},
)
def readiness(ctx: ContextDep) -> JSONResponse:
    checks = {"database": database_ok(ctx), "redis": redis_ok(ctx)}
    # The storage is reported, never a reason to be unready: its outage stops uploads and image downloads,
    # not the rest of the API, and workers retry their writes.
    ready = all(checks.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {**checks, "storage": storage_status(ctx.storage)},
        "timestamp": _now(),
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/api/health", summary="Database connectivity", responses={503: {"description": "database unreachable"}})
def api_health(ctx: ContextDep) -> JSONResponse:
    ok = database_ok(ctx)
    body = {
        "status": "ok" if ok else "error",
        "database": "connected" if ok else "disconnected",
        "timestamp": _now(),
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get(
    f"{API_PREFIX}/health",
    summary="Comprehensive health: database, Redis, queue counts and live workers",
    responses={
        503: {"description": "unhealthy (database or Redis down) or degraded (no live worker, or storage down)"}
    },
)
def comprehensive_health(ctx: ContextDep) -> JSONResponse:
    database = database_ok(ctx)
    queue: dict = {"status": "unavailable", "counts": None}
    workers = extractors = 0
    redis_up = redis_ok(ctx)
    if redis_up:
        try:
            queue = {"status": "operational", "counts": dataclasses.asdict(queue_counts(ctx.redis))}
            workers = worker_count(ctx.redis)
            extractors = extractor_count(ctx.redis)
        except redis.RedisError:
            redis_up = False
    storage = storage_status(ctx.storage)
    if not (database and redis_up):
        status = "unhealthy"
    elif workers == 0 or storage["status"] != "connected":
        status = "degraded"
    else:
        status = "healthy"
    body = {
        "status": status,
        "timestamp": _now(),
        "app": "pose-generator",
        "version": __version__,
        "checks": {
            "database": {"status": "connected" if database else "disconnected"},
            "redis": {"status": "connected" if redis_up else "disconnected"},
            "storage": storage,
            "queue": queue,
            "workers": {"count": workers},
            # Pose extraction from photos; none only disables that feature, so it does not degrade the status.
            "extractors": {"count": extractors},
        },
    }
    return JSONResponse(body, status_code=200 if status == "healthy" else 503)
