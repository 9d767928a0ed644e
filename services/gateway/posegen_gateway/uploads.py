"""Reading a multipart upload (an image in the field ``file``) with a hard byte limit, the upload limit of
``posegen.images`` (Starlette alone would spool any size to disk), and decoding it within the gateway's
memory budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from PIL import Image
from starlette.datastructures import UploadFile

from posegen import images
from posegen.errors import BadRequest, PayloadTooLarge
from posegen.membudget import MemoryBudget

MULTIPART_OVERHEAD = 64 * 1024
FIELD = "file"
T = TypeVar("T")


def media_type_of(request: Request) -> str:
    """The request's media type, lower-cased, without parameters such as ``boundary``."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_single_file(request: Request) -> bytes:
    data, _fields = await read_multipart(request)
    if data is None:
        raise BadRequest(f"a file in the multipart field '{FIELD}' is required", field=FIELD)
    return data


async def read_multipart(request: Request) -> tuple[bytes | None, dict[str, str]]:
    """The file (None when the form has none) and the form's text fields, reading at most the upload limit
    of file (plus room for the form around it)."""
    max_bytes = images.MAX_UPLOAD_BYTES
    limit = max_bytes + MULTIPART_OVERHEAD
    too_large = PayloadTooLarge(f"the upload is larger than {max_bytes // (1024 * 1024)} MB", field=FIELD)
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
    upload = form.get(FIELD)
    if not isinstance(upload, UploadFile):
        return None, fields
    data = await upload.read()
    if len(data) > max_bytes:
        raise too_large
    return data, fields


def normalised_upload(
    data: bytes, *, field: str, budget: MemoryBudget, max_side: int, normalise: Callable[[Image.Image], T]
) -> T:
    """``normalise`` applied to untrusted image bytes, decoded at no more than the size it needs (``max_side``)
    within the gateway's memory budget: 413 when they are over the upload limit, 400 when they are no image,
    503 with ``Retry-After`` when the budget has no room for them in time."""
    try:
        opened = images.open_image(data, max_side=max_side)
        with budget.reserve(images.decode_cost(opened)):
            return normalise(images.load_image(opened))
    except images.ImageRejected as error:
        if len(data) > images.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(str(error), field=field) from None
        raise BadRequest(str(error), field=field) from None
