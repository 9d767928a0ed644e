"""Single-flight: while a call for a key runs, the same call from other threads waits for its outcome
instead of doing the work again (Go's ``singleflight``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Flight(Generic[T]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None
        self.waiting = 0


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[object, _Flight[T]] = {}
        self._lock = threading.Lock()

    def run(self, key: object, work: Callable[[], T]) -> tuple[T, bool]:
        """``work()``'s value and True, or the outcome (value and False, or the exception) of the call for
        ``key`` already in flight."""
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
            else:
                flight.waiting += 1
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value, False
        try:
            flight.value = work()
            return flight.value, True
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()

    def waiting(self, key: object) -> int:
        """How many calls wait for the one in flight for ``key`` (0 when none is)."""
        with self._lock:
            flight = self._flights.get(key)
            return flight.waiting if flight else 0
