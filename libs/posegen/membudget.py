"""A process-wide budget of bytes for work whose memory is known before it starts (decoding an image,
rendering an export): each piece reserves its estimate first, waits a bounded time when the budget is full,
and gives the bytes back when it ends. Whatever the concurrency, what is reserved never exceeds the budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from posegen.errors import ServiceUnavailable

RETRY_AFTER_SECONDS = 2
"""What a refused request is told to wait: a decode or a rendition holds its bytes for a second or two."""


class BudgetExhausted(ServiceUnavailable):
    """The budget had no room within the wait: a 503 with ``Retry-After`` (seconds) for the client."""

    def __init__(self, wanted: int, retry_after: int) -> None:
        super().__init__(
            "the server is busy with other images; try again shortly", headers={"Retry-After": str(retry_after)}
        )
        self.wanted = wanted
        self.retry_after = retry_after


class MemoryBudget:
    """``capacity`` bytes shared by every thread; a reservation larger than the whole budget is cut to it (it
    then runs alone rather than never). At most ``max_waiting`` threads wait for room at once (the others are
    refused at once), so waiters cannot take every thread of a pool that other requests need too."""

    def __init__(self, capacity: int, *, wait_seconds: float = 10.0, max_waiting: int = 16) -> None:
        if capacity < 1:
            raise ValueError("a memory budget needs at least one byte")
        self.capacity = capacity
        self.wait_seconds = wait_seconds
        self.max_waiting = max_waiting
        self.waiting = 0
        self.reserved = 0
        self.peak = 0
        """The most that was ever reserved at once (the budget's own accounting, for tests and benchmarks)."""
        self.refused = 0
        self._room = threading.Condition()

    def _take(self, wanted: int, wait_seconds: float) -> int:
        size = min(max(wanted, 0), self.capacity)
        deadline = time.monotonic() + wait_seconds
        with self._room:
            if self.reserved + size > self.capacity and self.waiting >= self.max_waiting:
                self.refused += 1
                raise BudgetExhausted(wanted, RETRY_AFTER_SECONDS)
            self.waiting += 1
            try:
                while self.reserved + size > self.capacity:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._room.wait(left):
                        if self.reserved + size <= self.capacity:
                            break
                        self.refused += 1
                        raise BudgetExhausted(wanted, RETRY_AFTER_SECONDS)
            finally:
                self.waiting -= 1
            self.reserved += size
            self.peak = max(self.peak, self.reserved)
        return size

    def _give_back(self, size: int) -> None:
        with self._room:
            self.reserved -= size
            self._room.notify_all()

    @contextmanager
    def reserve(self, wanted: int, *, wait_seconds: float | None = None) -> Iterator[int]:
        """Hold ``wanted`` bytes of the budget for the ``with`` block, waiting up to ``wait_seconds`` (the
        budget's own wait by default) for room; raises :class:`BudgetExhausted` past it."""
        size = self._take(wanted, self.wait_seconds if wait_seconds is None else wait_seconds)
        try:
            yield size
        finally:
            self._give_back(size)
