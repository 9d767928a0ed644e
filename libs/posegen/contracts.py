"""The wire contracts every service shares (docs/events.md): queue and Redis names, and the event schema.

The worker publishes these events, the relay forwards them, the gateway reads them, and the tests check
them: all of them import the models and names from here, so there is one copy of each.

Most events belong to a generation (``generationId``). Pose extraction and pose requests add events that
belong to an extraction (``extractionId``) or a request (``requestId``) instead; every event is stored in
the stream of its subject (:func:`stream_id_of`) and published on its user's channel, so the relay forwards
and de-duplicates them all alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

API_PREFIX = "/api/apps/pose-generator"
"""The gateway's route prefix (docs/api.md); the edge proxy sends everything but the relay's path here."""
RELAY_PATH = "/pose-generator-ws"

QUEUE_NAME = "pose-generation"
"""The RQ queue; its Redis list ``rq:queue:pose-generation`` is what the KEDA scaler reads."""

QUEUE_LIST_KEY = f"rq:queue:{QUEUE_NAME}"
JOB_FUNCTION = "posegen_worker.job.run_generation"
"""The job function as a dotted string, so that the gateway never imports the worker."""

STREAM_MAXLEN = 2000
"""Approximate cap of a generation's event stream (50 poses x 50 steps of progress would not fit; the
stream keeps the newest events, and every terminal event is among them)."""

STREAM_TTL_SECONDS = 24 * 3600
TERMINAL_EVENT_TYPES = frozenset({"completed", "failed", "cancelled"})


EXTRACTION_QUEUE_NAME = "pose-extraction"
"""The RQ queue of pose extractions from photos, worked by ``posegen extractor`` (never behind a generation)."""

EXTRACTION_JOB_FUNCTION = "posegen_worker.extraction.run_extraction"


def job_id(generation_id: str) -> str:
    return f"gen-{generation_id}"


def extraction_job_id(extraction_id: str) -> str:
    return f"extract-{extraction_id}"


def user_channel(user_id: str) -> str:
    """Pub/sub channel carrying every event of one user's generations."""
    return f"{QUEUE_NAME}:{user_id}"


def event_stream_key(stream_id: str) -> str:
    """Capped, expiring stream of one generation's (or extraction's, or request's) events, for replay after a
    reconnect."""
    return f"{QUEUE_NAME}:events:{stream_id}"


STREAM_ID_FIELDS = ("generationId", "extractionId", "requestId")
"""The wire fields that name an event's subject, one per kind of event."""


def stream_id_of(data: dict) -> str:
    """The subject (and stream) of a serialised event; KeyError when it names none."""
    for name in STREAM_ID_FIELDS:
        if data.get(name):
            return data[name]
    raise KeyError("generationId")


def final_event_key(generation_id: str) -> str:
    """The id of the generation's final event once published, so it is published only once."""
    return f"{QUEUE_NAME}:final:{generation_id}"


def cancel_flag_key(generation_id: str) -> str:
    """Set by the gateway, checked by the worker's step callback."""
    return f"{QUEUE_NAME}:cancel:{generation_id}"


def rate_limit_key(user_id: str) -> str:
    """Sorted set of the user's recent ``POST /generate`` times (a sliding window)."""
    return f"{QUEUE_NAME}:ratelimit:{user_id}"


def extract_rate_limit_key(user_id: str) -> str:
    """Sorted set of the user's recent ``POST /poses/extract`` (and photo pose request) times."""
    return f"{QUEUE_NAME}:ratelimit:extract:{user_id}"


