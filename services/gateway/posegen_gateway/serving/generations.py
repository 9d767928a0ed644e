"""Reading a user's generations, their results and live progress, and cancelling them."""

from __future__ import annotations

import logging

import redis
from psycopg import Connection

from posegen import lifecycle
from posegen.contracts import ProgressEvent, cancel_flag_key
from posegen.db import generations as generations_db
from posegen.db import stats as stats_db
from posegen.db.generations import GenerationRow, ImageRow
from posegen.events import last_event
from posegen.queue import discard_job
from posegen.storage import UrlSigner
from posegen_gateway.context import GatewayContext
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.generations import (
    CancelResult,
    GeneratedPose,
    Generation,
    GenerationSummary,
    Progress,
    Results,
)
from posegen_gateway.serving import or_404

log = logging.getLogger("posegen.gateway.generations")
CANCEL_FLAG_TTL_SECONDS = 24 * 3600


def owned_generation(conn: Connection, user_id: str, generation_id: str) -> GenerationRow:
    row = generations_db.get_generation(conn=conn, generation_id=generation_id, user_id=user_id)
    return or_404(row, "generation not found")


def to_generated_pose(row: ImageRow, signer: UrlSigner) -> GeneratedPose:
    return GeneratedPose.from_row(
        row,
        image_url=signer.url(row.image_key) if row.image_key else None,
        thumbnail_url=signer.url(row.thumbnail_key) if row.thumbnail_key else None,
        seconds=row.generation_seconds,
    )


def progress_of(generation: GenerationRow, connection: redis.Redis) -> Progress:
    total = generation.poses_total
    done = generation.poses_completed + generation.poses_failed
    percentage, current_pose, current_step, eta = 100.0 * done / total, None, None, None
    if generation.status == "processing":
        try:
            event = last_event(connection, generation.id)
        except redis.RedisError:
            event = None
        if isinstance(event, ProgressEvent):
            percentage = max(percentage, event.percentage)
            current_pose, current_step, eta = event.pose_index, event.step, event.eta_seconds
    elif generation.status in ("completed", "partial"):
        percentage = 100.0
    return Progress(
        percentage=round(percentage, 2),
        poses_completed=generation.poses_completed,
        poses_failed=generation.poses_failed,
        poses_total=total,
        current_pose=current_pose,
        current_step=current_step,
        estimated_seconds_remaining=eta,
    )


def get_generation(*, ctx: GatewayContext, conn: Connection, user_id: str, generation_id: str) -> Generation:
    row = owned_generation(conn, user_id, generation_id)
    poses = generations_db.generated_poses(conn=conn, generation_id=generation_id)
    return Generation.from_row(
        row,
        avatar_image_url=ctx.signer.url(row.avatar_key) if row.avatar_key else None,
        selected_pose_ids=generations_db.generation_pose_ids(conn=conn, generation_id=generation_id),
        poses=[to_generated_pose(p, ctx.signer) for p in poses],
        progress=progress_of(row, ctx.redis),
    )


def get_results(*, conn: Connection, user_id: str, generation_id: str, signer: UrlSigner) -> Results:
    row = owned_generation(conn, user_id, generation_id)
    poses = generations_db.generated_poses(conn=conn, generation_id=generation_id, status="completed")
    return Results(generation_id=row.id, status=row.status, results=[to_generated_pose(p, signer) for p in poses])


def list_generations(
    *,
    conn: Connection,
    user_id: str | None,
    project_id: str | None = None,
    status: str | None = None,
    page: PageQuery,
    signer: UrlSigner,
    model: type[GenerationSummary] = GenerationSummary,
) -> Page:
    """The history (``user_id`` None: everyone's, for admins), newest first, each with a thumbnail."""
    rows, total = generations_db.list_generations(
        conn=conn, user_id=user_id, project_id=project_id, status=status, limit=page.capped_limit, offset=page.offset
    )
    thumbnails = stats_db.first_thumbnails(conn=conn, generation_ids=[r.id for r in rows])
    items = [
        model.from_row(r, thumbnail_url=signer.url(thumbnails[r.id]) if r.id in thumbnails else None) for r in rows
    ]
    return Page[model].of(items, page, total)


def cancel_generation(*, ctx: GatewayContext, conn: Connection, user_id: str, generation_id: str) -> CancelResult:
    """A queued generation is cancelled here and refunded; a running one is flagged for its worker, which
    stops within one step and refunds what it did not finish (``posegen.lifecycle``)."""
    decision = or_404(lifecycle.cancel(conn=conn, generation_id=generation_id, user_id=user_id), "generation not found")
    try:
        if decision.action == "cancelled":
            discard_job(ctx.redis, generation_id)
        elif decision.action == "cancel_requested":
            ctx.redis.set(cancel_flag_key(generation_id), "1", ex=CANCEL_FLAG_TTL_SECONDS)
    except redis.RedisError:
        log.warning("cancel of %s is recorded in the database but Redis could not be told", generation_id)
    lifecycle.deliver(decision.ended, publish=ctx.publish, pool=ctx.pool)
    row = decision.row
    return CancelResult(
        generation_id=generation_id, action=decision.action, status=row.status, credit_refunded=row.credit_refunded
    )
