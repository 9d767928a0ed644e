"""Dependency aliases for the routers: the context, a database connection, the authenticated user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from psycopg import Connection

from posegen.auth import AuthError, Principal, bearer_token, decode_token
from posegen.db.users import ensure_user
from posegen.errors import Forbidden, Unauthorized
from posegen_gateway.context import GatewayContext


def get_context(request: Request) -> GatewayContext:
    return request.app.state.context


ContextDep = Annotated[GatewayContext, Depends(get_context)]


def get_connection(ctx: ContextDep) -> Iterator[Connection]:
    """A pooled autocommit connection; handlers group writes with ``conn.transaction()``."""
    with ctx.pool.connection() as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(get_connection)]


def current_user(request: Request, ctx: ContextDep) -> Principal:
    try:
        token = bearer_token(request.headers.get("Authorization"))
        principal = decode_token(
            token, secret=ctx.settings.jwt_secret.get_secret_value(), algorithm=ctx.settings.jwt_algorithm
        )
    except AuthError as error:
        raise Unauthorized(error.reason, headers={"WWW-Authenticate": "Bearer"}) from None
    if principal.user_id not in ctx.known_users:
        with ctx.pool.connection() as conn:
            ensure_user(
                conn=conn,
                user_id=principal.user_id,
                role=principal.role,
                email=principal.email,
                starting_credits=ctx.settings.starting_credits,
            )
        ctx.known_users.add(principal.user_id)
    return principal


UserDep = Annotated[Principal, Depends(current_user)]


def admin_user(user: UserDep) -> Principal:
    if not user.is_admin:
        raise Forbidden("this route needs role 'admin'")
    return user


AdminDep = Annotated[Principal, Depends(admin_user)]
