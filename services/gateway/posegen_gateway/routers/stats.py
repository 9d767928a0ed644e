"""The caller's stats, and the admin views (role ``admin``; anyone else gets 403)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from posegen.contracts import API_PREFIX
from posegen_gateway.deps import AdminDep, ConnDep, ContextDep, UserDep
from posegen_gateway.errors import error_responses
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.generations import AdminGenerationSummary, GenerationStatus
from posegen_gateway.schemas.stats import AdminStats, AdminUser, UserStats
from posegen_gateway.serving import generations, stats

router = APIRouter(prefix=API_PREFIX, tags=["stats"], responses=error_responses())


@router.get("/stats", response_model=UserStats)
def get_stats(user: UserDep, conn: ConnDep) -> UserStats:
    """Generations by status, images made, credits charged and refunded, most used poses, median seconds."""
    return stats.user_stats(conn=conn, user_id=user.user_id)


@router.get("/admin/users", response_model=Page[AdminUser], responses=error_responses(403))
def list_admin_users(admin: AdminDep, conn: ConnDep, page: Annotated[PageQuery, Query()]) -> Page[AdminUser]:
    """Every user, most recently active first: balance, generations, images, last activity."""
    return stats.admin_users(conn=conn, page=page)


@router.get("/admin/generations", response_model=Page[AdminGenerationSummary], responses=error_responses(403))
def list_admin_generations(
    admin: AdminDep,
    ctx: ContextDep,
    conn: ConnDep,
    page: Annotated[PageQuery, Query()],
    status: GenerationStatus | None = None,
    user_id: Annotated[str | None, Query(alias="userId", max_length=128)] = None,
) -> Page[AdminGenerationSummary]:
    """Everyone's generations, newest first; filters ``status`` and ``userId``."""
    return generations.list_generations(
        conn=conn, user_id=user_id, status=status, page=page, signer=ctx.signer, model=AdminGenerationSummary
    )


@router.get("/admin/stats", response_model=AdminStats, responses=error_responses(403))
def get_admin_stats(
    admin: AdminDep,
    ctx: ContextDep,
    conn: ConnDep,
    days: Annotated[int, Query(ge=1, le=90, description="the window in days, today included")] = 14,
) -> AdminStats:
    """Images per day, failure rate, refunds, queue depth, workers, p50/p95 seconds per image."""
    return stats.admin_stats(conn=conn, connection=ctx.redis, days=days)
