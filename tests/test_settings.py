import base64
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from posegen.settings import (
    AuthSettings,
    CommonSettings,
    ExtractorSettings,
    GatewaySettings,
    RateLimit,
    RelaySettings,
    WorkerSettings,
    describe_error,
)

REPO = Path(__file__).resolve().parent.parent
SECRET = "n5Qe7vKz2LmW9pXr4TjH8yBc1FdS6aUo3GiNwYkZ0EbV"


def build(cls, **env):
    return cls(_env_file=None, **env)


def error_line(cls, **values) -> str:
    with pytest.raises(ValidationError) as caught:
        build(cls, **values)
    return describe_error(caught.value)


def test_defaults_match_spec():
    settings = build(GatewaySettings, jwt_secret=SECRET)
    assert settings.gateway_port == 3000
    assert settings.credits_per_pose == 30
    assert settings.starting_credits == 0
    assert settings.generate_rate_limit == RateLimit(5, 60)
    assert settings.jwt_algorithm == "HS256"
    relay = build(RelaySettings, jwt_secret=SECRET)
    assert (relay.relay_port, relay.max_unauthenticated, relay.relay_auth_timeout_seconds) == (3001, 1000, 5.0)
    assert build(RelaySettings, jwt_secret=SECRET, relay_max_connections=5).max_unauthenticated == 1
    assert build(RelaySettings, jwt_secret=SECRET, relay_max_unauthenticated=7).max_unauthenticated == 7
    worker = build(WorkerSettings, jwt_secret=SECRET)
    assert worker.worker_metrics_port == 9100
    assert worker.torch_device == "auto"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5/min", (5, 60)),
        ("10/s", (10, 1)),
        ("100 / hour", (100, 3600)),
        ("7", (7, 60)),
        ("3/minute", (3, 60)),
    ],
)
def test_rate_limit_forms(text, expected):
    assert RateLimit.parse(text) == RateLimit(*expected)


@pytest.mark.parametrize(
    ("cls", "values", "variable"),
    [
        (CommonSettings, {"database_url": "mysql://x"}, "DATABASE_URL"),
        (CommonSettings, {"redis_url": "http://x"}, "REDIS_URL"),
        (CommonSettings, {"log_format": "xml"}, "LOG_FORMAT"),
        (AuthSettings, {}, "JWT_SECRET"),
        (AuthSettings, {"jwt_secret": "short"}, "JWT_SECRET"),
        (AuthSettings, {"jwt_secret": SECRET, "jwt_algorithm": "none"}, "JWT_ALGORITHM"),
        (AuthSettings, {"jwt_secret": SECRET, "jwt_algorithm": "HS512"}, "JWT_SECRET"),
        (GatewaySettings, {"jwt_secret": SECRET, "generate_rate_limit": "0/min"}, "GENERATE_RATE_LIMIT"),
        (GatewaySettings, {"jwt_secret": SECRET, "credits_per_pose": -1}, "CREDITS_PER_POSE"),
        (GatewaySettings, {"jwt_secret": SECRET, "public_base_url": "ftp://x"}, "PUBLIC_BASE_URL"),
        (
            GatewaySettings,
            {"jwt_secret": SECRET, "gateway_serve_relay": True, "gateway_workers": 2},
            "GATEWAY_SERVE_RELAY",
        ),
        (WorkerSettings, {"jwt_secret": SECRET, "worker_batch_size": 0}, "WORKER_BATCH_SIZE"),
        (WorkerSettings, {"jwt_secret": SECRET, "torch_device": "tpu"}, "TORCH_DEVICE"),
        (WorkerSettings, {"jwt_secret": SECRET, "torch_dtype": "int8"}, "TORCH_DTYPE"),
    ],
)
def test_bad_value_names_the_variable(cls, values, variable):
    assert error_line(cls, **values).startswith(f"{variable}: ")


