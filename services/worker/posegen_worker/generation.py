"""Running one generation: claim it under a lease, denoise its unfinished images in batches with a
progress event per step, hand each finished batch to the persister, and end it through ``posegen.lifecycle``;
or, when the worker is asked to stop, give it back to the queue after the batch.

Faults are sorted in one place (:meth:`GenerationRun._run_leased`): a reason that will not go away (a missing
avatar, a bug) fails the generation at once with its message and a refund; a fault of the infrastructure
(PostgreSQL or Redis unreachable) leaves it ``processing`` with its lease left to expire, so the reaper puts
it back on the queue for the next worker; an object store still unreachable after
``STORAGE_RETRY_DEADLINE_SECONDS`` fails what it holds up (an image, or the avatar's read), except while the
worker stops, when the generation is handed over instead (see docs/reliability.md)."""

from __future__ import annotations

import contextlib
import enum
import gc
import logging
import time

import psycopg
import redis
from psycopg_pool import PoolTimeout

from posegen import lifecycle
from posegen.contracts import ProgressEvent, StartedEvent, cancel_flag_key
from posegen.db import generations as generations_db
from posegen.inference.preview import latents_to_jpeg_data_url
from posegen.inference.runner import ImageRequest, generate_batch
from posegen.storage import StorageUnavailable
from posegen_worker.persist import Persister, Work
from posegen_worker.planning import GenerationRejected, plan_generation
from posegen_worker.recovery import Lease
from posegen_worker.runtime import Runtime

log = logging.getLogger("posegen.worker")
INFRASTRUCTURE_FAULTS = (psycopg.OperationalError, PoolTimeout, redis.ConnectionError, redis.TimeoutError)


class Outcome(enum.StrEnum):
    finished = "finished"
    cancelled = "cancelled"
    requeued = "requeued"
    interrupted = "interrupted"
    lost = "lost"
    skipped = "skipped"
    failed = "failed"


_OUTCOMES = {"completed": Outcome.finished, "partial": Outcome.finished, "failed": Outcome.failed,
             "cancelled": Outcome.cancelled}  # fmt: skip


