"""A worker is ready only once its pipeline has run a warm-up step; one that cannot stays alive, unready and
takes no job (a compiled pipeline without a C compiler used to fail every job while /ready said yes)."""

from __future__ import annotations

import threading
import time

import pytest

from posegen.contracts import QUEUE_LIST_KEY
from posegen.queue import discard_job, enqueue_generation
from posegen_cli.localrun import free_port
from posegen_worker import main as worker_main
from posegen_worker import runtime as runtime_module

from .test_metrics import get


@pytest.fixture
def worker_in_thread(worker_env, monkeypatch, warm_pipeline):
    port = free_port()
    for key, value in {**worker_env, "WORKER_METRICS_PORT": str(port), "WORKER_METRICS_HOST": "127.0.0.1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("posegen.inference.loading.load_pipeline", lambda _settings: warm_pipeline)
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", worker_main.main()), daemon=True)
    yield thread, port, result
    runtime = runtime_module.slot.installed
    if runtime is not None:
        runtime.stop_event.set()
    thread.join(timeout=30)
    runtime_module.install(None)


def test_a_pipeline_that_cannot_run_leaves_the_worker_unready_and_idle(
    worker_in_thread, monkeypatch, scenario, redis_client
):
    def broken(_loaded, *args, **kwargs):
        raise RuntimeError("Failed to find C compiler. Please specify via CC environment variable.")

    monkeypatch.setattr(worker_main, "warm_up", broken)
    thread, port, result = worker_in_thread
    generation_id = scenario.generation(poses=1, steps=2)
    enqueue_generation(redis_client, generation_id)
    thread.start()
    deadline = time.monotonic() + 60
    while get_status(port, "/health") != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1.0)
    assert get_status(port, "/ready") == 503
    assert scenario.row(generation_id).status == "queued", "the job was not taken"
    assert redis_client.lrange(QUEUE_LIST_KEY, 0, -1), "it waits for a worker that can run it"
    runtime_module.slot.installed.stop_event.set()
    thread.join(timeout=30)
    assert result["code"] == 3
    discard_job(redis_client, generation_id)  # the worker tests that follow share this queue


def get_status(port: int, path: str) -> int | None:
    try:
        return get(f"http://127.0.0.1:{port}{path}")[0]
    except OSError:
        return None


def test_a_worker_started_while_redis_is_away_waits_for_it_unready(spawn_worker, private_redis):
    """Started during a Redis restart (or before Redis in a rollout), the worker waits for it, alive and
    unready, instead of crashing into a restart loop that reloads the model each time (RQ's own connection
    retry does the waiting; bench/chaos.py restarts workers during Redis restarts)."""
    server = private_redis()
    server.stop()
    port = free_port()
    worker = spawn_worker(
        "patient", REDIS_URL=server.url, WORKER_METRICS_PORT=str(port), WORKER_METRICS_HOST="127.0.0.1"
    )

    def wait_for(path: str, status: int) -> None:
        deadline = time.monotonic() + 120
        while get_status(port, path) != status:
            assert worker.poll() is None, worker.log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{path} never answered {status}"
            time.sleep(0.3)

    def first_answer(path: str) -> int:
        """What the worker answers, however long a loaded machine keeps it from answering."""
        deadline = time.monotonic() + 60
        while (status := get_status(port, path)) is None and time.monotonic() < deadline:
            time.sleep(0.3)
        return status

    wait_for("/health", 200)
    time.sleep(3)
    assert worker.poll() is None, worker.log_path.read_text()[-3000:]
    assert first_answer("/ready") == 503
    server.start()
    wait_for("/ready", 200)
