"""The gateway's logic between HTTP and the library: each function takes what it needs by keyword and
returns a response model, so the routers stay a few lines each."""

from __future__ import annotations

from typing import TypeVar

from posegen.errors import NotFound

T = TypeVar("T")


def or_404(found: T | None, message: str, field: str | None = None) -> T:
    """``found``, or a 404 saying ``message`` when it is None (the row does not exist, or is not the caller's)."""
    if found is None:
        raise NotFound(message, field=field)
    return found
