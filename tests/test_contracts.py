import json

import pytest
from pydantic import ValidationError

from posegen import contracts
from posegen.contracts import (
    CancelledEvent,
    CompletedEvent,
    FailedEvent,
    PoseCompletedEvent,
    PoseFailedEvent,
    ProgressEvent,
    QueuedEvent,
    StartedEvent,
    parse_event,
)

BASE = {"generation_id": "gen1", "user_id": "user1"}
SAMPLES = [
    QueuedEvent(**BASE, queue_position=3),
    StartedEvent(**BASE, poses_total=2, worker="w1"),
    ProgressEvent(
        **BASE,
        pose_index=1,
        poses_total=2,
        poses_completed=1,
        poses_failed=0,
        step=4,
        total_steps=8,
        percentage=75.0,
        eta_seconds=1.5,
        preview="data:image/jpeg;base64,AAAA",
    ),
    PoseCompletedEvent(
        **BASE,
        pose_index=0,
        generated_pose_id="gp1",
        pose_id="p1",
        variation_key="p1:0",
        image_url="http://x/files/a.png?exp=1&sig=s",
        thumbnail_url="http://x/files/a.jpg",
        seed=7,
        seconds=1.2,
    ),
    PoseFailedEvent(**BASE, pose_index=1, variation_key="p2:0", error="out of memory"),
    CompletedEvent(**BASE, status="partial", poses_completed=1, poses_failed=1, poses_total=2, credit_refunded=30),
    FailedEvent(**BASE, error="model failed to load", credit_refunded=60),
    CancelledEvent(**BASE, poses_completed=1, credit_refunded=30),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_event_round_trips_through_json(event):
    payload = json.loads(event.to_json())
    assert {"id", "type", "generationId", "userId", "timestamp"} <= payload.keys()
    assert all("_" not in key for key in payload), "wire fields are camelCase"
    assert parse_event(event.to_json()) == event
    assert parse_event(payload) == event


def test_every_type_of_spec_is_covered():
    assert {e.type for e in SAMPLES} == {
        "queued",
        "started",
        "progress",
        "pose_completed",
        "pose_failed",
        "completed",
        "failed",
        "cancelled",
    }
    assert {e.type for e in SAMPLES if e.is_terminal} == {"completed", "failed", "cancelled"}


def test_progress_fields_match_spec():
    payload = json.loads(SAMPLES[2].to_json())
    for field in (
        "poseIndex",
        "posesTotal",
        "posesCompleted",
        "posesFailed",
        "step",
        "totalSteps",
        "percentage",
        "etaSeconds",
        "preview",
    ):
        assert field in payload


@pytest.mark.parametrize(
    "bad",
    [
        '{"type": "exploded", "generationId": "g", "userId": "u"}',
        '{"type": "progress", "generationId": "g", "userId": "u"}',
        '{"type": "progress", "generationId": "g", "userId": "u", "poseIndex": 0, "posesTotal": 1,'
        ' "posesCompleted": 0, "posesFailed": 0, "step": 1, "totalSteps": 1, "percentage": 101}',
        '{"type": "queued", "generationId": "g", "userId": "u", "queuePosition": 0, "surprise": 1}',
        "not json",
    ],
)
def test_invalid_events_are_rejected(bad):
    with pytest.raises(ValidationError):
        parse_event(bad)


def test_names_other_parts_rely_on():
    assert contracts.QUEUE_NAME == "pose-generation"
    assert contracts.QUEUE_LIST_KEY == "rq:queue:pose-generation"
    assert contracts.job_id("abc") == "gen-abc"
    assert contracts.user_channel("u1") == "pose-generation:u1"
    assert contracts.event_stream_key("g1") == "pose-generation:events:g1"


def test_json_schema_lists_every_event():
    schema = contracts.event_json_schema()
    assert len(schema["discriminator"]["mapping"]) == 11


EXTRACTED = contracts.PoseExtractedEvent(
    extraction_id="ex1",
    user_id="user1",
    keypoints=[(0.5, 0.2, 0.9)] * 17 + [None],
    people_count=2,
    chosen_person=1,
    people=[contracts.PersonBox(x=0.1, y=0.1, width=0.2, height=0.5, score=0.8)] * 2,
    skeleton_url="http://x/files/s.png?exp=1&sig=s",
    overlay_url="http://x/files/o.jpg?exp=1&sig=s",
    seconds=0.4,
)
NOT_GENERATION_EVENTS = [
    EXTRACTED,
    contracts.PoseExtractionFailedEvent(
        extraction_id="ex2", user_id="user1", code="no_person", error="no person", status_code=422
    ),
    contracts.PoseRequestReviewedEvent(request_id="rq1", user_id="user1", status="rejected", name="Bag", reason="dup"),
]


@pytest.mark.parametrize("event", NOT_GENERATION_EVENTS, ids=lambda e: e.type)
def test_extraction_and_request_events_round_trip_and_name_their_subject(event):
    payload = json.loads(event.to_json())
    assert next(iter(payload)) == "id", "the publishing script fills in the id it expects first"
    assert "generationId" not in payload and {"type", "userId", "timestamp"} <= payload.keys()
    assert all("_" not in key for key in payload)
    assert parse_event(event.to_json()) == event
    assert contracts.stream_id_of(payload) == event.stream_id
    assert not event.is_terminal


def test_every_event_names_its_stream():
    assert contracts.stream_id_of(json.loads(SAMPLES[0].to_json())) == "gen1"
    assert [e.stream_id for e in NOT_GENERATION_EVENTS] == ["ex1", "ex2", "rq1"]
    with pytest.raises(KeyError):
        contracts.stream_id_of({"type": "queued", "userId": "u"})


def test_the_extraction_queue_is_its_own():
    assert contracts.EXTRACTION_QUEUE_NAME == "pose-extraction" != contracts.QUEUE_NAME
    assert contracts.extraction_job_id("e1") == "extract-e1"
    assert contracts.EXTRACTION_JOB_FUNCTION == "posegen_worker.extraction.run_extraction"
