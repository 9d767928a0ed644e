"""``POST /generate``: rate limit, validate, charge and create in one transaction, then enqueue.

With an ``Idempotency-Key`` the key is claimed first in that transaction (``posegen_gateway.idempotency``):
a retry of a request that was charged gets its first answer back and charges nothing.

The order is what makes it safe. Nothing is charged before every pose id is known. The charge, the
generation and its pose rows commit together, so credits are never taken without a generation. The RQ job
is created after the commit; if that fails (Redis down, a crash), the generation stays ``queued`` and the
reconciler enqueues it later, so a generation is never left without a job.
"""

from __future__ import annotations

import logging
import uuid

import psycopg
import redis
from psycopg import Connection

from posegen.auth import Principal
from posegen.billing import charge_generation
from posegen.contracts import QueuedEvent, rate_limit_key
from posegen.db import generations as generations_db
from posegen.db import library as library_db
from posegen.db.generations import GenerationRow
from posegen.errors import Conflict, NotFound
from posegen.plan import plan_images
from posegen.queue import enqueue_generation, waiting_count
from posegen_gateway.context import GatewayContext
from posegen_gateway.idempotency import REPLAYED, Idempotency, run_once
from posegen_gateway.ratelimit import RateDecision
from posegen_gateway.schemas.generations import GenerateAccepted, GenerateRequest
from posegen_gateway.serving.projects import require_project

log = logging.getLogger("posegen.gateway.generate")
DEFAULT_SECONDS_PER_STEP = 0.25


def _check_poses(conn: Connection, pose_ids: list[str], user_id: str) -> None:
    """Every pose must be one the user may use: a library pose or one of its own private poses (another
    user's private pose is as unknown as an id that does not exist)."""
    if not pose_ids:
        return
    usable = library_db.existing_pose_ids(conn=conn, pose_ids=pose_ids, viewer=user_id)
    unknown = [pid for pid in pose_ids if pid not in usable]
    if unknown:
        raise NotFound(
            f"unknown pose ids: {', '.join(unknown[:10])}",
            field="selectedPoseIds",
            details={"unknown": unknown},
        )


def _identity(ctx: GatewayContext, project: dict, body: GenerateRequest) -> tuple[float, str | None]:
    """The strength to record and the avatar file as it is now (a later replacement does not change it)."""
    avatar = project["avatar_image"]
    if body.identity_strength is None:
        return (ctx.settings.identity_strength, avatar) if avatar else (0.0, None)
    if body.identity_strength > 0 and not avatar:
        raise Conflict(
            "identityStrength needs an avatar: upload one to the project first, or send 0",
            field="identityStrength",
        )
    return body.identity_strength, avatar if body.identity_strength > 0 else None


def create_generation(
    *, ctx: GatewayContext, conn: Connection, user: Principal, body: GenerateRequest, idempotency: Idempotency | None
) -> tuple[GenerateAccepted, dict[str, str]]:
    """The 202's body and headers: a new generation, or, for an ``Idempotency-Key`` seen before, the first one."""
    made: list[tuple[GenerationRow, RateDecision]] = []

    def charge() -> GenerateAccepted | None:
        made.append(_charge(ctx, conn, user, body))
        # The answer a retry gets if the one below is never recorded (the user's row stays locked meanwhile).
        return _accepted(ctx, conn, made[0][0], position=None) if idempotency else None

    pending, replayed = run_once(conn, idempotency, GenerateAccepted, 202, charge)
    if replayed:
        return pending, REPLAYED
    generation, decision = made[0]
    ctx.metrics.record_generation(generation.credit_charged)
    accepted = _accepted(ctx, conn, generation, position=_enqueue(ctx, conn, generation))
    if idempotency is not None:
        try:
            idempotency.record(conn, accepted)
        except psycopg.Error:
            log.warning("the first answer for generation %s is kept without its queue position", generation.id)
    return accepted, decision.headers()