class GenerationRun:
    def __init__(self, runtime: Runtime, generation_id: str) -> None:
        self.rt = runtime
        self.generation_id = generation_id
        self.settings = runtime.settings
        self.lease = Lease(runtime.redis, generation_id, self.settings.worker_name, self.settings.worker_lease_seconds)

    def run(self) -> Outcome:
        if not self.lease.acquire():
            log.info("generation %s is held by another worker; skipping", self.generation_id)
            return Outcome.skipped
        started = time.perf_counter()
        self.rt.metrics.busy.set(1)
        outcome = Outcome.interrupted
        try:
            with self.lease.kept():
                outcome = self._run_leased()
        except INFRASTRUCTURE_FAULTS as error:
            log.warning(
                "generation %s interrupted (%s); the reaper re-queues it when its lease expires",
                self.generation_id,
                error,
            )
        finally:
            self.rt.metrics.busy_seconds.inc(time.perf_counter() - started)
            self.rt.metrics.busy.set(0)
            if self.lease.lost.is_set():
                log.warning("lost the lease of generation %s to another worker", self.generation_id)
            elif outcome is not Outcome.interrupted:
                self.lease.release()
        self.rt.metrics.generations.labels(outcome.value).inc()
        return outcome

    def _run_leased(self) -> Outcome:
        with self.rt.pool.connection() as conn:
            generation = lifecycle.claim(
                conn=conn, generation_id=self.generation_id, worker_name=self.settings.worker_name
            )
            if generation is None:
                return Outcome.skipped
            done = {row.variation_key for row in generations_db.generated_poses(conn=conn, generation_id=generation.id)}
        self.generation = generation
        self.persister = Persister(self.rt, generation)
        try:
            with self.rt.pool.connection() as conn:
                self.plan = plan_generation(self.rt, conn, generation, done=done)
            return self._run_work(self.plan.work, finished=len(done))
        except GenerationRejected as error:
            log.warning("generation %s failed: %s", self.generation_id, error)
            self._drain_quietly()
            return self._end(lifecycle.fail, message=str(error))
        except INFRASTRUCTURE_FAULTS:
            self._drain_quietly()
            raise
        except StorageUnavailable as error:
            if self.rt.stop_event.is_set():
                return self._hand_over()
            log.warning("generation %s failed: %s", self.generation_id, error)
            self._drain_quietly()
            return self._end(lifecycle.fail, message=f"the storage could not be reached: {error}")
        except Exception as error:
            log.exception("generation %s failed", self.generation_id)
            self._drain_quietly()
            return self._end(lifecycle.fail, message=f"{type(error).__name__}: {error}")
        finally:
            self.persister.close()

    def _run_work(self, work: list[Work], finished: int) -> Outcome:
        if self.generation.cancel_requested_at is not None or self._cancel_requested():
            return self._cancel()
        self.rt.publish(
            StartedEvent(
                generation_id=self.generation_id,
                user_id=self.generation.user_id,
                poses_total=self.generation.poses_total,
                worker=self.settings.worker_name,
            )
        )
        self._percentage = 100.0 * finished / self.generation.poses_total
        size = self.settings.worker_batch_size
        for start in range(0, len(work), size):
            if self._cancel_requested() or (start and self._cancel_recorded()):
                return self._cancel()
            if self.rt.stop_event.is_set():
                return self._hand_over()
            if self.lease.lost.is_set():
                self._drain_quietly()
                return Outcome.lost
            batch = work[start : start + size]
            if not self._denoise(batch, finished):
                return self._cancel()
            finished += len(batch)
        self.persister.drain()
        if self.persister.unsaved:
            return self._hand_over()
        return self._end(lifecycle.complete)

    def _denoise(self, batch: list[Work], finished: int) -> bool:
        """Run one batch; False when it was cancelled mid-way (its images are dropped). A batch that raises
        (out of memory, say) is run again image by image once the failed call's memory is released."""
        try:
            result, seconds = self._call_pipeline(batch, finished)
        except INFRASTRUCTURE_FAULTS:
            raise
        except Exception as error:
            failure = f"{type(error).__name__}: {error}"
        else:
            if result.interrupted:
                return False
            for item, image in zip(batch, result.images, strict=True):
                self.persister.completed_image(item, image, seconds / len(batch))
            return True
        release_memory(self.rt.pipeline.device)
        if len(batch) == 1:
            log.error("image %s of %s failed: %s", batch[0].variation_key, self.generation_id, failure)
            self.persister.failed_image(batch[0], failure)
            return True
        log.warning("a batch of %s failed (%s); running its images one by one", len(batch), failure)
        return all(self._denoise([item], finished + i) for i, item in enumerate(batch))

    def _call_pipeline(self, batch: list[Work], finished: int):
        total, steps = self.generation.poses_total, self.generation.steps
        timing = {"start": time.perf_counter(), "last": time.perf_counter()}
        preview_every = self.settings.worker_preview_every

        def on_step(step: int, latents) -> bool:
            now = time.perf_counter()
            self.rt.metrics.step_seconds.observe(now - timing["last"])
            timing["last"] = now
            if self._cancel_requested():
                return True
            self._percentage = max(self._percentage, 100.0 * (finished + len(batch) * step / steps) / total)
            per_step = (now - timing["start"]) / step
            remaining_steps = (steps - step) + steps * (total - finished - len(batch)) / len(batch)
            preview = None
            if preview_every and (step % preview_every == 0 or step == steps):
                preview = latents_to_jpeg_data_url(latents)
            self.rt.publish(
                ProgressEvent(
                    generation_id=self.generation_id,
                    user_id=self.generation.user_id,
                    pose_index=batch[0].index,
                    poses_total=total,
                    poses_completed=self.persister.completed,
                    poses_failed=self.persister.failed,
                    step=step,
                    total_steps=steps,
                    percentage=round(self._percentage, 2),
                    eta_seconds=round(per_step * remaining_steps, 2),
                    preview=preview,
                )
            )
            return False

        requests = [ImageRequest(w.prompt, w.negative_prompt, w.control_image, w.seed) for w in batch]
        started = time.perf_counter()
        result = generate_batch(
            self.rt.pipeline.pipe,
            requests,
            steps=steps,
            guidance_scale=self.generation.guidance_scale,
            width=self.generation.width,
            height=self.generation.height,
            on_step=on_step,
            identity=self.plan.identity,
            prompt_chunks=self.plan.prompt_chunks,
        )
        seconds = time.perf_counter() - started
        self.rt.metrics.pipeline_seconds.inc(seconds)
        return result, seconds

    def _cancel_requested(self) -> bool:
        if not self.rt.redis_usable():
            return False
        try:
            return bool(self.rt.redis.exists(cancel_flag_key(self.generation_id)))
        except redis.RedisError:
            self.rt.redis_failed()
            return False

    def _cancel_recorded(self) -> bool:
        """The cancel as the database knows it, read between batches: the gateway records a cancel before it
        raises the Redis flag, which is lost when Redis is down at that moment or restarts without it."""
        try:
            with self.rt.pool.connection(timeout=2.0) as conn:
                row = generations_db.get_generation(conn=conn, generation_id=self.generation_id)
        except (psycopg.Error, PoolTimeout):
            return False  # PostgreSQL away: denoising goes on (the flag and the next batch boundary remain)
        return row is not None and row.cancel_requested_at is not None

    def _end(self, transition, **arguments) -> Outcome:
        """End the generation by a ``posegen.lifecycle`` transition (its own transaction), then deliver its
        final event."""
        with self.rt.pool.connection() as conn:
            ended = transition(conn=conn, generation_id=self.generation_id, **arguments)
        if ended is None:
            return Outcome.skipped
        lifecycle.deliver(ended, publish=self.rt.publish, pool=self.rt.pool)
        return _OUTCOMES[ended.row.status]

    def _cancel(self) -> Outcome:
        self.persister.drain()
        outcome = self._end(lifecycle.stop_cancelled)
        with contextlib.suppress(redis.RedisError):
            self.rt.redis.delete(cancel_flag_key(self.generation_id))
        return outcome

    def _hand_over(self) -> Outcome:
        self.persister.drain()
        with self.rt.pool.connection() as conn:
            released = lifecycle.hand_over(conn=conn, generation_id=self.generation_id)
        if released is None and self._cancel_recorded():
            return self._cancel()
        if released is not None:
            self.rt.requeue.append(self.generation_id)
        log.info("stopping: generation %s goes back to the front of the queue", self.generation_id)
        return Outcome.requeued

    def _drain_quietly(self) -> None:
        try:
            self.persister.drain()
        except Exception:
            log.exception("saving images of %s failed", self.generation_id)


def release_memory(device: str) -> None:
    """After a failed pipeline call: drop what its frames held, and give cached CUDA blocks back."""
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()
