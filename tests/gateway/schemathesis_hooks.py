"""Schemathesis hooks for this API (loaded through schemathesis.toml): the avatar upload's ``file`` part is
declared as a PNG, JPEG or WebP image, so schema-valid data for it is a real image of that type; idempotency
keys are made unique."""

from __future__ import annotations

import io
import uuid

import schemathesis
from hypothesis import strategies as st
from PIL import Image

FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


@st.composite
def _image(draw, image_format: str) -> bytes:
    size = (draw(st.integers(1, 48)), draw(st.integers(1, 48)))
    color = draw(st.tuples(*(st.integers(0, 255) for _ in range(3))))
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=image_format)
    return buffer.getvalue()


for media_type, image_format in FORMATS.items():
    schemathesis.openapi.media_type(media_type, _image(image_format))


@schemathesis.hook
def before_call(context, case, **kwargs):
    """The ``Idempotency-Key`` of a schema-valid case is made unique: generated keys repeat ("0", "00"...), and a
    key sent again with another body is rightly a 422 that no schema can predict (schemathesis also marks some
    keys with a tab as valid). Negative cases are sent as generated."""
    headers = case.headers or {}
    if "Idempotency-Key" in headers and case.meta is not None and case.meta.generation.mode.name == "POSITIVE":
        headers["Idempotency-Key"] = uuid.uuid4().hex
    return None
