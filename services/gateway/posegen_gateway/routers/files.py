from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from posegen.contracts import API_PREFIX
from posegen.errors import Forbidden, NotFound
from posegen.storage import InvalidKey, check_key, media_type
from posegen_gateway.deps import ContextDep
from posegen_gateway.errors import error_responses

router = APIRouter(prefix=API_PREFIX, tags=["files"])
CACHE = {"Cache-Control": "private, max-age=600"}


@router.get(
    "/files/{key:path}",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "the file (local storage)"},
        307: {"description": "object storage: a presigned GET of the object, expiring when this URL does"},
        **error_responses(403, auth=False),
    },
)
def get_file(
    ctx: ContextDep,
    key: Annotated[str, Path(max_length=512)],
    exp: Annotated[int, Query(ge=0, le=2**62)],
    sig: Annotated[str, Query(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")],
) -> Response:
    """A stored image, for whoever holds an unexpired signed URL (no bearer token, so ``<img>`` works). With
    object storage the answer is a redirect to a presigned GET that expires at the same moment."""
    if not ctx.signer.verify(key, exp, sig):
        raise Forbidden("the link is invalid or has expired")
    try:
        check_key(key)
    except InvalidKey:
        raise NotFound("file not found") from None
    url = ctx.storage.download_url(key, exp)
    if url is not None:
        return RedirectResponse(url, status_code=307, headers=CACHE)
    try:
        size, chunks = ctx.storage.open_stream(key)
    except (FileNotFoundError, IsADirectoryError):
        raise NotFound("file not found") from None
    headers = {**CACHE, "Content-Length": str(size)}
    return StreamingResponse(chunks, media_type=media_type(key), headers=headers)
