"""The one owner of how a generation moves and ends.

Every transition is one transaction: the status change, the refund of every image that did not finish (each
at most once, by the ledger's unique key) and, for an end, the final event it owes. Whoever ends a
generation (the gateway's cancel, the worker, the reaper) calls one of these functions and, after the commit,
:func:`deliver`\\ s the returned event; a final event lost to a crash between the commit and the publish is
delivered later by :func:`deliver_owed` (the gateway's reconciler). The publishing script keeps one final
event per generation in its stream, so a second delivery is a no-op.

    queued ──claim──► processing ──complete──► completed | partial | failed
      │                  │  ├─fail / give up──► failed
      │                  │  ├─stop_cancelled──► cancelled      (the worker saw the cancel, flag or row)
      │                  │  └─hand_over / recover ──► queued   (SIGTERM; a worker that died; not when
      │                  │                                      cancelled: recover ends it cancelled)
      └──cancel──► cancelled         processing ──cancel──► (cancel requested, the worker stops it)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from psycopg import Connection
from psycopg_pool import ConnectionPool

from posegen import billing
from posegen.contracts import CancelledEvent, CompletedEvent, FailedEvent
from posegen.db import generations as generations_db
from posegen.db.generations import GenerationRow

log = logging.getLogger("posegen.lifecycle")
FinalEvent = CompletedEvent | FailedEvent | CancelledEvent
NO_IMAGE = "no image could be generated"


@dataclass(frozen=True)
class Ended:
    """A generation that has just ended, and the final event it owes its user."""

    row: GenerationRow
    event: FinalEvent


def final_event(row: GenerationRow) -> FinalEvent:
    common = {"generation_id": row.id, "user_id": row.user_id, "credit_refunded": row.credit_refunded}
    if row.status == "cancelled":
        return CancelledEvent(**common, poses_completed=row.poses_completed)
    if row.status == "failed":
        return FailedEvent(**common, error=row.error_message or NO_IMAGE)
    return CompletedEvent(
        **common,
        status=row.status,
        poses_completed=row.poses_completed,
        poses_failed=row.poses_failed,
        poses_total=row.poses_total,
    )


def _end(
    conn: Connection,
    generation_id: str,
    *,
    status: str | None,
    error: str | None = None,
    from_statuses: tuple[str, ...] = ("processing",),
) -> Ended | None:
    """Refund what did not finish, recount, and set the terminal status (None: decided by the counts)."""
    with conn.transaction():
        row = generations_db.get_generation(conn=conn, generation_id=generation_id, for_update=True)
        if row is None or row.status not in from_statuses:
            return None
        billing.refund_unfinished(conn=conn, generation=row)
        counted = generations_db.refresh_counts(conn=conn, generation_id=generation_id)
        if status is None:
            status = "failed" if counted.poses_completed == 0 else "partial" if counted.poses_failed else "completed"
            error = NO_IMAGE if status == "failed" else None
        ended = generations_db.update_generation(
            conn=conn,
            generation_id=generation_id,
            assignments="status = %s, error_message = %s, completed_at = now(),"
            " cancel_requested_at = CASE WHEN %s = 'cancelled' THEN coalesce(cancel_requested_at, now())"
            " ELSE cancel_requested_at END",
            params=(status, error[:500] if error else None, status),
            from_statuses=from_statuses,
        )
    return Ended(ended, final_event(ended))


def claim(*, conn: Connection, generation_id: str, worker_name: str) -> GenerationRow | None:
    """A worker takes a queued generation (or re-takes its own after a re-run)."""
    return generations_db.update_generation(
        conn=conn,
        generation_id=generation_id,
        assignments="status = 'processing', started_at = coalesce(started_at, now()), worker_name = %s",
        params=(worker_name,),
        from_statuses=("queued", "processing"),
    )


def complete(*, conn: Connection, generation_id: str) -> Ended | None:
    """Every image was tried: completed, partial (some failed) or failed (none made)."""
    return _end(conn, generation_id, status=None)


def fail(*, conn: Connection, generation_id: str, message: str) -> Ended | None:
    """A fault that will not go away on a retry: the generation fails now and every unfinished image is
    refunded."""
    return _end(conn, generation_id, status="failed", error=message)


def stop_cancelled(*, conn: Connection, generation_id: str) -> Ended | None:
    """The worker stopped a running generation whose user cancelled it."""
    return _end(conn, generation_id, status="cancelled")


@dataclass(frozen=True)
class CancelDecision:
    action: Literal["cancelled", "cancel_requested", "already_finished"]
    row: GenerationRow
    ended: Ended | None = None


def cancel(*, conn: Connection, generation_id: str, user_id: str) -> CancelDecision | None:
    """A user cancels: a waiting generation ends now; a running one is marked for its worker, which stops
    within a step (the caller raises the cancel flag after the commit). None when it is not the user's."""
    with conn.transaction():
        row = generations_db.get_generation(conn=conn, generation_id=generation_id, user_id=user_id, for_update=True)
        if row is None:
            return None
        if row.status == "queued":
            ended = _end(conn, generation_id, status="cancelled", from_statuses=("queued",))
            return CancelDecision("cancelled", ended.row, ended)
        if row.status == "processing":
            marked = generations_db.update_generation(
                conn=conn,
                generation_id=generation_id,
                assignments="cancel_requested_at = coalesce(cancel_requested_at, now())",
            )
            return CancelDecision("cancel_requested", marked)
        return CancelDecision("already_finished", row)


