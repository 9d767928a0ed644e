"""Pose requests: a user asks that a pose be added to the library (a name, a description, and a reference
photo or one of its extractions); admins review them oldest first and approve (the pose becomes a public
library pose in the category they choose, with the extracted keypoints) or reject with a reason. The
requester gets ``pose_request_reviewed`` either way."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import Connection

from posegen.auth import Principal
from posegen.contracts import PoseRequestReviewedEvent
from posegen.db import custom_poses as custom_db
from posegen.db import extractions as extractions_db
from posegen.db import pose_requests as requests_db
from posegen.errors import Conflict
from posegen.poses.seed import pose_id as library_pose_id
from posegen.storage import UrlSigner
from posegen_gateway.context import GatewayContext
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.pose_requests import (
    PoseRequest,
    PoseRequestApprove,
    PoseRequestCreate,
    PoseRequestReject,
)
from posegen_gateway.serving import or_404
from posegen_gateway.serving.custom_poses import NAME_TAKEN, find_category, pose_fields
from posegen_gateway.serving.extractions import start_extraction, usable_extraction
from posegen_gateway.serving.library import forget_listings


def _with_extraction(conn: Connection, row: dict, signer: UrlSigner) -> PoseRequest:
    """The request as the API shows it, with what its extraction (if any) found."""
    extraction = row["extraction_id"] and extractions_db.get_extraction(conn=conn, extraction_id=row["extraction_id"])
    found = {}
    if extraction:
        overlay = extraction["overlay_key"]
        found = {
            "extraction_status": extraction["status"],
            "photo_url": signer.url(extraction["photo_key"]),
            "overlay_url": signer.url(overlay) if overlay else None,
            "keypoints": extraction["keypoints"],
        }
    return PoseRequest.model_validate({**row, **found})


def create_request(*, ctx: GatewayContext, user_id: str, body: PoseRequestCreate, photo: bytes | None) -> PoseRequest:
    """With a photo, its extraction starts now (so the admin reviews the pose found in it)."""
    extraction_id = body.extraction_id
    if photo is not None:
        extraction_id = start_extraction(ctx=ctx, user_id=user_id, data=photo)["id"]
    with ctx.pool.connection() as conn:
        if photo is None and extraction_id is not None:
            found = extractions_db.get_extraction(conn=conn, extraction_id=extraction_id, user_id=user_id)
            or_404(found, "extraction not found", field="extractionId")
        row = requests_db.create_request(
            conn=conn,
            request_id=str(uuid.uuid4()),
            user_id=user_id,
            name=body.name,
            description=body.description,
            extraction_id=extraction_id,
        )
        return _with_extraction(conn, row, ctx.signer)


def list_requests(
    *, ctx: GatewayContext, conn: Connection, user_id: str | None, status: str | None, page: PageQuery
) -> Page[PoseRequest]:
    """A user's own requests, newest first; or (``user_id`` None, admins) the review queue, oldest first."""
    rows, total = requests_db.list_requests(
        conn=conn, user_id=user_id, status=status, limit=page.capped_limit, offset=page.offset
    )
    return Page[PoseRequest].of([_with_extraction(conn, row, ctx.signer) for row in rows], page, total)


def get_request(*, ctx: GatewayContext, conn: Connection, user_id: str | None, request_id: str) -> PoseRequest:
    row = or_404(requests_db.get_request(conn=conn, request_id=request_id, user_id=user_id), "pose request not found")
    return _with_extraction(conn, row, ctx.signer)


def _pending(conn: Connection, request_id: str) -> dict:
    row = or_404(requests_db.get_request(conn=conn, request_id=request_id, for_update=True), "pose request not found")
    if row["status"] != "pending":
        raise Conflict(f"the request was already {row['status']}")
    return row


def approve(
    *, ctx: GatewayContext, conn: Connection, admin: Principal, request_id: str, body: PoseRequestApprove
) -> PoseRequest:
    with conn.transaction():
        request = _pending(conn, request_id)
        extraction_id = body.extraction_id or request["extraction_id"]
        if extraction_id is None:
            raise Conflict(
                "the request has no photo: extract the pose from a reference photo and pass its extractionId",
                field="extractionId",
            )
        extraction = usable_extraction(
            conn=conn, extraction_id=extraction_id, owners=(admin.user_id, request["user_id"])
        )
        category = find_category(conn, body.category)
        name = body.name or request["name"]
        description = body.description if body.description is not None else request["description"]
        fields = pose_fields(body, category, name=name, description=description)
        try:
            with conn.transaction():
                pose = custom_db.create_library_pose(
                    conn=conn,
                    pose_id=library_pose_id(category["slug"], name),
                    fields=fields,
                    keypoints=extraction["keypoints"],
                )
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"{NAME_TAKEN}; choose another name", field="name") from None
        row = requests_db.mark_reviewed(
            conn=conn,
            request_id=request_id,
            status="approved",
            reviewer_id=admin.user_id,
            reason=None,
            pose_id=pose["id"],
        )
    forget_listings(ctx)
    return _reviewed(ctx, conn, row)


def reject(
    *, ctx: GatewayContext, conn: Connection, admin: Principal, request_id: str, body: PoseRequestReject
) -> PoseRequest:
    with conn.transaction():
        _pending(conn, request_id)
        row = requests_db.mark_reviewed(
            conn=conn,
            request_id=request_id,
            status="rejected",
            reviewer_id=admin.user_id,
            reason=body.reason,
            pose_id=None,
        )
    return _reviewed(ctx, conn, row)


def _reviewed(ctx: GatewayContext, conn: Connection, row: dict) -> PoseRequest:
    """After the commit: tell the requester (the database holds the truth if Redis cannot be told); the request
    as the API shows it."""
    ctx.publish(
        PoseRequestReviewedEvent(
            request_id=row["id"],
            user_id=row["user_id"],
            status=row["status"],
            name=row["name"],
            pose_id=row["pose_id"],
            reason=row["reason"],
        )
    )
    return _with_extraction(conn, row, ctx.signer)
