"""Every way a generation moves and ends, through ``posegen.lifecycle`` on the real PostgreSQL and Redis: the
database state, one refund per unfinished image, and exactly one final event per generation."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from posegen import lifecycle
from posegen.db import generations as generations_db
from posegen.db.generations import ImageRow
from posegen.db.pool import create_pool
from posegen.events import EventPublisher, read_events

from .scenario import CREDITS_PER_IMAGE, Scenario


@pytest.fixture
def scenario(database_url, redis_url) -> Scenario:
    return Scenario(database_url, redis_url)


@pytest.fixture
def pool(database_url) -> Iterator:
    opened = create_pool(database_url, max_size=4, name="lifecycle-test")
    yield opened
    opened.close()


@pytest.fixture
def publish(redis_client):
    publisher = EventPublisher(redis_client)

    def publish(event) -> bool:
        publisher.publish(event)
        return True

    return publish


def processing(scenario: Scenario, *, poses: int = 3, made: int = 0) -> str:
    """A generation a worker has claimed, with ``made`` images already stored."""
    generation_id = scenario.generation(poses=poses)
    with scenario.connect() as conn:
        row = lifecycle.claim(conn=conn, generation_id=generation_id, worker_name="w-test")
        keys = [f"{pose}:0" for pose in generations_db.generation_pose_ids(conn=conn, generation_id=generation_id)]
        for key in keys[:made]:
            image = ImageRow(
                str(uuid.uuid4()),
                generation_id,
                key.split(":")[0],
                key,
                "completed",
                f"poses/{key}.png",
                f"poses/{key}.jpg",
                1,
                "p",
                0.1,
                0.0,
                None,
            )
            assert generations_db.insert_image(conn=conn, row=image)
        generations_db.refresh_counts(conn=conn, generation_id=generation_id)
    assert row.status == "processing"
    return generation_id


def refund_rows(scenario: Scenario, generation_id: str) -> int:
    with scenario.connect() as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM credit_ledger WHERE type = 'refund' AND reference_id LIKE %s",
            (f"{generation_id}:%",),
        ).fetchone()["n"]


def final_events(redis_client: redis.Redis, generation_id: str) -> list:
    return [e for e in read_events(redis_client, generation_id) if e.is_terminal]


def test_cancel_of_a_waiting_generation_ends_it_refunds_every_image_and_owes_one_event(
    scenario, pool, publish, redis_client
):
    generation_id = scenario.generation(poses=3)
    with scenario.connect() as conn:
        decision = lifecycle.cancel(conn=conn, generation_id=generation_id, user_id=scenario.user_id)
    assert decision.action == "cancelled" and decision.row.status == "cancelled"
    assert decision.row.credit_refunded == 3 * CREDITS_PER_IMAGE == refund_rows(scenario, generation_id) * 30
    assert scenario.balance() == scenario.granted
    assert decision.ended.event.type == "cancelled" and decision.ended.event.credit_refunded == 90
    assert lifecycle.deliver(decision.ended, publish=publish, pool=pool)
    assert lifecycle.deliver(decision.ended, publish=publish, pool=pool), "a second delivery is harmless"
    assert [e.type for e in final_events(redis_client, generation_id)] == ["cancelled"]
    assert scenario.row(generation_id).final_event_at is not None
    with scenario.connect() as conn:
        again = lifecycle.cancel(conn=conn, generation_id=generation_id, user_id=scenario.user_id)
        other = lifecycle.cancel(conn=conn, generation_id=generation_id, user_id="someone-else")
    assert again.action == "already_finished" and again.ended is None and other is None
    assert refund_rows(scenario, generation_id) == 3


def test_cancel_of_a_running_generation_is_requested_then_stopped_by_its_worker(scenario, pool, publish, redis_client):
    generation_id = processing(scenario, poses=3, made=1)
    with scenario.connect() as conn:
        decision = lifecycle.cancel(conn=conn, generation_id=generation_id, user_id=scenario.user_id)
        assert decision.action == "cancel_requested" and decision.ended is None
        assert decision.row.cancel_requested_at is not None and refund_rows(scenario, generation_id) == 0
        ended = lifecycle.stop_cancelled(conn=conn, generation_id=generation_id)
    assert (ended.row.status, ended.row.poses_completed, ended.row.credit_refunded) == ("cancelled", 1, 60)
    assert refund_rows(scenario, generation_id) == 2
    lifecycle.deliver(ended, publish=publish, pool=pool)
    [event] = final_events(redis_client, generation_id)
    assert (event.type, event.poses_completed, event.credit_refunded) == ("cancelled", 1, 60)


def test_a_worker_failure_refunds_what_did_not_finish(scenario, pool, publish, redis_client):
    generation_id = processing(scenario, poses=4, made=2)
    with scenario.connect() as conn:
        ended = lifecycle.fail(conn=conn, generation_id=generation_id, message="ValueError: broken input")
    row = ended.row
    assert (row.status, row.error_message, row.credit_refunded, row.poses_completed) == (
        "failed",
        "ValueError: broken input",
        60,
        2,
    )
    assert row.completed_at is not None and refund_rows(scenario, generation_id) == 2
    lifecycle.deliver(ended, publish=publish, pool=pool)
    [event] = final_events(redis_client, generation_id)
    assert (event.type, event.error, event.credit_refunded) == ("failed", "ValueError: broken input", 60)


@pytest.mark.parametrize(("made", "failed", "status"), [(3, 0, "completed"), (2, 1, "partial"), (0, 3, "failed")])
def test_completion_is_decided_by_the_images(scenario, pool, publish, redis_client, made, failed, status):
    generation_id = processing(scenario, poses=3, made=made)
    with scenario.connect() as conn:
        pose_ids = generations_db.generation_pose_ids(conn=conn, generation_id=generation_id)
        for key in [f"{pose_id}:0" for pose_id in pose_ids][made:]:
            image = ImageRow(str(uuid.uuid4()), generation_id, None, key, "failed", None, None, 1, "p", None, 0.0, "x")
            generations_db.insert_image(conn=conn, row=image)
        ended = lifecycle.complete(conn=conn, generation_id=generation_id)
    assert ended.row.status == status and ended.row.credit_refunded == 30 * failed
    assert refund_rows(scenario, generation_id) == failed
    lifecycle.deliver(ended, publish=publish, pool=pool)
    [event] = final_events(redis_client, generation_id)
    assert event.type == ("failed" if status == "failed" else "completed")


def test_give_up_after_the_recoveries_fails_with_a_refund_and_before_that_requeues(scenario, pool):
    generation_id = processing(scenario, poses=2, made=1)
    with scenario.connect() as conn:
        first = lifecycle.recover(conn=conn, generation_id=generation_id, max_recoveries=1, abandoned=lambda: True)
        assert first.ended is None and (first.requeued.status, first.requeued.recovery_attempts) == ("queued", 1)
        assert refund_rows(scenario, generation_id) == 0
        lifecycle.claim(conn=conn, generation_id=generation_id, worker_name="w-next")
        held = lifecycle.recover(conn=conn, generation_id=generation_id, max_recoveries=1, abandoned=lambda: False)
        assert held == lifecycle.Recovery(None, None), "a lease taken meanwhile wins"
        last = lifecycle.recover(conn=conn, generation_id=generation_id, max_recoveries=1, abandoned=lambda: True)
    assert last.requeued is None and last.ended.row.status == "failed"
    assert "gave up after 2 interruptions" in last.ended.event.error
    assert last.ended.row.credit_refunded == 30 and refund_rows(scenario, generation_id) == 1


def test_hand_over_puts_it_back_without_refund_or_event(scenario, redis_client):
    generation_id = processing(scenario, poses=3, made=1)
    with scenario.connect() as conn:
        row = lifecycle.hand_over(conn=conn, generation_id=generation_id)
        assert (row.status, row.worker_name, row.poses_completed, row.recovery_attempts) == ("queued", None, 1, 0)
        assert lifecycle.hand_over(conn=conn, generation_id=generation_id) is None
    assert refund_rows(scenario, generation_id) == 0 and final_events(redis_client, generation_id) == []


def test_a_cancelled_generation_is_neither_handed_over_nor_recovered_but_ends_cancelled(
    scenario, pool, publish, redis_client
):
    """A cancel the worker never saw (the Redis flag was lost) is not undone by a hand-over or a recovery: the
    generation ends cancelled with a refund of what was not made. Seen under chaos."""
    generation_id = processing(scenario, poses=3, made=1)
    with scenario.connect() as conn:
        assert lifecycle.cancel(conn=conn, generation_id=generation_id, user_id=scenario.user_id).action == (
            "cancel_requested"
        )
        assert lifecycle.hand_over(conn=conn, generation_id=generation_id) is None
        result = lifecycle.recover(conn=conn, generation_id=generation_id, max_recoveries=3, abandoned=lambda: True)
    assert result.requeued is None
    assert (result.ended.row.status, result.ended.row.poses_completed, result.ended.row.credit_refunded) == (
        "cancelled",
        1,
        60,
    )
    assert refund_rows(scenario, generation_id) == 2 and scenario.row(generation_id).recovery_attempts == 0
    lifecycle.deliver(result.ended, publish=publish, pool=pool)
    assert [e.type for e in final_events(redis_client, generation_id)] == ["cancelled"]


def test_racing_ends_end_it_once(scenario, database_url):
    generation_id = processing(scenario, poses=3, made=1)
    results, barrier = [], threading.Barrier(4)

    def end(kind: str) -> None:
        with Scenario.connect(scenario) as conn:
            barrier.wait()
            if kind == "fail":
                results.append(lifecycle.fail(conn=conn, generation_id=generation_id, message="boom"))
            elif kind == "complete":
                results.append(lifecycle.complete(conn=conn, generation_id=generation_id))
            else:
                results.append(lifecycle.stop_cancelled(conn=conn, generation_id=generation_id))

    threads = [threading.Thread(target=end, args=(k,)) for k in ("fail", "complete", "cancel", "fail")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1
    assert refund_rows(scenario, generation_id) == 2 and scenario.balance() == scenario.granted - 30


def test_a_final_event_lost_to_a_crash_is_delivered_once_by_the_reconciler(scenario, pool, publish, redis_client):
    generation_id = processing(scenario, poses=2, made=2)
    with scenario.connect() as conn:
        ended = lifecycle.complete(conn=conn, generation_id=generation_id)  # ... and the process dies here
        conn.execute(
            "UPDATE generations SET completed_at = now() - interval '1 minute' WHERE id = %s", (generation_id,)
        )
    assert ended.row.final_event_at is None and final_events(redis_client, generation_id) == []
    assert generation_id in lifecycle.deliver_owed(pool=pool, publish=publish, older_than_seconds=30)
    assert generation_id not in lifecycle.deliver_owed(pool=pool, publish=publish, older_than_seconds=30)
    [event] = final_events(redis_client, generation_id)
    assert (event.type, event.status, event.poses_completed) == ("completed", "completed", 2)


def test_an_unreachable_redis_leaves_the_final_event_owed(scenario, pool):
    generation_id = processing(scenario, poses=1, made=1)
    with scenario.connect() as conn:
        ended = lifecycle.complete(conn=conn, generation_id=generation_id)
    assert not lifecycle.deliver(ended, publish=lambda event: False, pool=pool)
    assert scenario.row(generation_id).final_event_at is None
