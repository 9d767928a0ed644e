from posegen.contracts import QUEUE_LIST_KEY, generation_lease_key, job_id
from posegen.queue import enqueue_generation
from posegen_worker.recovery import Lease, reap


def make_processing(scenario, generation_id: str, *, attempts: int) -> None:
    with scenario.connect() as conn:
        conn.execute(
            "UPDATE generations SET status = 'processing', recovery_attempts = %s,"
            " updated_at = now() - interval '1 minute' WHERE id = %s",
            (attempts, generation_id),
        )


def test_an_expired_lease_is_requeued_at_the_front(make_runtime, scenario, redis_client):
    runtime = make_runtime()
    waiting = scenario.generation(poses=1, steps=2)
    enqueue_generation(redis_client, waiting)
    generation_id = scenario.generation(poses=2, steps=2)
    make_processing(scenario, generation_id, attempts=0)
    assert generation_id in reap(runtime)
    row = scenario.row(generation_id)
    assert (row.status, row.recovery_attempts) == ("queued", 1)
    queue = redis_client.lrange(QUEUE_LIST_KEY, 0, -1)
    assert queue.index(job_id(generation_id).encode()) < queue.index(job_id(waiting).encode()), "ahead of the line"


def test_a_live_lease_is_left_alone(make_runtime, scenario, redis_client):
    runtime = make_runtime()
    generation_id = scenario.generation(poses=1, steps=2)
    make_processing(scenario, generation_id, attempts=0)
    lease = Lease(redis_client, generation_id, "someone", 30)
    assert lease.acquire()
    assert generation_id not in reap(runtime)
    assert scenario.row(generation_id).status == "processing"
    lease.release()
    assert not redis_client.exists(generation_lease_key(generation_id))
    with scenario.connect() as conn:
        conn.execute("UPDATE generations SET status = 'cancelled' WHERE id = %s", (generation_id,))


def test_after_three_recoveries_it_fails_and_refunds(make_runtime, scenario, events):
    runtime = make_runtime()
    generation_id = scenario.generation(poses=3, steps=2)
    make_processing(scenario, generation_id, attempts=3)
    assert generation_id in reap(runtime)
    row = scenario.row(generation_id)
    assert (row.status, row.credit_refunded) == ("failed", 90)
    assert scenario.balance() == scenario.granted
    failed = events.wait_for(lambda e: e.type == "failed")
    assert failed.credit_refunded == 90 and "gave up after 4 interruptions" in failed.error
    assert generation_id not in reap(runtime), "a failed generation is not recovered again"
    assert scenario.balance() == scenario.granted, "and never refunded twice"


def test_a_lease_cannot_be_renewed_by_another_owner(redis_client):
    mine = Lease(redis_client, "g-lease", "me", 30)
    theirs = Lease(redis_client, "g-lease", "them", 30)
    assert mine.acquire() and not theirs.acquire()
    theirs.release()
    assert redis_client.get(generation_lease_key("g-lease")) == b"me"
    mine.release()
