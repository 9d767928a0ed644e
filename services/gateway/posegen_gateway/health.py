"""Liveness and readiness (SPEC §5): ``/health``, ``/ready`` and ``/api/health``."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


def _now() -> str:
    return datetime.now(UTC).isoformat()


def database_ok(request: Request) -> bool:
    try:
        with request.app.state.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def redis_ok(request: Request) -> bool:
    try:
        return bool(request.app.state.redis.ping())
    except Exception:
        return False


@router.get("/health", summary="Liveness: the process answers")
def liveness() -> dict:
    return {"status": "ok", "timestamp": _now()}


@router.get("/ready", summary="Readiness: PostgreSQL and Redis are reachable", responses={503: {}})
def readiness(request: Request) -> JSONResponse:
    checks = {"database": database_ok(request), "redis": redis_ok(request)}
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks, "timestamp": _now()}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/api/health", summary="Database connectivity", responses={503: {}})
def api_health(request: Request) -> JSONResponse:
    ok = database_ok(request)
    body = {
        "status": "ok" if ok else "error",
        "database": "connected" if ok else "disconnected",
        "timestamp": _now(),
    }
    return JSONResponse(body, status_code=200 if ok else 503)
