"""The RQ side of a generation: enqueueing by dotted name with the JSON serialiser, queue position,
the counts the health check reports, and the job state the reconciler needs."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from rq import Queue, Worker
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from posegen.contracts import JOB_FUNCTION, QUEUE_NAME, job_id

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
    try:
        job = Job.fetch(job_id(generation_id), connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in (_LIVE_STATES if running_counts else _WAITING_STATES)


def discard_job(connection: redis.Redis, generation_id: str) -> None:
    """Remove the generation's job (waiting or dead) so that it will not run, or can be enqueued again."""
    try:
        job = Job.fetch(job_id(generation_id), connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return
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
