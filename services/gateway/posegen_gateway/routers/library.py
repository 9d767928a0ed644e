from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from posegen.contracts import API_PREFIX
from posegen.db.library import PoseFilter
from posegen_gateway.deps import ConnDep, ContextDep, UserDep
from posegen_gateway.errors import error_responses
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.library import CategoryTree, Difficulty, GenderSuitability, PoseDetail, PoseSummary
from posegen_gateway.serving import library

router = APIRouter(prefix=API_PREFIX, tags=["library"])
PoseId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/library", response_model=Page[PoseSummary], responses=error_responses())
async def list_poses(
    _user: UserDep,
    ctx: ContextDep,
    page: Annotated[PageQuery, Query()],
    category: Annotated[str | None, Query(max_length=100, description="slug or id; includes sub-categories")] = None,
    search: Annotated[str | None, Query(max_length=100, description="matches name, description and tags")] = None,
    difficulty: Difficulty | None = None,
    gender_suitability: Annotated[GenderSuitability | None, Query(alias="genderSuitability")] = None,
    featured: bool | None = None,
    premium: bool | None = None,
) -> Response:
    filters = PoseFilter(category, search or None, difficulty, gender_suitability, featured, premium)
    body = ctx.library_cache.get(library.listing_key(filters, page))
    if body is None:
        body = await run_in_threadpool(library.load_listing_json, ctx=ctx, filters=filters, page=page)
    return Response(body, media_type="application/json")


@router.get("/library/{pose_id}", response_model=PoseDetail, responses=error_responses())
def get_pose(_user: UserDep, ctx: ContextDep, conn: ConnDep, pose_id: PoseId) -> PoseDetail:
    return library.pose_detail(conn=conn, pose_id=pose_id, base_url=ctx.settings.public_base_url)


@router.get(
    "/library/{pose_id}/skeleton.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "the OpenPose control image"},
        **error_responses(),
    },
)
def get_skeleton(
    _user: UserDep, conn: ConnDep, pose_id: PoseId, size: Annotated[int, Query(ge=64, le=1024)] = 512
) -> Response:
    png = library.skeleton_png(conn=conn, pose_id=pose_id, size=size)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/categories", response_model=CategoryTree, responses=error_responses())
def get_categories(_user: UserDep, conn: ConnDep) -> CategoryTree:
    return library.category_tree(conn=conn)
