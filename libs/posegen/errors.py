"""Errors the serving layer raises; the gateway turns each into the error envelope with its status."""

from __future__ import annotations


class ApiError(Exception):
    """A subclass names its HTTP status and envelope code: ``class NotFound(ApiError, status_code=404, ...)``."""

    status_code = 400
    code = "bad_request"

    def __init_subclass__(cls, *, status_code: int | None = None, code: str = "") -> None:
        super().__init_subclass__()
        if status_code is not None:
            cls.status_code, cls.code = status_code, code

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        details: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}
        self.headers = headers or {}


class BadRequest(ApiError): ...


class Unauthorized(ApiError, status_code=401, code="unauthorized"): ...


class Forbidden(ApiError, status_code=403, code="forbidden"): ...


class NotFound(ApiError, status_code=404, code="not_found"): ...


class Conflict(ApiError, status_code=409, code="conflict"): ...


class UnprocessableEntity(ApiError, status_code=422, code="validation_error"): ...


class PayloadTooLarge(ApiError, status_code=413, code="payload_too_large"): ...


class UnsupportedMediaType(ApiError, status_code=415, code="unsupported_media_type"): ...


class InsufficientCredits(ApiError, status_code=402, code="insufficient_credits"):
    def __init__(self, *, required: int, balance: int) -> None:
        super().__init__(
            f"this generation costs {required} credits; the balance is {balance}",
            details={"required": required, "balance": balance},
        )


class RateLimited(ApiError, status_code=429, code="rate_limited"): ...


class ServiceUnavailable(ApiError, status_code=503, code="service_unavailable"): ...


class IdempotencyKeyReused(ApiError, status_code=422, code="idempotency_key_reused"): ...
