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
SECRET = "s" * 40


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
    assert build(RelaySettings, jwt_secret=SECRET).relay_port == 3001
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
