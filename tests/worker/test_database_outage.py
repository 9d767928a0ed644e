"""PostgreSQL stopping in the middle of a generation: the worker keeps denoising, retries its image writes
until the database is back, and the generation finishes with every image once and the right balance."""

import threading
import time

from posegen_worker.generation import GenerationRun

from .conftest import Scenario


def test_a_database_outage_mid_run_loses_no_finished_image(private_postgres, worker_redis_url, make_runtime):
    url, stop, restart = private_postgres
    scenario = Scenario(url, worker_redis_url)
    runtime = make_runtime(database_url=url, worker_batch_size=1)
    generation_id = scenario.generation(poses=4, steps=6)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("v", GenerationRun(runtime, generation_id).run()))
    thread.start()
    deadline = time.monotonic() + 60
    while not scenario.images(generation_id):
        assert time.monotonic() < deadline, "no image before the outage"
        time.sleep(0.1)
    stop()
    time.sleep(4)
    restart()
    thread.join(timeout=240)
    assert outcome.get("v") == "finished"
    row = scenario.row(generation_id)
    assert (row.status, row.poses_completed, row.poses_failed, row.credit_refunded) == (
        "completed",
        4,
        0,
        0,
    )
    images = scenario.images(generation_id)
    assert len(images) == 4 and len({i.variation_key for i in images}) == 4
    assert scenario.balance() == scenario.granted - 120
