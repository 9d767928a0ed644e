"""Redis restarting in the middle of a generation: the generation still finishes with every image, and
the final events reach the stream once Redis is back. A private Redis is started for the test."""

import shutil
import subprocess
import threading
import time

import pytest
import redis

from posegen.events import read_events
from posegen.localrun import free_port
from posegen_worker.generation import GenerationRun

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


def test_a_redis_restart_mid_run_loses_no_image_and_no_final_event(make_runtime, scenario, tmp_path):
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(tmp_path)]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(50):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        runtime = make_runtime(redis_url=url, worker_batch_size=1)
        generation_id = scenario.generation(poses=3, steps=8)
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.setdefault("v", GenerationRun(runtime, generation_id).run()))
        thread.start()
        deadline = time.monotonic() + 60
        while not scenario.images(generation_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        server.terminate()
        server.wait(timeout=10)
        time.sleep(1.5)
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        thread.join(timeout=180)
        assert outcome.get("v") == "finished"
        row = scenario.row(generation_id)
        assert (row["status"], row["poses_completed"], row["credit_refunded"]) == ("completed", 3, 0)
        assert scenario.balance() == scenario.granted - 90
        assert read_events(client, generation_id)[-1].type == "completed", "the final event reached the stream"
    finally:
        server.terminate()
        server.wait(timeout=10)
