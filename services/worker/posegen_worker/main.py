"""Entry point: ``posegen worker``. Loads the pipeline once, serves metrics, runs the reaper, then works the
``pose-generation`` queue until SIGTERM (finishing the current batch first)."""

from __future__ import annotations

import logging
import signal
import threading

import redis

from posegen.inference.warmup import warm_up
from posegen.logs import configure_logging
from posegen.queue import generation_queue
from posegen.retry import retrying
from posegen.settings import WorkerSettings, load_settings
from posegen.storage import check_at_startup, open_storage
from posegen_worker import runtime as runtime_module
from posegen_worker.metrics import MetricsServer
from posegen_worker.recovery import Reaper
from posegen_worker.rqworker import GenerationWorker
from posegen_worker.runtime import Runtime

log = logging.getLogger("posegen.worker")


def main() -> int:
    settings = load_settings(WorkerSettings)
    configure_logging(settings.log_format, settings.log_level)
    check_at_startup(open_storage(settings), log)
    runtime = Runtime.open(settings)
    runtime_module.install(runtime)
    warmed = threading.Event()
    server = runtime.serve_metrics(settings.worker_metrics_host, settings.worker_metrics_port, ready=warmed.is_set)
    if settings.worker_metrics_port_file:
        settings.worker_metrics_port_file.write_text(f"{server.port}\n")
    try:  # one denoising step (and, when compiled, every shape it serves) before the first job
        runtime.metrics.warmup_seconds.set(warm_up(runtime.pipeline))
    except Exception:
        log.exception("the pipeline cannot run (warm-up failed): this worker stays unready and takes no job")
        return _idle_until_stopped(server, runtime)
    warmed.set()
    _wait_for_redis(runtime)
    reaper = Reaper(runtime)
    reaper.start()
    log.info("worker %s ready on queue pose-generation (metrics on :%s)", settings.worker_name, server.port)
    return runtime.work(GenerationWorker, generation_queue(runtime.redis), settings.worker_name, reaper, server)


def _idle_until_stopped(server: MetricsServer, runtime: Runtime) -> int:
    """Liveness stays, readiness is false: the orchestrator shows the pod unready instead of a worker that
    would fail every job it takes."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: runtime.stop_event.set())
    runtime.stop_event.wait()
    server.stop()
    runtime.close()
    return 3


def _wait_for_redis(runtime: Runtime) -> None:
    """Started while Redis is away (a restart, or a rollout that starts workers first), the worker waits,
    alive and unready, instead of exiting into a restart loop that loads the model again each time."""
    for attempt in retrying(on=(redis.RedisError, OSError), deadline=None, first=0.5, cap=5.0, log=log):
        with attempt:
            runtime.redis.ping()
