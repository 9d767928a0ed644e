from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from posegen.contracts import API_PREFIX
from posegen.exports.formats import KEYS, KEYS_PATTERN
from posegen_gateway.deps import ContextDep, IdPath, UserDep, rate_limited, with_connection
from posegen_gateway.errors import error_responses
from posegen_gateway.openapi import BINARY
from posegen_gateway.schemas.exports import Formats
from posegen_gateway.serving import exports

router = APIRouter(prefix=API_PREFIX, tags=["exports"], responses=error_responses())
UNKNOWN_FORMAT_DESCRIPTION = (
    "an unknown format: the error lists the valid keys in `details.validFormats` (or the request does not validate)"
)
UNKNOWN_FORMAT = {422: {**error_responses()[422], "description": UNKNOWN_FORMAT_DESCRIPTION}}


@router.get("/formats", response_model=Formats)
async def list_formats(user: UserDep) -> Formats:
    """Every export format: key, exact size, file type and label (clients never hard-code the table)."""
    return exports.list_formats()


@router.get(
    "/generations/{generation_id}/export",
    response_class=StreamingResponse,
    dependencies=[rate_limited("exports")],
    responses={
        200: {"content": {"application/zip": {"schema": BINARY}}, "description": "a ZIP with manifest.json"},
        **UNKNOWN_FORMAT,
        **error_responses(429),
    },
)
async def export_generation(
    user: UserDep,
    ctx: ContextDep,
    generation_id: IdPath,
    formats: Annotated[
        str,
        Query(
            max_length=1000,
            description="comma-separated format keys (GET /formats)",
            json_schema_extra={"pattern": KEYS_PATTERN},
        ),
    ] = "original",
) -> StreamingResponse:
    """The generation's completed images in each format, streamed as a ZIP with a ``manifest.json``."""
    plan = await with_connection(
        ctx, exports.prepare_zip, user_id=user.user_id, generation_id=generation_id, formats=formats
    )
    return StreamingResponse(
        exports.stream_zip(plan, ctx=ctx),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{plan.filename}"'},
    )


@router.get(
    "/generations/{generation_id}/results/{result_id}/export/{format}",
    response_class=Response,
    dependencies=[rate_limited("exports")],
    responses={
        200: {"content": {"image/jpeg": {"schema": BINARY}, "image/png": {"schema": BINARY}}},
        **UNKNOWN_FORMAT,
        **error_responses(429),
    },
)
async def export_result(
    user: UserDep,
    ctx: ContextDep,
    generation_id: IdPath,
    result_id: IdPath,
    format: Annotated[str, Path(max_length=64, json_schema_extra={"enum": list(KEYS)})],
) -> Response:
    """One completed image in one format (made once, then served from storage)."""
    found = await with_connection(
        ctx,
        exports.find_result,
        user_id=user.user_id,
        generation_id=generation_id,
        result_id=result_id,
        format_key=format,
    )
    data = await run_in_threadpool(exports.render_result, found, ctx=ctx)
    disposition = f'attachment; filename="{found.filename}"'
    return Response(data, media_type=found.format.media_type, headers={"Content-Disposition": disposition})
