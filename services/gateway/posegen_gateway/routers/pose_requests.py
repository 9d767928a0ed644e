from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from posegen.contracts import API_PREFIX
from posegen.errors import BadRequest, UnsupportedMediaType
from posegen_gateway.deps import AdminDep, ConnDep, ContextDep, IdPath, UserDep, rate_limited
from posegen_gateway.errors import error_responses
from posegen_gateway.openapi import BINARY, form, request_body
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.pose_requests import (
    PoseRequest,
    PoseRequestApprove,
    PoseRequestCreate,
    PoseRequestReject,
    PoseRequestStatus,
)
from posegen_gateway.serving import pose_requests
from posegen_gateway.uploads import media_type_of, read_multipart

router = APIRouter(prefix=API_PREFIX, tags=["pose requests"], responses=error_responses())
CREATE_BODY = request_body(
    {
        "application/json": {"schema": PoseRequestCreate.model_json_schema(by_alias=True)},
        "multipart/form-data": {
            "schema": form(
                "name",
                name={"type": "string", "minLength": 3, "maxLength": 100},
                description={"type": "string", "maxLength": 1000},
                file={**BINARY, "description": "a reference photo"},
            )
        },
    }
)


@router.post(
    "/pose-requests",
    status_code=201,
    response_model=PoseRequest,
    dependencies=[rate_limited("pose-requests")],
    responses=error_responses(400, 413, 415, 429, 503),
    openapi_extra=CREATE_BODY,
)
async def create_request(user: UserDep, ctx: ContextDep, request: Request) -> PoseRequest:
    """Ask for a pose the library lacks: JSON (``name``, ``description``, optional ``extractionId``) or
    multipart with a reference photo in ``file``, whose pose is extracted for the reviewers."""
    content_type = media_type_of(request)
    photo = None
    if content_type == "multipart/form-data":
        photo, fields = await read_multipart(request)
        raw: dict | bytes = {key: fields[key] for key in ("name", "description", "extractionId") if key in fields}
    elif content_type == "application/json":
        raw = await request.body()
    else:
        raise UnsupportedMediaType("send JSON, or multipart/form-data with a reference photo in 'file'")
    try:
        body = PoseRequestCreate.model_validate(raw if isinstance(raw, dict) else json.loads(raw or b"null"))
    except ValueError as error:
        problems = error.errors() if isinstance(error, ValidationError) else [{"loc": (), "msg": "invalid JSON"}]
        raise RequestValidationError(problems) from None
    if photo is not None and body.extraction_id is not None:
        raise BadRequest("send a reference photo or an extractionId, not both", field="extractionId")
    return await run_in_threadpool(pose_requests.create_request, ctx=ctx, user_id=user.user_id, body=body, photo=photo)


@router.get("/pose-requests", response_model=Page[PoseRequest])
def list_requests(
    user: UserDep,
    ctx: ContextDep,
    conn: ConnDep,
    page: Annotated[PageQuery, Query()],
    status: PoseRequestStatus | None = None,
) -> Page[PoseRequest]:
    """Your own requests, newest first, with their status."""
    return pose_requests.list_requests(ctx=ctx, conn=conn, user_id=user.user_id, status=status, page=page)


@router.get("/pose-requests/{request_id}", response_model=PoseRequest)
def get_request(user: UserDep, ctx: ContextDep, conn: ConnDep, request_id: IdPath) -> PoseRequest:
    return pose_requests.get_request(ctx=ctx, conn=conn, user_id=user.user_id, request_id=request_id)


@router.get("/admin/pose-requests", response_model=Page[PoseRequest], responses=error_responses(403))
def review_queue(
    _admin: AdminDep,
    ctx: ContextDep,
    conn: ConnDep,
    page: Annotated[PageQuery, Query()],
    status: PoseRequestStatus | None = "pending",
) -> Page[PoseRequest]:
    """Admin: every user's requests, oldest first (pending ones by default)."""
    return pose_requests.list_requests(ctx=ctx, conn=conn, user_id=None, status=status, page=page)


@router.post(
    "/admin/pose-requests/{request_id}/approve",
    response_model=PoseRequest,
    responses=error_responses(400, 403, 409),
)
def approve_request(
    admin: AdminDep, ctx: ContextDep, conn: ConnDep, request_id: IdPath, body: PoseRequestApprove
) -> PoseRequest:
    """Admin: the request's extracted pose (or ``extractionId``'s) becomes a public library pose in
    ``category``; the requester gets ``pose_request_reviewed``."""
    return pose_requests.approve(ctx=ctx, conn=conn, admin=admin, request_id=request_id, body=body)


@router.post(
    "/admin/pose-requests/{request_id}/reject",
    response_model=PoseRequest,
    responses=error_responses(403, 409),
)
def reject_request(
    admin: AdminDep, ctx: ContextDep, conn: ConnDep, request_id: IdPath, body: PoseRequestReject
) -> PoseRequest:
    """Admin: reject with a reason; the requester gets ``pose_request_reviewed``."""
    return pose_requests.reject(ctx=ctx, conn=conn, admin=admin, request_id=request_id, body=body)
