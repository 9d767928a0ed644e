from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

MAX_PAGE_SIZE = 100


def _not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "Input should be a number, not true or false")
    return value


# Numbers in request bodies: pydantic takes JSON's true for 1, which JSON Schema does not (schemathesis found
# a credit grant of `true`); 832.0 stays an integer, as JSON Schema says.
NotBoolean = BeforeValidator(_not_a_boolean)
Int = Annotated[int, NotBoolean]
Float = Annotated[float, NotBoolean]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)

    @classmethod
    def from_row(cls, row: object, **computed: object) -> Self:
        """The model from the (typed) row's attributes of the same names, and ``computed`` for the rest."""
        fields = {name: getattr(row, name) for name in cls.model_fields if hasattr(row, name)}
        return cls.model_validate({**fields, **computed})


class RequestModel(ApiModel):
    """Request bodies refuse unknown fields, so a typo is an error instead of being ignored, and text with
    NUL characters, which PostgreSQL cannot store."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    @model_validator(mode="after")
    def _no_nul_characters(self) -> RequestModel:
        for name, value in self.__dict__.items():
            values = value if isinstance(value, list) else [value]
            if any(isinstance(item, str) and "\x00" in item for item in values):
                raise ValueError(f"{to_camel(name)} must not contain NUL characters")
        return self


class ErrorBody(ApiModel):
    message: str
    code: str
    status_code: int
    field: str | None = None
    details: dict | None = None


class ErrorEnvelope(ApiModel):
    success: Literal[False] = False
    error: ErrorBody
    timestamp: datetime


class Pagination(ApiModel):
    page: int
    limit: int
    total: int
    total_pages: int
    has_more: bool


T = TypeVar("T")


class Page(ApiModel, Generic[T]):
    items: list[T]
    pagination: Pagination

    @classmethod
    def of(cls, items: list, query: PageQuery, total: int) -> Self:
        """One page of ``total`` items, as ``query`` asked for it."""
        page, limit = query.page, query.capped_limit
        pagination = Pagination(
            page=page, limit=limit, total=total, total_pages=math.ceil(total / limit), has_more=page * limit < total
        )
        return cls(items=items, pagination=pagination)


class PageQuery(ApiModel):
    page: int = Field(default=1, ge=1, le=100_000)
    limit: int = Field(default=20, ge=1, description=f"items per page; values above {MAX_PAGE_SIZE} are capped")

    @property
    def capped_limit(self) -> int:
        return min(self.limit, MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.capped_limit
