"""The extraction job, named by the dotted string ``posegen_worker.extraction.run_extraction``: claim the
extraction, find the pose in its photo, store the control image and the overlay, record the result and
tell the user. A photo without a person, or one that breaks the detector, fails its own extraction (with
an event) and the extractor goes on with the next: the queue never stops on one bad photo."""

from __future__ import annotations

import logging
import time

import numpy as np
import redis

from posegen import images
from posegen.contracts import PersonBox, PoseExtractedEvent, PoseExtractionFailedEvent
from posegen.db import extractions as extractions_db
from posegen.extraction.extract import NoPersonFound, extract_pose
from posegen.extraction.skeleton import Person, overlay_jpeg
from posegen.poses.render import render_skeleton_png
from posegen.storage import StorageMisconfigured, StorageRetry, StorageUnavailable
from posegen_worker import extractor

log = logging.getLogger("posegen.extractor")
SKELETON_SIZE = 512


def run_extraction(extraction_id: str) -> str:
    return extract_one(extractor.current(), extraction_id)


def extract_one(rt: extractor.ExtractorRuntime, extraction_id: str) -> str:
    """Return the outcome: ``completed``, ``no_person``, ``error`` or ``skipped`` (not queued any more)."""
    with rt.pool.connection() as conn:
        row = extractions_db.claim_extraction(conn=conn, extraction_id=extraction_id)
    if row is None:
        rt.metrics.extractions.labels("skipped").inc()
        return "skipped"
    started = time.perf_counter()
    rt.metrics.busy.set(1)
    try:
        outcome = _extract(rt, row, started)
    finally:
        rt.metrics.busy.set(0)
    rt.metrics.seconds.observe(time.perf_counter() - started)
    rt.metrics.extractions.labels(outcome).inc()
    return outcome


def _extract(rt: extractor.ExtractorRuntime, row: dict, started: float) -> str:
    retry = StorageRetry(deadline_seconds=rt.settings.storage_retry_deadline_seconds, stop=rt.stop_event, log=log)
    try:
        photo = images.decode_image(retry(lambda: rt.storage.read(row["photo_key"])))
        pose = extract_pose(detector=rt.detector, image=np.asarray(photo.convert("RGB")))
    except NoPersonFound as none:
        return _fail(rt, row, started, "no_person", str(none), [_box(p) for p in none.people])
    except Exception:
        log.exception("extraction %s failed", row["id"])
        return _fail(rt, row, started, "error", "the pose could not be extracted from this photo")
    folder = row["photo_key"].rsplit("/", 1)[0]
    skeleton_key, overlay_key = f"{folder}/skeleton.png", f"{folder}/overlay.jpg"
    objects = {
        skeleton_key: render_skeleton_png(pose.keypoints, SKELETON_SIZE, SKELETON_SIZE),
        overlay_key: overlay_jpeg(photo, pose.image_keypoints),
    }
    try:
        for key, data in objects.items():
            retry(lambda key=key, data=data: rt.storage.write(key, data))
    except (StorageUnavailable, StorageMisconfigured) as error:
        log.error("extraction %s could not be stored: %s", row["id"], error)
        return _fail(rt, row, started, "error", "the result could not be stored")
    people = [_box(person) for person in pose.people]
    seconds = round(time.perf_counter() - started, 4)
    with rt.pool.connection() as conn:
        done = extractions_db.complete_extraction(
            conn=conn,
            extraction_id=row["id"],
            result={
                "keypoints": pose.keypoints,
                "image_keypoints": _rounded(pose.image_keypoints),
                "people": people,
                "chosen_person": pose.chosen,
                "skeleton_key": skeleton_key,
                "overlay_key": overlay_key,
                "seconds": seconds,
            },
        )
    if done is None:
        return "skipped"
    _publish(
        rt,
        PoseExtractedEvent(
            extraction_id=row["id"],
            user_id=row["user_id"],
            keypoints=pose.keypoints,
            people_count=len(people),
            chosen_person=pose.chosen,
            people=[PersonBox(**p) for p in people],
            skeleton_url=rt.signer.url(skeleton_key),
            overlay_url=rt.signer.url(overlay_key),
            seconds=seconds,
        ),
    )
    log.info("extraction %s: %d people, took #%d in %.2fs", row["id"], len(people), pose.chosen, seconds)
    return "completed"


def _fail(rt, row: dict, started: float, code: str, message: str, people: list[dict] | None = None) -> str:
    """Fail the extraction with ``code`` (the outcome returned) and tell the user."""
    seconds = round(time.perf_counter() - started, 4)
    with rt.pool.connection() as conn:
        failed = extractions_db.fail_extraction(
            conn=conn, extraction_id=row["id"], code=code, message=message, people=people, seconds=seconds
        )
    if failed is not None:
        _publish(
            rt,
            PoseExtractionFailedEvent(
                extraction_id=row["id"],
                user_id=row["user_id"],
                code=code,
                error=message,
                status_code=422 if code == "no_person" else 500,
            ),
        )
    return code


def _publish(rt, event) -> None:
    """The database already holds the result; a client that missed the event reads it with GET."""
    try:
        rt.events.publish(event)
    except redis.RedisError as error:
        log.warning("could not publish %s of extraction %s: %s", event.type, event.extraction_id, error)


def _box(person: Person) -> dict:
    return {name: round(getattr(person, name), 4) for name in ("x", "y", "width", "height", "score")}


def _rounded(keypoints: list) -> list:
    return [None if p is None else [round(float(v), 5) for v in p] for p in keypoints]
