"""Downloads: one image in one export format, or a generation's completed images in several formats as a
ZIP with a ``manifest.json``, streamed file by file so memory stays bounded whatever the number of images.
Each rendition is made once and kept in storage (``posegen.exports.renditions``)."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg import Connection

from posegen.db import exports as exports_db
from posegen.db.exports import ExportImage
from posegen.db.generations import GenerationRow
from posegen.errors import NotFound, UnprocessableEntity
from posegen.exports.formats import FORMATS, KEYS, KEYS_PATTERN, ORIGINAL, ExportFormat, UnknownFormat, get_format
from posegen.exports.renditions import Rendition, get_rendition
from posegen.membudget import BudgetExhausted
from posegen_gateway.context import GatewayContext
from posegen_gateway.schemas.exports import Formats
from posegen_gateway.serving.generations import owned_generation

_KEYS = re.compile(KEYS_PATTERN)
_UNSAFE = re.compile(r"[^a-z0-9]+")
BUSY = "the server was too busy to render it; download the archive again"


def list_formats() -> Formats:
    return Formats(formats=list(FORMATS.values()), default=ORIGINAL)


def _invalid(message: str, field: str) -> UnprocessableEntity:
    return UnprocessableEntity(message, field=field, details={"validFormats": list(KEYS)})


def parse_format_list(text: str) -> list[ExportFormat]:
    """``a,b,...``: known keys only (422 naming the valid ones), each once, in the order given."""
    if not _KEYS.fullmatch(text):
        raise _invalid(
            f"formats must be a comma-separated list of format keys; valid formats: {', '.join(KEYS)}", "formats"
        )
    return [FORMATS[key] for key in dict.fromkeys(text.split(","))]


def _stem(image: ExportImage) -> str:
    """The image's part of its file names: its pose's name, made safe, and its variation."""
    slug = _UNSAFE.sub("-", (image.pose_name or "text").lower()).strip("-")[:40] or "pose"
    return f"{slug}_v{image.variation + 1}"


def _render(ctx: GatewayContext, row: GenerationRow, image: ExportImage, fmt: ExportFormat) -> Rendition:
    """Made within the memory budget, once at a time for concurrent requests of the same rendition."""
    rendition = get_rendition(
        storage=ctx.storage,
        image_key=image.image_key,
        keypoints=image.framing_keypoints(row.width, row.height),
        fmt=fmt,
        budget=ctx.memory,
        flights=ctx.renditions,
    )
    ctx.metrics.renditions.labels(fmt.key, "rendered" if rendition.rendered else "stored").inc()
    return rendition


@dataclass(frozen=True)
class SingleExport:
    generation: GenerationRow
    image: ExportImage
    format: ExportFormat

    @property
    def filename(self) -> str:
        return f"{self.generation.id[:8]}_{_stem(self.image)}_{self.format.key}.{self.format.extension}"


def find_result(*, conn: Connection, user_id: str, generation_id: str, result_id: str, format_key: str) -> SingleExport:
    """The image to export (404 when it is not a completed image of the caller's generation)."""
    try:
        fmt = get_format(format_key)
    except UnknownFormat as error:
        raise _invalid(str(error), "format") from None
    row = owned_generation(conn, user_id, generation_id)
    found = exports_db.export_images(conn=conn, generation_id=generation_id, result_id=result_id)
    if not found:
        raise NotFound("no completed result with this id in this generation")
    return SingleExport(row, found[0], fmt)


def render_result(found: SingleExport, *, ctx: GatewayContext) -> bytes:
    """Its rendition (no database connection is held while it is made; 503 with ``Retry-After`` when the
    memory budget has no room for it in time)."""
    try:
        return _render(ctx, found.generation, found.image, found.format).data
    except FileNotFoundError:
        raise NotFound("the image is no longer stored") from None


@dataclass(frozen=True)
class ZipPlan:
    generation: GenerationRow
    images: list[ExportImage]
    formats: list[ExportFormat]

    @property
    def filename(self) -> str:
        return f"posegen-{self.generation.id[:8]}.zip"


def prepare_zip(*, conn: Connection, user_id: str, generation_id: str, formats: str) -> ZipPlan:
    """Everything the ZIP needs from the database, read before the first byte is sent (so a 404 or 422 is
    still possible, and no connection is held while it streams)."""
    chosen = parse_format_list(formats)
    row = owned_generation(conn, user_id, generation_id)
    return ZipPlan(row, exports_db.export_images(conn=conn, generation_id=generation_id), chosen)


class _Sink:
    """A write-only stream for ``zipfile`` (which then writes data descriptors instead of seeking back):
    what it was given since the last :meth:`take`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(data if isinstance(data, bytes) else bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> list[bytes]:
        parts, self._parts = self._parts, []
        return parts


def _entry(name: str, when: datetime, compress: int = zipfile.ZIP_STORED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.astimezone(UTC).timetuple()[:6])
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def stream_zip(plan: ZipPlan, *, ctx: GatewayContext) -> Iterator[bytes]:
    """The ZIP, file by file: one rendition in memory at a time (images are already compressed: stored, not
    deflated). ``manifest.json`` comes last, so it lists exactly what the archive holds: a file the memory
    budget had no room for in time is listed in ``missing`` (the response has begun; it cannot be a 503)."""
    row, sink = plan.generation, _Sink()
    when = row.created_at
    files, missing = [], []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for fmt in plan.formats:
            for index, image in enumerate(plan.images):
                path = f"{fmt.key}/{index + 1:03d}_{_stem(image)}.{fmt.extension}"
                try:
                    rendition = _render(ctx, row, image, fmt)
                except FileNotFoundError:
                    missing.append({"resultId": image.id, "format": fmt.key, "reason": "the image is not stored"})
                    continue
                except BudgetExhausted:
                    missing.append({"resultId": image.id, "format": fmt.key, "reason": BUSY})
                    continue
                with archive.open(_entry(path, when), "w", force_zip64=len(rendition.data) > 2**31) as handle:
                    handle.write(rendition.data)
                del rendition
                width, height = fmt.size_for(row.width, row.height)
                files.append(
                    {
                        "path": path,
                        "resultId": image.id,
                        "poseId": image.pose_id,
                        "poseName": image.pose_name,
                        "variationKey": image.variation_key,
                        "variation": image.variation + 1,
                        "seed": image.seed,
                        "prompt": image.prompt_used,
                        "format": fmt.key,
                        "fileType": fmt.file_type,
                        "width": width,
                        "height": height,
                    }
                )
                yield from sink.take()
        manifest = {
            "generationId": row.id,
            "projectId": row.project_id,
            "status": row.status,
            "generationType": row.generation_type,
            "createdAt": row.created_at.isoformat(),
            "formats": [f.key for f in plan.formats],
            "imageCount": len(plan.images),
            "files": files,
            "missing": missing,
        }
        archive.writestr(_entry("manifest.json", when, zipfile.ZIP_DEFLATED), json.dumps(manifest, indent=2))
    yield from sink.take()
