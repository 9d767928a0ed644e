"""Private poses: saved from a user's own extraction, listed in its library only, usable in a generation like
a library pose, editable and deletable by their owner; 404 for everyone else."""

from __future__ import annotations

import psycopg
from psycopg import Connection
from pydantic.alias_generators import to_camel

from posegen.db import custom_poses as custom_db
from posegen.db import library as library_db
from posegen.errors import BadRequest, Conflict, NotFound
from posegen_gateway.context import GatewayContext
from posegen_gateway.schemas.library import PoseDetail
from posegen_gateway.schemas.pose_requests import PoseRequestApprove
from posegen_gateway.schemas.poses import PoseCreate, PoseUpdate
from posegen_gateway.serving import or_404
from posegen_gateway.serving.extractions import usable_extraction
from posegen_gateway.serving.library import forget_listings, pose_detail

NAME_TAKEN = "a pose with this name already exists in this category"


def find_category(conn: Connection, category: str) -> dict:
    found = library_db.find_category(conn=conn, category=category)
    return or_404(found, f"unknown category: {category}", field="category")


def pose_fields(body: PoseCreate | PoseRequestApprove, category: dict, **chosen: str) -> dict:
    """A new pose's ``fields`` (``posegen.db.custom_poses``): the body's, unless ``chosen`` says otherwise."""
    words = body.model_dump(include={"name", "description", "tags", "difficulty", "gender_suitability"})
    return {**words, **chosen, "category_id": category["id"]}


def create_pose(*, ctx: GatewayContext, conn: Connection, user_id: str, body: PoseCreate) -> PoseDetail:
    extraction = usable_extraction(conn=conn, extraction_id=body.extraction_id, owners=(user_id,))
    fields = pose_fields(body, find_category(conn, body.category))
    try:
        with conn.transaction():
            row = custom_db.create_private_pose(
                conn=conn,
                owner_id=user_id,
                fields=fields,
                keypoints=extraction["keypoints"],
                source_extraction_id=extraction["id"],
            )
    except psycopg.errors.UniqueViolation:
        raise Conflict(NAME_TAKEN, field="name") from None
    forget_listings(ctx, user_id)
    return pose_detail(conn=conn, pose_id=row["id"], base_url=ctx.settings.public_base_url, viewer=user_id)


def update_pose(*, ctx: GatewayContext, conn: Connection, user_id: str, pose_id: str, body: PoseUpdate) -> PoseDetail:
    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "category", "tags", "difficulty", "gender_suitability", "description"):
        if required in changes and changes[required] is None:
            raise BadRequest(f"{to_camel(required)} cannot be null", field=to_camel(required))
    if "category" in changes:
        changes["category_id"] = find_category(conn, changes.pop("category"))["id"]
    try:
        with conn.transaction():
            row = custom_db.update_private_pose(conn=conn, owner_id=user_id, pose_id=pose_id, changes=changes)
    except psycopg.errors.UniqueViolation:
        raise Conflict(NAME_TAKEN, field="name") from None
    or_404(row, "pose not found")
    forget_listings(ctx, user_id)
    return pose_detail(conn=conn, pose_id=pose_id, base_url=ctx.settings.public_base_url, viewer=user_id)


def delete_pose(*, ctx: GatewayContext, conn: Connection, user_id: str, pose_id: str) -> None:
    if not custom_db.delete_private_pose(conn=conn, owner_id=user_id, pose_id=pose_id):
        raise NotFound("pose not found")
    forget_listings(ctx, user_id)