def hand_over(*, conn: Connection, generation_id: str) -> GenerationRow | None:
    """A worker asked to stop gives its running generation back to the queue (it resumes where it was);
    one whose cancel was requested is not handed over (None): the worker ends it instead."""
    return generations_db.update_generation(
        conn=conn,
        generation_id=generation_id,
        assignments="status = 'queued', worker_name = NULL",
        where="cancel_requested_at IS NULL",
    )


@dataclass(frozen=True)
class Recovery:
    requeued: GenerationRow | None
    ended: Ended | None


def recover(*, conn: Connection, generation_id: str, max_recoveries: int, abandoned: Callable[[], bool]) -> Recovery:
    """A running generation whose worker is gone (``abandoned`` is asked again once the row is locked) goes
    back to the queue, at most ``max_recoveries`` times; the next time it fails and its unfinished images
    are refunded."""
    with conn.transaction():
        row = generations_db.get_generation(conn=conn, generation_id=generation_id, for_update=True)
        if row is None or row.status != "processing" or not abandoned():
            return Recovery(None, None)
        if row.cancel_requested_at is not None:
            # Its user cancelled it while it ran: nothing more is made, it ends as the worker would have ended it.
            return Recovery(None, stop_cancelled(conn=conn, generation_id=generation_id))
        if row.recovery_attempts >= max_recoveries:
            message = (
                f"gave up after {row.recovery_attempts + 1} interruptions: the worker running it stopped or lost"
                " its connection to PostgreSQL or Redis each time"
            )
            return Recovery(None, fail(conn=conn, generation_id=generation_id, message=message))
        requeued = generations_db.update_generation(
            conn=conn,
            generation_id=generation_id,
            assignments="status = 'queued', worker_name = NULL, recovery_attempts = recovery_attempts + 1",
        )
        return Recovery(requeued, None)


Publish = Callable[[FinalEvent], bool]
"""Publishes an event; True when it reached Redis."""


def deliver(ended: Ended | None, *, publish: Publish, pool: ConnectionPool) -> bool:
    """Publish the final event and record that it was; a failure leaves it owed for :func:`deliver_owed`."""
    if ended is None or not publish(ended.event):
        return False
    try:
        with pool.connection() as conn:
            generations_db.mark_final_event_published(conn=conn, generation_id=ended.row.id)
    except Exception:
        log.warning("final event of %s published but not recorded; it may be published again", ended.row.id)
    return True


def deliver_owed(*, pool: ConnectionPool, publish: Publish, older_than_seconds: float = 30.0) -> list[str]:
    """Publish every final event that was owed and not delivered (its publisher crashed after the commit)."""
    with pool.connection() as conn:
        ids = generations_db.owing_final_event(conn=conn, older_than_seconds=older_than_seconds)
        rows = [generations_db.get_generation(conn=conn, generation_id=i) for i in ids]
    delivered = [row.id for row in rows if deliver(Ended(row, final_event(row)), publish=publish, pool=pool)]
    if delivered:
        log.warning("delivered %s owed final events: %s", len(delivered), ", ".join(delivered))
    return delivered
