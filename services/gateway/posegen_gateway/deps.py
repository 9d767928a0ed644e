"""Dependency aliases for the routers: the context, a database connection, the authenticated user.

The context and the user are ``async`` dependencies: they do no blocking I/O on the common path (a token
is verified in memory, a known user is not looked up again), so they cost no hop to the thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request, Response
from psycopg import Connection
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from posegen.auth import AuthError, Principal, bearer_token, decode_token
from posegen.db.users import ensure_user
from posegen.errors import Forbidden, Unauthorized
from posegen_gateway.context import GatewayContext

T = TypeVar("T")
IdPath = Annotated[str, Path(min_length=1, max_length=64)]
"""A path parameter that is an id (of a generation, result, project, pose, pose request or extraction)."""


async def get_context(request: Request) -> GatewayContext:
    return request.app.state.context


ContextDep = Annotated[GatewayContext, Depends(get_context)]


def get_connection(ctx: ContextDep) -> Iterator[Connection]:
    """A pooled autocommit connection; handlers group writes with ``conn.transaction()``."""
    with ctx.pool.connection() as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(get_connection)]


async def with_connection(ctx: GatewayContext, function: Callable[..., T], /, **kwargs: object) -> T:
    """Run ``function(conn=..., **kwargs)`` on a pooled connection in one hop to the thread pool (the hot
    routes use this instead of ``ConnDep``, which costs a hop of its own)."""

    def call() -> T:
        with ctx.pool.connection() as conn:
            return function(conn=conn, **kwargs)

    return await run_in_threadpool(call)


async def current_user(request: Request, ctx: ContextDep) -> Principal:
    try:
        token = bearer_token(request.headers.get("Authorization"))
        principal = decode_token(
            token, secret=ctx.settings.jwt_secret.get_secret_value(), algorithm=ctx.settings.jwt_algorithm
        )
    except AuthError as error:
        raise Unauthorized(error.reason, headers={"WWW-Authenticate": "Bearer"}) from None
    if ctx.known_users.get(principal.user_id) is None:
        await with_connection(
            ctx,
            ensure_user,
            user_id=principal.user_id,
            role=principal.role,
            email=principal.email,
            starting_credits=ctx.settings.starting_credits,
        )
        ctx.known_users.put(principal.user_id, True)
    return principal


UserDep = Annotated[Principal, Depends(current_user)]


async def admin_user(user: UserDep) -> Principal:
    if not user.is_admin:
        raise Forbidden("this route needs role 'admin'")
    return user


AdminDep = Annotated[Principal, Depends(admin_user)]


def rate_limited(name: str) -> Depends:
    """A route dependency that counts the request against the user's limit ``name`` (``ratelimit.USER_LIMITS``):
    429 with ``Retry-After`` when it is spent, before the route reads an upload or takes a connection."""

    async def enforce(user: UserDep, ctx: ContextDep) -> None:
        await run_in_threadpool(ctx.user_limits.enforce, name, user.user_id)

    return Depends(enforce)


def json_response(model: BaseModel, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise a response model once (FastAPI would validate it again against ``response_model``)."""
    return Response(model.model_dump_json(by_alias=True), status_code, headers, media_type="application/json")
