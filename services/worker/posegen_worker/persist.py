"""Saving finished images off the GPU's critical path: PNG and thumbnail encoding, storage writes, the
database rows and the ``pose_completed`` events of one batch happen in a thread while the next batch
denoises. One thread, so rows and events keep their order."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
from PIL import Image
from psycopg_pool import PoolTimeout

from posegen import __version__, billing, images
from posegen.contracts import PoseCompletedEvent, PoseFailedEvent
from posegen.db import generations as generations_db
from posegen.db.generations import GenerationRow, ImageRow
from posegen.recipe import PNG_KEY, Recipe, format_parameters, model_name, sampler_name
from posegen.retry import retrying
from posegen.storage import StorageMisconfigured, StorageRetry, StorageUnavailable
from posegen_worker.runtime import Runtime

log = logging.getLogger("posegen.worker.persist")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
DATABASE_FAULTS = (psycopg.OperationalError, PoolTimeout)
DATABASE_RETRY_SECONDS = 120.0


@dataclass(frozen=True)
class Work:
    """One planned image of a generation with everything needed to make it."""

    index: int
    variation_key: str
    pose_id: str | None
    seed: int
    prompt: str
    negative_prompt: str
    control_image: Image.Image
    identity_strength: float = 0.0
    """How strongly the avatar conditions this image (0: it does not)."""
    guide_pose_id: str | None = None
    """The library pose whose skeleton is the control image (text mode's match too)."""
    pose_name: str | None = None
    keypoints: list | None = None
    """The guide's keypoints normalised to the image, kept for pose-aware export framing."""


def _lower_priority() -> None:
    """On Linux a thread has its own nice value: saving yields the CPU to the denoising threads."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def image_keys(generation_id: str, variation_key: str) -> tuple[str, str]:
    name = _UNSAFE.sub("_", variation_key)
    return f"poses/{generation_id}/{name}.png", f"poses/{generation_id}/{name}.thumb.jpg"


class Persister:
    def __init__(self, runtime: Runtime, generation: GenerationRow) -> None:
        self.runtime = runtime
        self.generation = generation
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="persist", initializer=_lower_priority)
        self._futures: list[Future] = []
        self.completed = generation.poses_completed
        self.failed = generation.poses_failed
        self.unsaved = 0
        """Images left unrecorded because the worker stopped during a storage outage: the hand-over gives them to
        the next worker, which makes them again."""
        self._storage_retry = StorageRetry(
            deadline_seconds=runtime.settings.storage_retry_deadline_seconds, stop=runtime.stop_event, log=log
        )

    def completed_image(self, work: Work, image: Image.Image, seconds: float) -> None:
        self._futures.append(self._executor.submit(self._save, work, image, seconds))

    def failed_image(self, work: Work, error: str) -> None:
        self._futures.append(self._executor.submit(self._fail, work, error))

    def drain(self) -> None:
        """Wait for everything submitted; re-raise the first error."""
        futures, self._futures = self._futures, []
        for future in futures:
            future.result()

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def _save(self, work: Work, image: Image.Image, seconds: float) -> None:
        image_key, thumb_key = image_keys(self.generation.id, work.variation_key)
        recipe = {PNG_KEY: format_parameters(self.recipe(work, image))}
        objects = {
            image_key: images.encode_png(image, compress_level=1, text=recipe),
            thumb_key: images.thumbnail_jpeg(image),
        }
        if not self._store(objects, work):
            return
        row = self._image_row(
            work, status="completed", image_key=image_key, thumbnail_key=thumb_key, generation_seconds=round(seconds, 3)
        )
        if not self._record(row):
            return
        self.runtime.metrics.image_seconds.observe(seconds)
        self.runtime.publish(
            PoseCompletedEvent(
                generation_id=self.generation.id,
                user_id=self.generation.user_id,
                pose_index=work.index,
                generated_pose_id=row.id,
                pose_id=work.pose_id,
                variation_key=work.variation_key,
                image_url=self.runtime.signer.url(image_key),
                thumbnail_url=self.runtime.signer.url(thumb_key),
                seed=work.seed,
                seconds=round(seconds, 3),
            )
        )

    def _store(self, objects: dict[str, bytes], work: Work) -> bool:
        """Write the image and its thumbnail, riding out a storage outage for ``STORAGE_RETRY_DEADLINE_SECONDS``;
        an image that cannot be stored is recorded as failed (and refunded) instead of completed: a completed
        row always has its objects. When the worker is stopping, it is left unrecorded for the hand-over."""
        storage = self.runtime.storage
        try:
            for key, data in objects.items():
                self._storage_retry(lambda key=key, data=data: storage.write(key, data))
        except (StorageUnavailable, StorageMisconfigured) as error:
            if isinstance(error, StorageUnavailable) and self.runtime.stop_event.is_set():
                log.warning("image %s of %s left for the hand-over: %s", work.variation_key, self.generation.id, error)
                self.unsaved += 1
                return False
            log.error("image %s of %s could not be stored: %s", work.variation_key, self.generation.id, error)
            self._fail(work, f"the image could not be stored: {error}")
            return False
        return True

    def recipe(self, work: Work, image: Image.Image) -> Recipe:
        """What the PNG's ``parameters`` chunk records (``posegen.recipe``)."""
        pipeline, generation = self.runtime.pipeline, self.generation
        return Recipe(
            prompt=work.prompt,
            negative_prompt=work.negative_prompt,
            steps=generation.steps,
            sampler=sampler_name(pipeline.pipe.scheduler),
            cfg_scale=generation.guidance_scale,
            seed=work.seed,
            width=image.width,
            height=image.height,
            model=model_name(pipeline.base),
            controlnet=model_name(pipeline.controlnet),
            pose=work.pose_name,
            identity_strength=work.identity_strength,
            version=f"posegen {__version__}",
        )

    def _fail(self, work: Work, error: str) -> None:
        row = self._image_row(work, status="failed", error_message=error[:500])
        if not self._record(row):
            return
        self.runtime.publish(
            PoseFailedEvent(
                generation_id=self.generation.id,
                user_id=self.generation.user_id,
                pose_index=work.index,
                variation_key=work.variation_key,
                error=error[:500],
            )
        )

    def _image_row(self, work: Work, *, status: str, **values) -> ImageRow:
        fields = {"image_key": None, "thumbnail_key": None, "generation_seconds": None, "error_message": None}
        return ImageRow(
            id=str(uuid.uuid4()),
            generation_id=self.generation.id,
            pose_id=work.pose_id,
            variation_key=work.variation_key,
            status=status,
            seed=work.seed,
            prompt_used=work.prompt,
            identity_strength=work.identity_strength,
            keypoints=work.keypoints,
            guide_pose_id=work.guide_pose_id,
            **{**fields, **values},
        )

    def _record(self, row: ImageRow) -> bool:
        """Record the image's row and count it; False when it was recorded before. The write is retried with
        backoff while PostgreSQL is unreachable, so a finished image is not lost to a short outage (it is
        idempotent: rows are unique per variation)."""
        policy = retrying(on=DATABASE_FAULTS, deadline=DATABASE_RETRY_SECONDS, first=0.5, cap=10.0, log=log)
        if not policy(self._insert, row):
            return False
        if row.status == "completed":
            self.completed += 1
        else:
            self.failed += 1
        self.runtime.metrics.images.labels(row.status).inc()
        return True

    def _insert(self, row: ImageRow) -> bool:
        """Insert the image's row once (a failed one is refunded in the same transaction) and recount."""
        with self.runtime.pool.connection() as conn, conn.transaction():
            inserted = generations_db.insert_image(conn=conn, row=row)
            if inserted:
                if row.status == "failed":
                    billing.refund_images(conn=conn, generation=self.generation, variation_keys=[row.variation_key])
                generations_db.refresh_counts(conn=conn, generation_id=row.generation_id)
        return inserted
