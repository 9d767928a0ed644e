"""Reading a multipart upload with a hard byte limit (Starlette alone would spool any size to disk)."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from posegen.errors import BadRequest, PayloadTooLarge

MULTIPART_OVERHEAD = 64 * 1024


async def read_single_file(request: Request, *, field: str, max_bytes: int) -> bytes:
    data, _fields = await read_multipart(request, field=field, max_bytes=max_bytes)
    if data is None:
        raise BadRequest(f"a file in the multipart field '{field}' is required", field=field)
    return data


async def read_multipart(request: Request, *, field: str, max_bytes: int) -> tuple[bytes | None, dict[str, str]]:
    """The file in ``field`` (None when the form has none) and the form's text fields, reading at most
    ``max_bytes`` of file (plus room for the form around it)."""
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
    fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
    upload = form.get(field)
    if not isinstance(upload, UploadFile):
        return None, fields
    data = await upload.read()
    if len(data) > max_bytes:
        raise too_large
    return data, fields
