"""Reading a multipart upload with a hard byte limit (Starlette alone would spool any size to disk)."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from posegen.errors import BadRequest, PayloadTooLarge

MULTIPART_OVERHEAD = 64 * 1024


async def read_single_file(request: Request, *, field: str, max_bytes: int) -> bytes:
    limit = max_bytes + MULTIPART_OVERHEAD
    too_large = PayloadTooLarge(f"the upload is larger than {max_bytes // (1024 * 1024)} MB", field=field)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise too_large
    request._body = bytes(body)  # Starlette's form parser reads the cached body instead of the stream
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get(field)
    if not isinstance(upload, UploadFile):
        raise BadRequest(f"a file in the multipart field '{field}' is required", field=field)
    data = await upload.read()
    if len(data) > max_bytes:
        raise too_large
    return data
