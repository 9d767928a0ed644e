"""Configuration: one settings object per process, built at start-up, never at import time (every variable
is listed in .env.example; choices are in docs/decisions.md).

Each service builds the class it needs with :func:`load_settings`; a missing or malformed value stops the
process with one line that names the environment variable.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import socket
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Literal, NamedTuple, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_RATE = re.compile(r"^\s*(\d+)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*$", re.IGNORECASE)
_RATE_WINDOWS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


class RateLimit(NamedTuple):
    """A count per window, written ``5/min`` (a bare number means per minute)."""

    count: int
    window_seconds: int

    @classmethod
    def parse(cls, value: object) -> RateLimit | object:
        if not isinstance(value, str | int):
            return value
        match = _RATE.match(str(value))
        if not match or int(match.group(1)) < 1:
            raise ValueError("expected a positive count per window, like '5/min', '10/s' or '100/hour'")
        unit = (match.group(2) or "min").lower()
        return cls(int(match.group(1)), _RATE_WINDOWS[unit])


def _url(schemes: tuple[str, ...], message: str, *, optional: bool = False) -> AfterValidator:
    """A URL starting with one of ``schemes`` (or, when ``optional``, empty); ``message`` says which."""

    def check(value: str) -> str:
        if (value or not optional) and not value.startswith(schemes):
            raise ValueError(message)
        return value

    return AfterValidator(check)


_HTTP = (("http://", "https://"), "must be an http:// or https:// URL")
_NO_TRAILING_SLASH = AfterValidator(lambda url: url.rstrip("/"))
PostgresUrl = Annotated[str, _url(("postgresql://", "postgres://"), "must be a postgresql:// URL")]
RedisUrl = Annotated[str, _url(("redis://", "rediss://", "unix://"), "must be a redis://, rediss:// or unix:// URL")]
HttpUrl = Annotated[str, _url(*_HTTP), _NO_TRAILING_SLASH]
OptionalHttpUrl = Annotated[str, _url(*_HTTP, optional=True), _NO_TRAILING_SLASH]
Port = Annotated[int, Field(ge=1, le=65535)]


LogFormat = Literal["json", "text"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
JwtAlgorithm = Literal["HS256", "HS384", "HS512"]
TorchDevice = Literal["auto", "cuda", "cpu"]
TorchDtype = Literal["auto", "float16", "bfloat16", "float32"]


class CommonSettings(BaseSettings):
    """What every process needs: where PostgreSQL and Redis are, and how to log."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore")

    database_url: PostgresUrl = "postgresql://postgres@127.0.0.1:5432/posegen"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    redis_url: RedisUrl = "redis://127.0.0.1:6379/0"
    storage_backend: Literal["local", "s3"] = "local"
    """Where images live: ``local`` (files under ``STORAGE_DIR``) or ``s3`` (a bucket; docs/deployment.md)."""
    storage_dir: str = "var/storage"
    s3_endpoint_url: OptionalHttpUrl = ""
    """Empty: AWS S3. Otherwise the S3-compatible endpoint (GCS interoperability, R2, MinIO, SeaweedFS)."""
    s3_public_endpoint_url: OptionalHttpUrl = ""
    """The endpoint browsers reach, when it differs from ``S3_ENDPOINT_URL`` (presigned URLs name it)."""
    s3_bucket: str = Field(default="", pattern=r"^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    s3_region: str = "us-east-1"
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    aws_access_key_id: str = ""
    """Empty: boto3's usual chain (environment, shared files, web identity, instance or pod role)."""
    aws_secret_access_key: SecretStr | None = None
    log_format: LogFormat = "text"
    log_level: Annotated[LogLevel, BeforeValidator(lambda level: str(level).upper())] = "INFO"

    @model_validator(mode="after")
    def _bucket_for_s3(self) -> CommonSettings:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("S3_BUCKET is required when STORAGE_BACKEND=s3")
        return self


class AuthSettings(CommonSettings):
    """Processes that verify or mint tokens."""

    jwt_secret: SecretStr
    jwt_algorithm: JwtAlgorithm = "HS256"

    @model_validator(mode="after")
    def _key_as_long_as_the_hash(self) -> AuthSettings:
        minimum = {"HS256": 32, "HS384": 48, "HS512": 64}[self.jwt_algorithm]
        secret = self.jwt_secret.get_secret_value()
        if len(secret) < minimum:
            raise ValueError(
                f"JWT_SECRET must be at least {minimum} characters for {self.jwt_algorithm} "
                f"(an HMAC key shorter than its hash is weak); {_MAKE_A_SECRET}"
            )
        if _PLACEHOLDER.search(secret):
            raise ValueError(
                f"JWT_SECRET is a placeholder (anyone who read the examples can sign tokens); {_MAKE_A_SECRET}"
            )
        if (bits := _estimated_bits(secret)) < MIN_SECRET_BITS:
            raise ValueError(
                f"JWT_SECRET has too little entropy (about {bits:.0f} bits estimated from its characters, "
                f"{MIN_SECRET_BITS} needed); {_MAKE_A_SECRET}"
            )
        return self


_MAKE_A_SECRET = (
    'make one with `python -c "import secrets; print(secrets.token_urlsafe(48))"` or `openssl rand -base64 48`'
)
_PLACEHOLDER = re.compile(
    r"change[-_ .]?(me|this|it)|replace[-_ .]?(me|this)|example|placeholder|secret|password|dummy|default",
    re.IGNORECASE,
)
MIN_SECRET_BITS = 80
"""The least entropy, estimated from the secret's characters (Shannon entropy times length), that
``JWT_SECRET`` may have: a random 32-character hex key estimates about 120 bits, ``"x" * 40`` zero."""


def _estimated_bits(text: str) -> float:
    return -sum(n * math.log2(n / len(text)) for n in Counter(text).values())


class GatewaySettings(AuthSettings):
    gateway_host: str = "0.0.0.0"
    gateway_port: Port = 3000
    gateway_workers: int = Field(default=1, ge=1, le=64)
    gateway_metrics_port: int = Field(default=9102, ge=0, le=65535, description="0 picks a free port")
    """Prometheus' /metrics, apart from GATEWAY_PORT so that no edge routes it to the public."""
    cors_origin: str = "*"
    public_base_url: HttpUrl = "http://localhost:3000"
    credits_per_pose: int = Field(default=30, ge=0)
    starting_credits: int = Field(default=0, ge=0)
    generate_rate_limit: Annotated[RateLimit, NoDecode, BeforeValidator(RateLimit.parse)] = RateLimit(5, 60)
    extract_rate_limit: Annotated[RateLimit, NoDecode, BeforeValidator(RateLimit.parse)] = RateLimit(20, 60)
    """Photos a user may send for pose extraction (``POST /poses/extract``, pose requests with a photo)."""
    project_rate_limit: Annotated[RateLimit, NoDecode, BeforeValidator(RateLimit.parse)] = RateLimit(30, 60)
    """Projects a user may create (``POST /projects``)."""
    upload_rate_limit: Annotated[RateLimit, NoDecode, BeforeValidator(RateLimit.parse)] = RateLimit(20, 60)
    """Avatar files a user may upload (``POST /projects/{id}/avatar`` with multipart)."""
    pose_request_rate_limit: Annotated[RateLimit, NoDecode, BeforeValidator(RateLimit.parse)] = RateLimit(10, 60)
    """Pose requests a user may send (``POST /pose-requests``, JSON or multipart)."""
    export_rate_limit: Annotated[RateLimit, NoDecode, BeforeValidator(RateLimit.parse)] = RateLimit(60, 60)
    """Exports a user may download (one image in one format, or a generation's ZIP)."""
    gateway_image_memory_bytes: int = Field(default=384 * 2**20, ge=32 * 2**20)
    """What image decodes and export renditions may reserve at once in one gateway process (each its estimate,
    before it starts); sized for a 1 GiB container with one uvicorn worker (docs/operations.md)."""
    gateway_image_memory_wait_seconds: float = Field(default=10.0, ge=0, le=60)
    """How long a decode or rendition waits for room in the budget before the request gets 503."""
    avatar_url_hosts: str = ""
    avatar_fetch_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """One deadline for fetching an avatar URL: connecting, every redirect and the whole body."""
    avatar_fetch_rate_limit: Annotated[RateLimit, NoDecode, BeforeValidator(RateLimit.parse)] = RateLimit(10, 60)
    """Avatar URLs a user may have the gateway fetch (``avatarImageUrl``, ``POST /projects/{id}/avatar``)."""
    relay_public_url: str = ""
    identity_strength: float = Field(default=0.6, ge=0.0, le=1.0)
    """``identityStrength`` when a request leaves it out and the project has an avatar."""
    gateway_serve_relay: bool = False
    """Also serve the relay's path (both protocols) on the gateway's port, from a relay in the gateway's
    process: what ``posegen run`` does, so that one address serves everything without an edge."""

    @model_validator(mode="after")
    def _one_process_serves_the_relay(self) -> GatewaySettings:
        if self.gateway_serve_relay and self.gateway_workers > 1:
            raise ValueError(
                "GATEWAY_SERVE_RELAY needs GATEWAY_WORKERS=1: a Socket.IO long-polling session must reach the "
                "process that holds it"
            )
        return self

    @property
    def avatar_hosts(self) -> tuple[str, ...]:
        """Host names (and their sub-domains) avatar URLs may point at; empty means any public host."""
        return tuple(h.strip().lower().lstrip(".") for h in self.avatar_url_hosts.split(",") if h.strip())


class RelaySettings(AuthSettings):
    relay_host: str = "0.0.0.0"
    relay_port: Port = 3001
    cors_origin: str = "*"
    relay_max_connections: int = Field(default=10_000, ge=1)
    """Authenticated connections, both protocols together; connections still authenticating are not counted."""
    relay_max_unauthenticated: int | None = Field(default=None, ge=1)
    """Connections that have not authenticated yet (both protocols); past it the oldest of them is closed.
    Unset: a tenth of ``RELAY_MAX_CONNECTIONS`` (at least 1)."""
    relay_auth_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """How long a connection may take to authenticate before it is closed."""
    relay_max_connections_per_user: int = Field(default=20, ge=1)
    relay_max_message_bytes: int = Field(default=65_536, ge=1024)
    relay_max_messages_per_second: float = Field(default=10.0, gt=0)
    relay_queue_size: int = Field(default=256, ge=8)
    relay_ping_interval: float = Field(default=20.0, gt=0)
    relay_ping_timeout: float = Field(default=20.0, gt=0)

    @property
    def max_unauthenticated(self) -> int:
        return self.relay_max_unauthenticated or max(1, self.relay_max_connections // 10)

    @property
    def allowed_origins(self) -> list[str] | None:
        """Browser origins the relay accepts (None: any); clients that send no Origin are always accepted."""
        origins = [o.strip() for o in self.cors_origin.split(",") if o.strip()]
        return None if not origins or "*" in origins else origins


def _default_worker_name() -> str:
    """Unique among processes that share a host name and a pid: containers on the host's network all carry the
    host's name, and each is pid 1 in its own namespace."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class ModelStoreSettings(CommonSettings):
    """Where ``posegen models`` puts what it downloads or builds."""

    model_dir: str = "var/models"


class StorageRetrySettings(CommonSettings):
    """Processes that ride out an object-store outage in the middle of a job (the worker, the extractor)."""

    storage_retry_deadline_seconds: float = Field(default=60.0, gt=0, le=3600)
    """How long storage calls are retried through one outage, from its first failure; past it an image that
    cannot be stored fails and is refunded. A SIGTERM cuts the retries short (docs/reliability.md)."""


class WorkerSettings(AuthSettings, ModelStoreSettings, StorageRetrySettings):
    """The worker signs the image URLs of its events, so it shares ``JWT_SECRET`` with the gateway."""

    worker_name: str = Field(default_factory=_default_worker_name, min_length=1, max_length=200)
    worker_batch_size: int = Field(default=1, ge=1, le=64)
    worker_metrics_host: str = "0.0.0.0"
    worker_metrics_port: int = Field(default=9100, ge=0, le=65535, description="0 picks a free port")
    worker_metrics_port_file: Path | None = Field(
        default=None, description="the port the metrics server bound is written here (for its health check)"
    )
    worker_preview_every: int = Field(default=5, ge=0, le=1000)
    worker_lease_seconds: int = Field(default=30, ge=2, le=3600)
    worker_max_recoveries: int = Field(default=3, ge=0, le=100)
    worker_torch_compile: bool = False
    worker_compile_mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = (
        "max-autotune-no-cudagraphs"
    )
    worker_channels_last: bool = False
    model_base: str = ""
    model_controlnet: str = ""
    ip_adapter: str = ""
    """Hub id or folder of the identity adapter; empty: the one built with the offline model; ``none``: off."""
    ip_adapter_subfolder: str = "models"
    ip_adapter_weight_name: str = Field(
        default="ip-adapter-plus-face_sd15.safetensors", pattern=r"^[^/\\]+\.(safetensors|bin)$"
    )
    ip_adapter_image_encoder: str = ""
    """Hub id or folder of its CLIP vision encoder; empty: ``<IP_ADAPTER>/<subfolder>/image_encoder``."""
    torch_device: TorchDevice = "auto"
    torch_dtype: TorchDtype = "auto"
    public_base_url: HttpUrl = "http://localhost:3000"


class ExtractorSettings(AuthSettings, StorageRetrySettings):
    """``posegen extractor``: pose extraction from photos, on the CPU, without the diffusion pipeline. It signs
    the preview URLs of its events, so it shares ``JWT_SECRET`` with the gateway."""

    extractor_name: str = Field(default_factory=_default_worker_name, min_length=1, max_length=200)
    extractor_metrics_host: str = "0.0.0.0"
    extractor_metrics_port: int = Field(default=9101, ge=0, le=65535, description="0 picks a free port")
    public_base_url: HttpUrl = "http://localhost:3000"


S = TypeVar("S", bound=BaseSettings)


def describe_error(error: ValidationError) -> str:
    """One line naming the first offending variable, e.g. ``DATABASE_URL: must be a postgresql:// URL``."""
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    if first["loc"]:
        variable = str(first["loc"][0]).upper()
    else:
        variable, _, message = message.partition(" ")
    if first["type"] == "missing":
        message = "is required but not set"
    return f"{variable}: {message}"


def load_settings(cls: type[S], **overrides: object) -> S:
    """Build ``cls`` from the environment; on a bad value print one line naming it and exit(2)."""
    try:
        return cls(**overrides)
    except ValidationError as error:
        print(f"configuration error: {describe_error(error)}", file=sys.stderr)
        raise SystemExit(2) from None
