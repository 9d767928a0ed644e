"""Redis restarting in the middle of a generation: the generation still finishes with every image, and
the final events reach the stream once Redis is back."""

import threading
import time

import redis

from posegen.events import read_events
from posegen_worker.generation import GenerationRun


def test_a_redis_restart_mid_run_loses_no_image_and_no_final_event(make_runtime, scenario, private_redis):
    server = private_redis()
    runtime = make_runtime(redis_url=server.url, worker_batch_size=1)
    generation_id = scenario.generation(poses=3, steps=8)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("v", GenerationRun(runtime, generation_id).run()))
    thread.start()
    deadline = time.monotonic() + 60
    while not scenario.images(generation_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    server.stop()
    time.sleep(1.5)
    server.start()
    thread.join(timeout=180)
    assert outcome.get("v") == "finished"
    row = scenario.row(generation_id)
    assert (row.status, row.poses_completed, row.credit_refunded) == ("completed", 3, 0)
    assert scenario.balance() == scenario.granted - 90
    final = read_events(redis.Redis.from_url(server.url), generation_id)[-1]
    assert final.type == "completed", "the final event reached the stream"
