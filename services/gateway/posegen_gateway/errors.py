"""Every error leaves as the envelope of docs/api.md: ``{success: false, error: {...}, timestamp}``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolClosed, PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from posegen.errors import ApiError
from posegen.storage import StorageMisconfigured, StorageUnavailable
from posegen_gateway.schemas.common import ErrorBody, ErrorEnvelope

log = logging.getLogger("posegen.gateway")

# Starlette's own errors (no route, a wrong method, a body it cannot parse) get the code an ApiError of the same
# status has.
_HTTP_CODES = {error.status_code: error.code for error in ApiError.__subclasses__()} | {
    405: "method_not_allowed",
    406: "not_acceptable",
    500: "internal_error",
}


def envelope(
    status: int,
    message: str,
    code: str,
    *,
    field: str | None = None,
    details: dict | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorEnvelope(
        error=ErrorBody(message=message, code=code, status_code=status, field=field, details=details or None),
        timestamp=datetime.now(UTC),
    )
    return JSONResponse(body.model_dump(mode="json", by_alias=True, exclude_none=True), status, headers=headers)


_SENT_IN = ("body", "query", "path", "header")


def _union_member(part: object) -> bool:
    """A step pydantic adds to an error's path for the member of a union (``X | None``) that refused the value,
    such as ``function-after[_trimmed(), constrained-str]``, ``list[...]`` or ``none``: not part of the field."""
    return isinstance(part, str) and (part in ("none", "str", "int", "float", "bool") or any(c in part for c in "[(-"))


def _problem(problem: dict) -> dict:
    """A validation problem as ``details.errors`` lists it: the field's dotted path (without where it was sent,
    nor the union member pydantic tried)."""
    path = [part for part in problem.get("loc", ()) if part not in _SENT_IN]
    path = path[:1] + [part for part in path[1:] if not _union_member(part)]
    message = str(problem.get("msg", "")).removeprefix("Value error, ")
    return {"field": ".".join(map(str, path)) or None, "message": message}


def _problems(errors: list[dict]) -> list[dict]:
    """The problems to report; a null-accepting field's "Input should be None" goes when the field has another."""
    problems = [(error.get("type") == "none_required", _problem(error)) for error in errors]
    named = {problem["field"] for is_none, problem in problems if not is_none}
    return [problem for is_none, problem in problems if not (is_none and problem["field"] in named)][:20]


async def on_api_error(_request: Request, error: ApiError) -> JSONResponse:
    return envelope(
        error.status_code,
        error.message,
        error.code,
        field=error.field,
        details=error.details,
        headers=error.headers,
    )


async def on_validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    problems = _problems(error.errors())
    field, message = (problems[0]["field"], problems[0]["message"]) if problems else (None, "invalid request")
    message = f"{field}: {message}" if field else message
    return envelope(422, message, "validation_error", field=field, details={"errors": problems})


async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    message = error.detail if isinstance(error.detail, str) else "request failed"
    headers = getattr(error, "headers", None)
    if error.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return envelope(error.status_code, message, _HTTP_CODES.get(error.status_code, "error"), headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette's 405 names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods - {"HEAD"}
    return sorted(methods)


def _unavailable(what: str, message: str):
    """A handler answering 503 with ``message`` (and logging which dependency, ``what``, failed)."""

    async def on_unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("%s unavailable on %s %s: %s", what, request.method, request.url.path, error)
        return envelope(503, message, "service_unavailable", headers={"Retry-After": "5"})

    return on_unavailable


# PostgreSQL unreachable (or the pool exhausted): nothing is half-written, since every write that belongs together
# is one transaction.
on_dependency_down = _unavailable("database", "the database is unavailable; nothing was changed, try again shortly")
# The image storage unreachable (or refusing us): what was written before the failed write is not recorded, so
# nothing points at a missing object.
on_storage_down = _unavailable("storage", "the image storage is unavailable; try again shortly")


async def on_unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return envelope(500, "internal server error", "internal_error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for dependency_error in (psycopg.OperationalError, psycopg.errors.AdminShutdown, PoolTimeout, PoolClosed):
        app.add_exception_handler(dependency_error, on_dependency_down)
    for storage_error in (StorageUnavailable, StorageMisconfigured):
        app.add_exception_handler(storage_error, on_storage_down)
    app.add_exception_handler(Exception, on_unexpected_error)


_DESCRIPTIONS = {
    400: "bad request",
    401: "missing, malformed, expired or wrongly signed token",
    402: "not enough credits",
    403: "forbidden",
    404: "not found, or not the caller's",
    409: "conflicts with the state",
    413: "upload too large",
    415: "not an accepted image type",
    422: "the request does not validate",
    429: "rate limit exceeded",
    500: "the server failed",
    503: "PostgreSQL, Redis or the image storage is unavailable; nothing was changed",
    504: "the work did not finish in time",
}
_ALWAYS = (401, 404, 422, 503)


def error_responses(*statuses: int, auth: bool = True) -> dict:
    """OpenAPI ``responses`` entries for routes that can answer these statuses with the envelope (and those
    every route can: 401 unless ``auth`` is False, 404, 422, 503)."""
    always = [status for status in _ALWAYS if auth or status != 401]
    return {status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[status]} for status in (*always, *statuses)}
