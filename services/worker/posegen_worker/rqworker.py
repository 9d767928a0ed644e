"""RQ's ``SimpleWorker`` (no fork per job: the warm pipeline and a CUDA context cannot cross a fork), taught
to stop a generation between batches on SIGTERM and to put it back at the front of the queue."""

from __future__ import annotations

import logging

from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue

from posegen.queue import discard_job, enqueue_generation
from posegen_worker.runtime import Connections, Runtime

log = logging.getLogger("posegen.worker")


class StoppingWorker(SimpleWorker):
    """Tells its runtime when a stop is asked for (SIGTERM), so that a job's waits (storage retries) end early."""

    runtime: Connections
    """Set by ``Connections.work``, which starts this worker."""

    def request_stop(self, signum, frame) -> None:
        self.runtime.stop_event.set()
        super().request_stop(signum, frame)

    def unsubscribe(self) -> None:
        """RQ's, with the bounded wait it means: RQ joins its pub/sub thread for a second, but redis-py's
        ``stop()`` joins it without a bound first, and that thread waits up to 60 s for a message once
        unsubscribed, so a stopping worker sometimes took a minute more to exit."""
        if self.pubsub_thread:
            log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
            self.pubsub.unsubscribe()
            try:
                self.pubsub_thread.stop(timeout=1)
            except TypeError:  # an older redis-py, whose stop() takes no timeout and does not wait
                self.pubsub_thread.stop()
            self.pubsub.close()


class GenerationWorker(StoppingWorker):
    runtime: Runtime

    def register_birth(self) -> None:
        """A worker's name is its identity (Kubernetes gives it the pod's name, which a restarted container
        keeps): a registration under our name that never recorded its death is a predecessor killed without
        leaving (SIGKILL, OOM). RQ would refuse to start for as long as that key lives (minutes); its death is
        recorded instead, and this process takes the name over. Its generation is the reaper's (leases)."""
        if self.connection.exists(self.key) and not self.connection.hexists(self.key, "death"):
            log.warning("worker %s is registered but did not stop cleanly; taking its name over", self.name)
            self.register_death()
        super().register_birth()

    def execute_job(self, job: Job, queue: Queue) -> None:
        super().execute_job(job, queue)
        while self.runtime.requeue:
            generation_id = self.runtime.requeue.pop()
            discard_job(self.connection, generation_id)
            enqueue_generation(self.connection, generation_id, at_front=True)
            log.info("generation %s is back at the front of the queue", generation_id)
