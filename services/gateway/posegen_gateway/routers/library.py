from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from posegen.contracts import API_PREFIX
from posegen.db.library import PoseFilter
from posegen_gateway.deps import ConnDep, ContextDep, IdPath, UserDep
from posegen_gateway.errors import error_responses
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.library import CategoryTree, Difficulty, GenderSuitability, PoseDetail, PoseSummary
from posegen_gateway.serving import library

router = APIRouter(prefix=API_PREFIX, tags=["library"], responses=error_responses())


@router.get("/library", response_model=Page[PoseSummary])
async def list_poses(
    user: UserDep,
    ctx: ContextDep,
    page: Annotated[PageQuery, Query()],
    category: Annotated[str | None, Query(max_length=100, description="slug or id; includes sub-categories")] = None,
    search: Annotated[str | None, Query(max_length=100, description="matches name, description and tags")] = None,
    difficulty: Difficulty | None = None,
    gender_suitability: Annotated[GenderSuitability | None, Query(alias="genderSuitability")] = None,
    featured: bool | None = None,
    premium: bool | None = None,
    mine: Annotated[bool, Query(description="only your own private poses (saved from photos)")] = False,
) -> Response:
    """The public library and, marked `isPrivate`, your own private poses (nobody else sees them)."""
    filters = PoseFilter(category, search or None, difficulty, gender_suitability, featured, premium, mine)
    key = library.listing_key(filters, page, user.user_id)
    body = ctx.library_cache.get(key) if key is not None else None
    if body is None:
        body = await run_in_threadpool(
            library.load_listing_json, ctx=ctx, filters=filters, page=page, viewer=user.user_id
        )
    return Response(body, media_type="application/json")


@router.get("/library/{pose_id}", response_model=PoseDetail)
def get_pose(user: UserDep, ctx: ContextDep, conn: ConnDep, pose_id: IdPath) -> PoseDetail:
    return library.pose_detail(conn=conn, pose_id=pose_id, base_url=ctx.settings.public_base_url, viewer=user.user_id)


@router.get(
    "/library/{pose_id}/skeleton.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the OpenPose control image"}},
)
def get_skeleton(
    user: UserDep, conn: ConnDep, pose_id: IdPath, size: Annotated[int, Query(ge=64, le=1024)] = 512
) -> Response:
    png = library.skeleton_png(conn=conn, pose_id=pose_id, size=size, viewer=user.user_id)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/categories", response_model=CategoryTree)
def get_categories(user: UserDep, conn: ConnDep) -> CategoryTree:
    return library.category_tree(conn=conn, viewer=user.user_id)
