"""Pose extraction, the gateway's side: check and store the photo, record the extraction, put it on the
extraction queue (``posegen extractor`` does the machine learning), and report what came of it.

An extraction whose extractor died never finishes by itself: one that is still queued or processing after
:data:`STALE_SECONDS` is failed as ``timeout`` when it is read (and by the reconciler), with the event a
client following it on the WebSocket waits for.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import redis
from psycopg import Connection

from posegen import images
from posegen.contracts import API_PREFIX, Event, PoseExtractionFailedEvent, extract_rate_limit_key
from posegen.db import extractions as extractions_db
from posegen.errors import Conflict, ServiceUnavailable
from posegen.queue import enqueue_extraction
from posegen.storage import UrlSigner
from posegen_gateway.context import GatewayContext
from posegen_gateway.schemas.poses import Extraction, ExtractionAccepted
from posegen_gateway.serving import or_404
from posegen_gateway.uploads import normalised_upload

STALE_SECONDS = 120.0
"""Far longer than an extraction takes (well under 2 s) plus a busy queue; then it is failed as ``timeout``."""


FAILURE_STATUS = {"no_person": 422, "error": 500, "timeout": 504}
"""The HTTP status of each way an extraction can fail, as it is reported in the result and the event."""


def start_extraction(*, ctx: GatewayContext, user_id: str, data: bytes) -> dict:
    """Rate-limit, decode the upload with the avatar limits, store it re-encoded, record and enqueue the
    extraction; return its row. Nothing is recorded for a photo that is refused."""
    unavailable = "the extraction queue is unavailable; try again shortly"
    ctx.extract_limiter.enforce(extract_rate_limit_key(user_id), what="photos", unavailable=unavailable)
    jpeg, width, height = normalised_upload(
        data, field="file", budget=ctx.memory, max_side=images.MAX_PHOTO_SIDE, normalise=images.normalise_photo
    )
    extraction_id = str(uuid.uuid4())
    photo_key = f"extractions/{extraction_id}/photo.jpg"
    ctx.storage.write(photo_key, jpeg)
    with ctx.pool.connection() as conn:
        row = extractions_db.create_extraction(
            conn=conn,
            extraction_id=extraction_id,
            user_id=user_id,
            photo_key=photo_key,
            width=width,
            height=height,
        )
        try:
            enqueue_extraction(ctx.redis, extraction_id)
        except redis.RedisError:
            extractions_db.fail_extraction(
                conn=conn, extraction_id=extraction_id, code="error", message="the extraction queue was unavailable"
            )
            raise ServiceUnavailable(unavailable) from None
    return row


def accept(*, ctx: GatewayContext, user_id: str, data: bytes) -> ExtractionAccepted:
    row = start_extraction(ctx=ctx, user_id=user_id, data=data)
    status_url = f"{ctx.settings.public_base_url}{API_PREFIX}/poses/extract/{row['id']}"
    return ExtractionAccepted(extraction_id=row["id"], status_url=status_url)


def get_extraction(*, ctx: GatewayContext, conn: Connection, user_id: str, extraction_id: str) -> Extraction:
    """The extraction in whatever state it is: the request succeeds even when the extraction did not, whose
    ``error`` then says why, with the status the failure would have as a request of its own (422
    ``no_person``: the photo; 500 ``error`` and 504 ``timeout``: the server)."""
    row = extractions_db.get_extraction(conn=conn, extraction_id=extraction_id, user_id=user_id)
    row = or_404(row, "extraction not found")
    return to_extraction(expire_if_stale(conn=conn, publish=ctx.publish, row=row), ctx.signer)


def expire_if_stale(*, conn: Connection, publish: Callable[[Event], bool], row: dict) -> dict:
    if row["status"] not in ("queued", "processing"):
        return row
    expired = extractions_db.expire_stale(conn=conn, older_than_seconds=STALE_SECONDS, user_id=row["user_id"])
    for failed in expired:
        announce_failure(publish, failed)
    return next((failed for failed in expired if failed["id"] == row["id"]), row)


def announce_failure(publish: Callable[[Event], bool], row: dict) -> None:
    publish(
        PoseExtractionFailedEvent(
            extraction_id=row["id"],
            user_id=row["user_id"],
            code=row["error_code"],
            error=row["error_message"],
            status_code=FAILURE_STATUS.get(row["error_code"], 500),
        )
    )


def usable_extraction(*, conn: Connection, extraction_id: str, owners: tuple[str, ...]) -> dict:
    """A completed extraction belonging to one of ``owners``, for saving or approving a pose: 404 when it is
    not theirs, 409 while it runs or when it found no pose (the extraction's state, not the request, is wrong)."""
    rows = (extractions_db.get_extraction(conn=conn, extraction_id=extraction_id, user_id=owner) for owner in owners)
    row = or_404(next(filter(None, rows), None), "extraction not found", field="extractionId")
    if row["status"] in ("queued", "processing"):
        raise Conflict("the extraction has not finished yet; wait for pose_extracted", field="extractionId")
    if row["status"] == "failed":
        raise Conflict(f"the extraction found no pose: {row['error_message']}", field="extractionId")
    return row


def to_extraction(row: dict, signer: UrlSigner) -> Extraction:
    def url(key: str | None) -> str | None:
        return signer.url(key) if key else None

    code = row["error_code"]
    error = {"code": code, "message": row["error_message"], "status_code": FAILURE_STATUS.get(code, 500)}
    return Extraction.model_validate(
        {
            **row,
            "extraction_id": row["id"],
            "photo_url": signer.url(row["photo_key"]),
            "skeleton_url": url(row["skeleton_key"]),
            "overlay_url": url(row["overlay_key"]),
            "people": row["people"] or [],
            "error": error if row["status"] == "failed" else None,
        }
    )
