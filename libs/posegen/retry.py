"""One way to ride out a transient fault of the infrastructure (PostgreSQL or Redis unreachable for a while):
tenacity's exponential backoff, bounded by a deadline, logged at each wait."""

from __future__ import annotations

import logging

from tenacity import (
    AsyncRetrying,
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_delay,
    stop_never,
    wait_exponential,
)


def _policy(on, deadline, first, cap, log):
    return {
        "retry": retry_if_exception_type(on),
        "wait": wait_exponential(multiplier=first, min=first, max=cap),
        "stop": stop_never if deadline is None else stop_after_delay(deadline),
        "before_sleep": before_sleep_log(log, logging.WARNING),
        "reraise": True,
    }


def retrying(
    *, on: tuple[type[BaseException], ...], deadline: float | None, first: float, cap: float, log: logging.Logger
) -> Retrying:
    """``for attempt in retrying(...): with attempt: ...``: retried while it raises one of ``on``; after the
    deadline the last error is raised."""
    return Retrying(**_policy(on, deadline, first, cap, log))


def async_retrying(
    *, on: tuple[type[BaseException], ...], deadline: float | None, first: float, cap: float, log: logging.Logger
) -> AsyncRetrying:
    return AsyncRetrying(**_policy(on, deadline, first, cap, log))