def generation_lease_key(generation_id: str) -> str:
    """Held by the worker running a generation; when it expires the reaper re-queues the generation."""
    return f"{QUEUE_NAME}:lease:{generation_id}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _EventBase(BaseModel):
    """``id`` (always serialised first) is the event's entry id in its subject's stream."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    id: str = ""

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    @property
    def is_terminal(self) -> bool:
        return self.type in TERMINAL_EVENT_TYPES  # type: ignore[attr-defined]


class _Event(_EventBase):
    """Fields every generation event has."""

    generation_id: str
    user_id: str
    timestamp: datetime = Field(default_factory=_utc_now)

    @property
    def stream_id(self) -> str:
        return self.generation_id


class QueuedEvent(_Event):
    type: Literal["queued"] = "queued"
    queue_position: int = Field(ge=0)


class StartedEvent(_Event):
    type: Literal["started"] = "started"
    poses_total: int = Field(ge=1)
    worker: str


class ProgressEvent(_Event):
    type: Literal["progress"] = "progress"
    pose_index: int = Field(ge=0)
    poses_total: int = Field(ge=1)
    poses_completed: int = Field(ge=0)
    poses_failed: int = Field(ge=0)
    step: int = Field(ge=1)
    total_steps: int = Field(ge=1)
    percentage: float = Field(ge=0, le=100)
    eta_seconds: float | None = Field(default=None, ge=0)
    preview: str | None = None
    """A small JPEG as a ``data:image/jpeg;base64,...`` URL, made from the latents."""


class PoseCompletedEvent(_Event):
    type: Literal["pose_completed"] = "pose_completed"
    pose_index: int = Field(ge=0)
    generated_pose_id: str
    pose_id: str | None
    variation_key: str
    image_url: str
    thumbnail_url: str
    seed: int
    seconds: float = Field(ge=0)


class PoseFailedEvent(_Event):
    type: Literal["pose_failed"] = "pose_failed"
    pose_index: int = Field(ge=0)
    variation_key: str
    error: str


class CompletedEvent(_Event):
    type: Literal["completed"] = "completed"
    status: Literal["completed", "partial"]
    poses_completed: int = Field(ge=0)
    poses_failed: int = Field(ge=0)
    poses_total: int = Field(ge=1)
    credit_refunded: int = Field(ge=0)


class FailedEvent(_Event):
    type: Literal["failed"] = "failed"
    error: str
    credit_refunded: int = Field(ge=0)


class CancelledEvent(_Event):
    type: Literal["cancelled"] = "cancelled"
    poses_completed: int = Field(ge=0)
    credit_refunded: int = Field(ge=0)


class _ExtractionEvent(_EventBase):
    extraction_id: str
    user_id: str
    timestamp: datetime = Field(default_factory=_utc_now)

    @property
    def stream_id(self) -> str:
        return self.extraction_id


Keypoint = tuple[float, float, float] | None


class PersonBox(BaseModel):
    """A person the detector saw, as a box normalised to the photo (0..1) with the detector's score."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    x: float
    y: float
    width: float
    height: float
    score: float


class PoseExtractedEvent(_ExtractionEvent):
    """A pose was found in the photo: the largest person's 18 OpenPose keypoints (square frame, as the library)."""

    type: Literal["pose_extracted"] = "pose_extracted"
    keypoints: list[Keypoint] = Field(min_length=18, max_length=18)
    people_count: int = Field(ge=1)
    chosen_person: int = Field(ge=0)
    people: list[PersonBox]
    skeleton_url: str
    overlay_url: str
    seconds: float = Field(ge=0)


class PoseExtractionFailedEvent(_ExtractionEvent):
    """No pose: ``code`` is ``no_person`` (the photo's fault: a 422 for the extraction), ``error`` (ours) or
    ``timeout`` (the extraction never finished)."""

    type: Literal["pose_extraction_failed"] = "pose_extraction_failed"
    code: Literal["no_person", "error", "timeout"]
    error: str
    status_code: int = Field(ge=400, le=599)


class PoseRequestReviewedEvent(_EventBase):
    """An admin approved (the pose is now in the public library as ``poseId``) or rejected a pose request."""

    request_id: str
    user_id: str
    timestamp: datetime = Field(default_factory=_utc_now)
    type: Literal["pose_request_reviewed"] = "pose_request_reviewed"
    status: Literal["approved", "rejected"]
    name: str
    pose_id: str | None = None
    reason: str | None = None

    @property
    def stream_id(self) -> str:
        return self.request_id


Event = Annotated[
    QueuedEvent
    | StartedEvent
    | ProgressEvent
    | PoseCompletedEvent
    | PoseFailedEvent
    | CompletedEvent
    | FailedEvent
    | CancelledEvent
    | PoseExtractedEvent
    | PoseExtractionFailedEvent
    | PoseRequestReviewedEvent,
    Field(discriminator="type"),
]
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: str | bytes | dict) -> Event:
    """Validate one event from JSON or a dict; raises ``pydantic.ValidationError`` when it is not one."""
    if isinstance(data, dict):
        return _EVENT_ADAPTER.validate_python(data)
    return _EVENT_ADAPTER.validate_json(data)


def event_json_schema() -> dict:
    return _EVENT_ADAPTER.json_schema(by_alias=True)
