from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from posegen.contracts import API_PREFIX
from posegen_gateway.deps import AdminDep, ConnDep, UserDep
from posegen_gateway.errors import error_responses
from posegen_gateway.idempotency import REPLAYED, Idempotency, KeyHeader
from posegen_gateway.schemas.credits import CreditGrant, CreditGrantResult, Credits
from posegen_gateway.serving import credits

router = APIRouter(prefix=API_PREFIX, tags=["credits"], responses=error_responses())


@router.get("/credits", response_model=Credits)
def get_credits(user: UserDep, conn: ConnDep) -> Credits:
    return credits.get_credits(conn=conn, user_id=user.user_id)


@router.post("/admin/users/{user_id}/credits", response_model=CreditGrantResult, responses=error_responses(403, 422))
def grant_credits(
    admin: AdminDep,
    conn: ConnDep,
    user_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9._:@-]{1,128}$")],
    body: CreditGrant,
    response: Response,
    key: KeyHeader = None,
) -> CreditGrantResult:
    """With an ``Idempotency-Key``, a retry (a double click) within 24 hours gets the first answer and grants
    nothing again."""
    request = {"userId": user_id, **body.model_dump(mode="json")}
    idempotency = Idempotency.of(key, user_id=admin.user_id, route="grant_credits", request=request)
    result, replayed = credits.grant_credits(
        conn=conn, admin_id=admin.user_id, user_id=user_id, body=body, idempotency=idempotency
    )
    if replayed:
        response.headers.update(REPLAYED)
    return result