def _accepted(
    ctx: GatewayContext, conn: Connection, generation: GenerationRow, *, position: int | None
) -> GenerateAccepted:
    return GenerateAccepted(
        generation_id=generation.id,
        poses_total=generation.poses_total,
        credit_charged=generation.credit_charged,
        queue_position=position,
        estimated_seconds=estimate_seconds(ctx, conn, generation.steps, generation.poses_total, position),
    )


def _charge(
    ctx: GatewayContext, conn: Connection, user: Principal, body: GenerateRequest
) -> tuple[GenerationRow, RateDecision]:
    """In the caller's transaction: check, create and charge (the rate limit counts it first)."""
    decision = ctx.limiter.enforce(
        rate_limit_key(user.user_id),
        what="generations",
        unavailable="the queue is unavailable; nothing was charged, try again shortly",
    )
    # Shared lock: an avatar replaced meanwhile waits for this transaction, so the avatar this generation
    # pins is never one that the replacement has already deleted.
    project = require_project(conn=conn, user_id=user.user_id, project_id=body.project_id, for_share=True)
    if project["status"] != "active":
        raise Conflict("the project is archived", field="projectId")
    identity_strength, avatar_key = _identity(ctx, project, body)
    pose_ids = body.pose_ids
    _check_poses(conn, pose_ids, user.user_id)
    images = plan_images(generation_type=body.generation_type, pose_ids=pose_ids, variations=body.variations)
    cost = ctx.settings.credits_per_pose * len(images)
    generation_id = str(uuid.uuid4())
    generation = generations_db.insert_generation(
        conn=conn,
        generation_id=generation_id,
        user_id=user.user_id,
        fields={
            # The request's own columns; the pose ids go in their own table, the variations as one count.
            **body.model_dump(exclude={"selected_pose_ids", "variation_count"}),
            "variations_per_pose": body.variations,
            "identity_strength": identity_strength,
            "avatar_key": avatar_key,
            "poses_total": len(images),
            "credit_charged": cost,
        },
    )
    generations_db.insert_generation_poses(conn=conn, generation_id=generation_id, pose_ids=pose_ids)
    # Last, so the user's row is locked only for the charge and the commit: requests of one user
    # serialise on that lock, and a short hold is what lets them through quickly.
    charge_generation(conn=conn, user_id=user.user_id, generation_id=generation_id, amount=cost)
    return generation, decision


def _enqueue(ctx: GatewayContext, conn: Connection, generation: GenerationRow) -> int | None:
    """After the commit everything is best effort: the generation is paid for and recorded, so nothing here
    may turn the 202 into an error (the client would retry and pay again). A job not created is the
    reconciler's to create; the ``queued`` event and the position are extras."""
    try:
        enqueue_generation(ctx.redis, generation.id)
        position = waiting_count(ctx.redis)
    except redis.RedisError:
        log.warning("enqueue of generation %s failed; the reconciler will enqueue it", generation.id)
    else:
        ctx.publish(QueuedEvent(generation_id=generation.id, user_id=generation.user_id, queue_position=position or 0))
        return position
    try:
        return generations_db.queued_ahead(conn=conn, created_at=generation.created_at) + 1
    except psycopg.Error:
        log.warning("the queue position of generation %s is unknown (database unavailable)", generation.id)
        return None


def estimate_seconds(ctx: GatewayContext, conn: Connection, steps: int, images: int, position: int | None) -> float:
    per_image = ctx.estimates.get("seconds_per_image")
    if per_image is None:
        try:
            per_image = generations_db.mean_seconds_per_image(conn=conn) or 0.0
            ctx.estimates.put("seconds_per_image", per_image)
        except psycopg.Error:
            per_image = 0.0  # after the commit: an estimate from the default rate rather than an error
    per_image = per_image or DEFAULT_SECONDS_PER_STEP * steps
    waiting = max(0, (position or 1) - 1)
    return round(per_image * images * (1 + waiting), 1)
