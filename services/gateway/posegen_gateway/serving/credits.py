from __future__ import annotations

import uuid

from psycopg import Connection

from posegen.db import credits as credits_db
from posegen.db.users import ensure_user
from posegen_gateway.idempotency import Idempotency, run_once
from posegen_gateway.schemas.credits import CreditGrant, CreditGrantResult, Credits

LEDGER_PAGE = 50


def get_credits(*, conn: Connection, user_id: str) -> Credits:
    entries = credits_db.recent_entries(conn=conn, user_id=user_id, limit=LEDGER_PAGE)
    return Credits(balance=credits_db.balance(conn=conn, user_id=user_id), ledger=entries)


def grant_credits(
    *, conn: Connection, admin_id: str, user_id: str, body: CreditGrant, idempotency: Idempotency | None
) -> tuple[CreditGrantResult, bool]:
    """The grant's answer and whether it is the first answer to an ``Idempotency-Key`` seen before."""

    def grant() -> CreditGrantResult:
        ensure_user(conn=conn, user_id=user_id, role="user", email=None, starting_credits=0)
        balance = credits_db.grant(
            conn=conn,
            user_id=user_id,
            amount=body.amount,
            reference_type="admin_grant",
            reference_id=str(uuid.uuid4()),
            description=f"by {admin_id}: {body.reason}" if body.reason else f"by {admin_id}",
        )
        return CreditGrantResult(user_id=user_id, granted=body.amount, balance=balance)

    return run_once(conn, idempotency, CreditGrantResult, 200, grant)
