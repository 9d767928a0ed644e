"""The gateway's memory budget, single-flight and JPEG decoding at the size needed (issue 24): threads doing
real decodes, the budget's own accounting as the witness (no timings)."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from posegen import images
from posegen.errors import ServiceUnavailable
from posegen.membudget import BudgetExhausted, MemoryBudget
from posegen.singleflight import SingleFlight

WAIT = 60.0
"""Generous: a waiter only waits this long when the code under test is broken."""


def jpeg(width: int, height: int, *, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    small.resize((width, height), Image.Resampling.BILINEAR).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def test_concurrent_real_decodes_never_hold_more_than_the_budget():
    uploads = [jpeg(1200, 900, seed=n) for n in range(12)]
    cost = images.decode_cost(images.open_image(uploads[0]))
    budget = MemoryBudget(3 * cost, wait_seconds=WAIT)
    running, seen, lock = [0], [0], threading.Lock()
    made: list[bytes] = []

    def upload(data: bytes) -> None:
        opened = images.open_image(data)
        with budget.reserve(images.decode_cost(opened)) as size:
            with lock:
                running[0] += size
                seen[0] = max(seen[0], running[0])
            # Hold the room until another upload waits for it (or none is left to): the budget is then full.
            for _ in range(int(WAIT * 100)):
                if budget.waiting or len(made) + running[0] // size >= len(uploads):
                    break
                threading.Event().wait(0.01)
            png = images.normalise_avatar(images.load_image(opened))
            with lock:
                running[0] -= size
                made.append(png)

    threads = [threading.Thread(target=upload, args=(data,)) for data in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == len(uploads)
    assert budget.peak == budget.capacity and seen[0] <= budget.capacity
    assert budget.reserved == 0 and budget.refused == 0


def test_past_its_wait_a_full_budget_refuses_with_a_503_and_retry_after():
    budget = MemoryBudget(100, wait_seconds=0)
    with budget.reserve(80), pytest.raises(BudgetExhausted) as refused, budget.reserve(30):
        pass
    assert isinstance(refused.value, ServiceUnavailable) and refused.value.status_code == 503
    assert int(refused.value.headers["Retry-After"]) >= 1
    assert budget.refused == 1 and budget.reserved == 0 and budget.peak == 80
    with budget.reserve(100):
        assert budget.reserved == 100


def test_a_waiting_reservation_starts_when_room_is_given_back():
    budget = MemoryBudget(100, wait_seconds=WAIT)
    holding, started = threading.Event(), threading.Event()
    release = threading.Event()

    def hold() -> None:
        with budget.reserve(70):
            holding.set()
            release.wait(WAIT)

    def wait_for_room() -> None:
        with budget.reserve(70):
            started.set()

    first = threading.Thread(target=hold)
    first.start()
    holding.wait(WAIT)
    second = threading.Thread(target=wait_for_room)
    second.start()
    assert not started.is_set() and budget.reserved == 70
    release.set()
    first.join()
    second.join()
    assert started.is_set() and budget.peak == 70 and budget.refused == 0


def test_past_its_waiters_the_budget_refuses_at_once():
    budget = MemoryBudget(100, wait_seconds=WAIT, max_waiting=1)
    waited: list[int] = []
    with budget.reserve(100):
        waiter = threading.Thread(target=lambda: waited.append(budget.reserve(50).__enter__()))
        waiter.start()
        for _ in range(int(WAIT * 100)):
            if budget.waiting == 1:
                break
            threading.Event().wait(0.01)
        with pytest.raises(BudgetExhausted), budget.reserve(10):
            pass
        assert budget.refused == 1 and budget.waiting == 1
    waiter.join()
    assert waited == [50] and budget.waiting == 0


def test_a_reservation_larger_than_the_budget_runs_alone():
    budget = MemoryBudget(100, wait_seconds=0)
    with budget.reserve(500) as size:
        assert size == 100
    assert budget.peak == 100


def test_single_flight_runs_the_work_once_for_concurrent_callers():
    flights: SingleFlight[str] = SingleFlight()
    callers, calls = 8, []
    everyone_waits = threading.Event()

    def work() -> str:
        calls.append(1)
        for _ in range(int(WAIT * 100)):
            if flights.waiting("key") == callers - 1:
                break
            everyone_waits.wait(0.01)
        return "rendered"

    results: list[tuple[str, bool]] = []
    threads = [threading.Thread(target=lambda: results.append(flights.run("key", work))) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(results) == [("rendered", False)] * (callers - 1) + [("rendered", True)]
    assert flights.waiting("key") == 0
    assert flights.run("key", lambda: "again") == ("again", True)


def test_single_flight_gives_the_waiters_the_leaders_error():
    flights: SingleFlight[str] = SingleFlight()
    entered, finish = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def failing() -> str:
        entered.set()
        finish.wait(WAIT)
        raise BudgetExhausted(10, 1)

    def call() -> None:
        try:
            flights.run("key", failing)
        except BudgetExhausted as error:
            errors.append(error)

    leader = threading.Thread(target=call)
    leader.start()
    entered.wait(WAIT)
    follower = threading.Thread(target=call)
    follower.start()
    for _ in range(int(WAIT * 100)):
        if flights.waiting("key") == 1:
            break
        finish.wait(0.01)
    finish.set()
    leader.join()
    follower.join()
    assert len(errors) == 2


def test_a_big_jpeg_is_decoded_at_the_size_it_is_stored_at():
    data = jpeg(4096, 4096)
    full = images.open_image(data)
    drafted = images.open_image(data, max_side=images.MAX_AVATAR_SIDE)
    assert full.size == (4096, 4096)
    assert drafted.size == (2048, 2048)
    assert images.decode_cost(drafted) * 4 == images.decode_cost(full)
    avatar = Image.open(io.BytesIO(images.normalise_avatar(images.load_image(drafted))))
    assert avatar.size == (2048, 2048)
    photo, width, height = images.normalise_photo(images.decode_image(jpeg(4000, 3000), max_side=1000))
    assert (width, height) == (1000, 750) and Image.open(io.BytesIO(photo)).size == (1000, 750)


def test_a_jpeg_is_never_drafted_below_the_size_it_is_scaled_to():
    opened = images.open_image(jpeg(3000, 1000), max_side=1000)
    assert opened.size[0] >= 1000 and opened.size[1] >= 1000 / 3
    png = io.BytesIO()
    Image.new("RGB", (3000, 1000)).save(png, "PNG")
    assert images.open_image(png.getvalue(), max_side=1000).size == (3000, 1000)
