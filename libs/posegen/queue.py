"""The RQ side of a generation: enqueueing by dotted name with the JSON serialiser, queue position,
the counts the health check reports, and the job state the reconciler needs; and the pose-extraction
queue, which extractor processes work so that an extraction never waits behind a generation."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from rq import Queue, Worker
from rq.exceptions import DuplicateJobError
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from posegen.contracts import (
    EXTRACTION_JOB_FUNCTION,
    EXTRACTION_QUEUE_NAME,
    JOB_FUNCTION,
    QUEUE_NAME,
    extraction_job_id,
    job_id,
)

JOB_TIMEOUT_SECONDS = 3 * 3600
RESULT_TTL_SECONDS = 24 * 3600
FAILURE_TTL_SECONDS = 7 * 24 * 3600
_WAITING_STATES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
_LIVE_STATES = _WAITING_STATES | {JobStatus.STARTED}


def generation_queue(connection: redis.Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


def enqueue_generation(connection: redis.Redis, generation_id: str, *, at_front: bool = False) -> bool:
    """Put the generation's job on the queue; return False when a job with its id already exists."""
    try:
        generation_queue(connection).enqueue_call(
            JOB_FUNCTION,
            args=(generation_id,),
            job_id=job_id(generation_id),
            timeout=JOB_TIMEOUT_SECONDS,
            result_ttl=RESULT_TTL_SECONDS,
            failure_ttl=FAILURE_TTL_SECONDS,
            at_front=at_front,
            unique=True,
        )
    except DuplicateJobError:
        return False
    return True


def waiting_count(connection: redis.Redis) -> int:
    return generation_queue(connection).count


def job_is_live(connection: redis.Redis, generation_id: str, *, running_counts: bool = True) -> bool:
    """Whether a job for the generation is waiting (queued, scheduled, deferred) or, unless
    ``running_counts`` is False, started. The reaper passes False: a started job whose lease expired has no
    worker left to finish it."""
    job = generation_queue(connection).fetch_job(job_id(generation_id))
    return job is not None and job.get_status(refresh=False) in (_LIVE_STATES if running_counts else _WAITING_STATES)


def discard_job(connection: redis.Redis, generation_id: str) -> None:
    """Remove the generation's job (waiting or dead) so that it will not run, or can be enqueued again."""
    job = generation_queue(connection).fetch_job(job_id(generation_id))
    if job is not None:
        job.delete(remove_from_queue=True)


@dataclass(frozen=True, slots=True)
class QueueCounts:
    waiting: int
    active: int
    completed: int
    failed: int
    delayed: int


def queue_counts(connection: redis.Redis) -> QueueCounts:
    queue = generation_queue(connection)
    return QueueCounts(
        waiting=queue.count,
        active=queue.started_job_registry.count,
        completed=queue.finished_job_registry.count,
        failed=queue.failed_job_registry.count,
        delayed=queue.scheduled_job_registry.count + queue.deferred_job_registry.count,
    )


def worker_count(connection: redis.Redis) -> int:
    return Worker.count(connection=connection, queue=generation_queue(connection))


EXTRACTION_TIMEOUT_SECONDS = 60
"""An extraction takes well under a second or two; a job still running after this is killed by RQ."""
EXTRACTION_RESULT_TTL_SECONDS = 3600


def extraction_queue(connection: redis.Redis) -> Queue:
    return Queue(EXTRACTION_QUEUE_NAME, connection=connection, serializer=JSONSerializer)


def enqueue_extraction(connection: redis.Redis, extraction_id: str) -> None:
    """One job per extraction, not retried: a photo that fails once fails again, and the extraction records why."""
    extraction_queue(connection).enqueue_call(
        EXTRACTION_JOB_FUNCTION,
        args=(extraction_id,),
        job_id=extraction_job_id(extraction_id),
        timeout=EXTRACTION_TIMEOUT_SECONDS,
        result_ttl=EXTRACTION_RESULT_TTL_SECONDS,
        failure_ttl=FAILURE_TTL_SECONDS,
    )


def extractor_count(connection: redis.Redis) -> int:
    return Worker.count(connection=connection, queue=extraction_queue(connection))