def test_process_stops_with_one_line_naming_the_variable(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "not-a-url"}
    result = subprocess.run(
        [sys.executable, "-m", "posegen_cli", "migrate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["configuration error: DATABASE_URL: must be a postgresql:// URL"]


def _example_secrets() -> list[str]:
    """Every JWT_SECRET the repository ships as an example."""
    found = re.findall(r"^JWT_SECRET=(.+)$", (REPO / ".env.example").read_text(), re.MULTILINE)
    found += re.findall(r"^JWT_SECRET=(.+)$", (REPO / "deploy/systemd/posegen.env.example").read_text(), re.MULTILINE)
    for example in sorted(REPO.glob("k8s/overlays/*/secret.example.yaml")):
        found += re.findall(r"^\s*JWT_SECRET:\s*\"?([^\"\n]+)\"?\s*$", example.read_text(), re.MULTILINE)
    assert len(found) >= 3
    return found


AUTH_CLASSES = (GatewaySettings, RelaySettings, WorkerSettings, ExtractorSettings)


@pytest.mark.parametrize(
    "secret",
    [
        *_example_secrets(),
        "x" * 40,
        "test-secret-" + "x" * 40,
        "ab" * 24,
        "please-changeme-0123456789-0123456789-0123",
        "Replace_Me_With_Something_Long_And_Random_1234",
        "this-is-my-very-own-secret-value-for-jwt-signing",
    ],
)
@pytest.mark.parametrize("cls", AUTH_CLASSES)
def test_a_placeholder_or_low_entropy_jwt_secret_is_refused_saying_how_to_make_one(cls, secret):
    line = error_line(cls, jwt_secret=secret)
    assert line.startswith("JWT_SECRET: ")
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in line
    assert "openssl rand -base64 48" in line


@pytest.mark.parametrize("cls", AUTH_CLASSES)
def test_random_jwt_secrets_are_accepted(cls):
    for _ in range(200):
        for secret in (secrets.token_urlsafe(32), secrets.token_urlsafe(48), secrets.token_hex(16)):
            assert build(cls, jwt_secret=secret).jwt_secret.get_secret_value() == secret
        assert build(cls, jwt_secret=base64.b64encode(os.urandom(48)).decode())
    assert build(cls, jwt_secret=secrets.token_urlsafe(48), jwt_algorithm="HS512")


def test_make_run_writes_a_secret_that_every_service_accepts(tmp_path, monkeypatch):
    from posegen_cli import localrun

    monkeypatch.delenv("JWT_SECRET", raising=False)
    assert localrun.ensure_env_file(tmp_path / ".env", REPO / ".env.example")
    for cls in AUTH_CLASSES:
        assert cls(_env_file=tmp_path / ".env").jwt_secret.get_secret_value() not in _example_secrets()


@pytest.mark.parametrize("command", ["relay", "gateway"])
def test_the_gateway_and_relay_refuse_to_start_with_the_example_secret(tmp_path, command):
    env = {"PATH": "/usr/bin:/bin", "JWT_SECRET": _example_secrets()[0], "RELAY_PORT": "1", "GATEWAY_PORT": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "posegen_cli", command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("configuration error: JWT_SECRET: ")
    assert "openssl rand -base64 48" in result.stderr


def test_empty_values_fall_back_to_defaults(monkeypatch):
    monkeypatch.setenv("WORKER_NAME", "")
    monkeypatch.setenv("MODEL_BASE", "")
    settings = build(WorkerSettings, jwt_secret=SECRET)
    assert settings.worker_name
    assert settings.model_base == ""


def test_env_example_documents_every_setting():
    documented = {
        line.split("=", 1)[0]
        for line in (REPO / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    fields = set()
    for cls in (GatewaySettings, RelaySettings, WorkerSettings, ExtractorSettings):
        fields |= {name.upper() for name in cls.model_fields}
    assert fields <= documented, f"undocumented: {sorted(fields - documented)}"
    assert documented <= fields, f"documented but unknown: {sorted(documented - fields)}"


def test_s3_backend_needs_a_bucket():
    assert error_line(CommonSettings, storage_backend="s3") == "S3_BUCKET: is required when STORAGE_BACKEND=s3"
    assert error_line(CommonSettings, storage_backend="gcs").startswith("STORAGE_BACKEND:")
    assert error_line(CommonSettings, storage_backend="s3", s3_bucket="Bad_Bucket").startswith("S3_BUCKET:")
    assert error_line(CommonSettings, s3_endpoint_url="minio:9000").startswith("S3_ENDPOINT_URL:")
    settings = build(CommonSettings, storage_backend="s3", s3_bucket="posegen-images")
    assert settings.s3_region == "us-east-1" and settings.s3_addressing_style == "auto"
