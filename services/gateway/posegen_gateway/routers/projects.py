from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from posegen.contracts import API_PREFIX
from posegen.errors import BadRequest, UnsupportedMediaType
from posegen.images import UPLOAD_MEDIA_TYPES
from posegen_gateway.deps import ConnDep, ContextDep, IdPath, UserDep, rate_limited
from posegen_gateway.errors import error_responses
from posegen_gateway.openapi import BINARY, form, links, request_body
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.projects import AvatarUrl, Project, ProjectCreate, ProjectUpdate
from posegen_gateway.serving import projects
from posegen_gateway.uploads import media_type_of, read_single_file

router = APIRouter(prefix=API_PREFIX, tags=["projects"], responses=error_responses())


@router.get("/projects", response_model=Page[Project])
def list_projects(user: UserDep, ctx: ContextDep, conn: ConnDep, page: Annotated[PageQuery, Query()]) -> Page[Project]:
    return projects.list_projects(conn=conn, user_id=user.user_id, page=page, signer=ctx.signer)


@router.post(
    "/projects",
    status_code=201,
    response_model=Project,
    dependencies=[rate_limited("projects")],
    responses={
        201: {"links": links("project_id", "id", "getProject", "updateProject", "deleteProject", "uploadAvatar")},
        **error_responses(400, 403, 413, 429),
    },
)
def create_project(user: UserDep, ctx: ContextDep, body: ProjectCreate) -> Project:
    return projects.create_project(ctx=ctx, user_id=user.user_id, body=body)


@router.get("/projects/{project_id}", response_model=Project)
def get_project(user: UserDep, ctx: ContextDep, conn: ConnDep, project_id: IdPath) -> Project:
    return projects.get_project(conn=conn, user_id=user.user_id, project_id=project_id, signer=ctx.signer)


@router.put("/projects/{project_id}", response_model=Project)
def update_project(user: UserDep, ctx: ContextDep, conn: ConnDep, project_id: IdPath, body: ProjectUpdate) -> Project:
    return projects.update_project(conn=conn, user_id=user.user_id, project_id=project_id, body=body, signer=ctx.signer)


@router.delete("/projects/{project_id}", status_code=204, response_class=Response, responses=error_responses(409))
def delete_project(user: UserDep, ctx: ContextDep, conn: ConnDep, project_id: IdPath) -> Response:
    projects.delete_project(conn=conn, user_id=user.user_id, project_id=project_id, storage=ctx.storage)
    return Response(status_code=204)


@router.post(
    "/projects/{project_id}/avatar",
    response_model=Project,
    responses=error_responses(400, 403, 413, 415, 429),
    openapi_extra=request_body(
        {
            "multipart/form-data": {
                "schema": {**form("file", file=BINARY), "additionalProperties": False},
                "encoding": {"file": {"contentType": ", ".join(UPLOAD_MEDIA_TYPES)}},
            },
            "application/json": {"schema": {"$ref": "#/components/schemas/AvatarUrl"}},
        }
    ),
)
async def upload_avatar(user: UserDep, ctx: ContextDep, project_id: IdPath, request: Request) -> Project:
    """A PNG, JPEG or WebP as multipart field ``file`` (decoded and re-encoded), or ``{"url": "https://..."}``."""
    content_type = media_type_of(request)
    if content_type == "multipart/form-data":
        await run_in_threadpool(ctx.user_limits.enforce, "uploads", user.user_id)
        data = await read_single_file(request)
        store = partial(projects.store_avatar, storage=ctx.storage, budget=ctx.memory, project_id=project_id, data=data)
        source = "UPLOAD"
    elif content_type == "application/json":
        try:
            body = AvatarUrl.model_validate_json(await request.body())
        except ValidationError as error:
            if any(problem["type"] == "json_invalid" for problem in error.errors()):
                raise BadRequest('expected {"url": "https://..."}', field="url") from None
            raise RequestValidationError([{**p, "loc": ("body", *p["loc"])} for p in error.errors()]) from None
        store = partial(
            projects.fetch_avatar, ctx=ctx, user_id=user.user_id, project_id=project_id, url=body.url, field="url"
        )
        source = "URL"
    else:
        raise UnsupportedMediaType("send multipart/form-data with a 'file' field, or JSON with a 'url'")
    return await run_in_threadpool(
        projects.replace_avatar, ctx=ctx, user_id=user.user_id, project_id=project_id, store=store, source=source
    )
