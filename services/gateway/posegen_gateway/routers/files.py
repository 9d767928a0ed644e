from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from posegen.contracts import API_PREFIX
from posegen.errors import Forbidden, NotFound
from posegen.storage import InvalidKey, media_type
from posegen_gateway.deps import ContextDep
from posegen_gateway.errors import error_responses

router = APIRouter(prefix=API_PREFIX, tags=["files"])


@router.get(
    "/files/{key:path}",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}, **error_responses(403, auth=False)},
)
def get_file(
    ctx: ContextDep,
    key: Annotated[str, Path(max_length=512)],
    exp: Annotated[int, Query(ge=0, le=2**62)],
    sig: Annotated[str, Query(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")],
) -> FileResponse:
    """A stored image, for whoever holds an unexpired signed URL (no bearer token, so ``<img>`` works)."""
    if not ctx.signer.verify(key, exp, sig):
        raise Forbidden("the link is invalid or has expired")
    try:
        path = ctx.storage.path(key)
    except InvalidKey:
        raise NotFound("file not found") from None
    if not path.is_file():
        raise NotFound("file not found")
    return FileResponse(path, media_type=media_type(key), headers={"Cache-Control": "private, max-age=600"})
