from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from posegen.contracts import API_PREFIX
from posegen.errors import UnsupportedMediaType
from posegen_gateway.deps import ConnDep, ContextDep, IdPath, UserDep
from posegen_gateway.errors import error_responses
from posegen_gateway.openapi import BINARY, form, request_body
from posegen_gateway.schemas.library import PoseDetail
from posegen_gateway.schemas.poses import Extraction, ExtractionAccepted, PoseCreate, PoseUpdate
from posegen_gateway.serving import custom_poses, extractions
from posegen_gateway.uploads import media_type_of, read_single_file

router = APIRouter(prefix=API_PREFIX, tags=["poses"], responses=error_responses())
PHOTO_BODY = request_body({"multipart/form-data": {"schema": form("file", file=BINARY)}})


@router.post(
    "/poses/extract",
    status_code=202,
    response_model=ExtractionAccepted,
    responses=error_responses(400, 413, 415, 429, 503),
    openapi_extra=PHOTO_BODY,
)
async def extract_pose(user: UserDep, ctx: ContextDep, request: Request) -> ExtractionAccepted:
    """A photo (PNG, JPEG or WebP, multipart field ``file``, the avatar limits) for pose extraction, which
    runs on an extractor: follow it with ``GET /poses/extract/{id}`` or the ``pose_extracted`` event."""
    if media_type_of(request) != "multipart/form-data":
        raise UnsupportedMediaType("send the photo as multipart/form-data in a 'file' field")
    data = await read_single_file(request)
    return await run_in_threadpool(extractions.accept, ctx=ctx, user_id=user.user_id, data=data)


@router.get("/poses/extract/{extraction_id}", response_model=Extraction)
def get_extraction(user: UserDep, ctx: ContextDep, conn: ConnDep, extraction_id: IdPath) -> Extraction:
    """``queued``, ``processing``, ``completed`` (the keypoints, the skeleton and how many people were seen) or
    ``failed`` with ``error`` (``no_person`` with status 422 when the photo shows nobody)."""
    return extractions.get_extraction(ctx=ctx, conn=conn, user_id=user.user_id, extraction_id=extraction_id)


@router.post("/poses", status_code=201, response_model=PoseDetail, responses=error_responses(400, 409))
def create_pose(user: UserDep, ctx: ContextDep, conn: ConnDep, body: PoseCreate) -> PoseDetail:
    """Save a completed extraction as a private pose: in your library (``GET /library?mine=true``) and usable
    in ``POST /generate``; nobody else sees it."""
    return custom_poses.create_pose(ctx=ctx, conn=conn, user_id=user.user_id, body=body)


@router.put("/poses/{pose_id}", response_model=PoseDetail, responses=error_responses(400, 409))
def update_pose(user: UserDep, ctx: ContextDep, conn: ConnDep, pose_id: IdPath, body: PoseUpdate) -> PoseDetail:
    return custom_poses.update_pose(ctx=ctx, conn=conn, user_id=user.user_id, pose_id=pose_id, body=body)


@router.delete("/poses/{pose_id}", status_code=204, response_class=Response)
def delete_pose(user: UserDep, ctx: ContextDep, conn: ConnDep, pose_id: IdPath) -> Response:
    """Hidden from now on; generations that already used it keep it."""
    custom_poses.delete_pose(ctx=ctx, conn=conn, user_id=user.user_id, pose_id=pose_id)
    return Response(status_code=204)
