from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from posegen_gateway.schemas.common import ApiModel, Int, RequestModel


class LedgerEntry(ApiModel):
    id: int
    amount: int
    balance: int
    type: Literal["grant", "usage", "refund"]
    reference_type: str
    reference_id: str
    description: str | None
    created_at: datetime


class Credits(ApiModel):
    balance: int
    ledger: list[LedgerEntry]


class CreditGrant(RequestModel):
    amount: Int = Field(ge=1, le=10_000_000)
    reason: str | None = Field(default=None, max_length=200)


class CreditGrantResult(ApiModel):
    user_id: str
    granted: int
    balance: int
