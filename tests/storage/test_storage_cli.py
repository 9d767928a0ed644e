"""``posegen storage`` and the services' start-up against a real S3 server (SeaweedFS)."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from posegen.storage import LocalStorage


def posegen(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "posegen_cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def s3_env(service_env, s3_server) -> dict[str, str]:
    return {**service_env, **s3_server.client_env, "S3_BUCKET": f"posegen-cli-{uuid.uuid4().hex[:10]}"}


@pytest.mark.parametrize("service", ["gateway", "worker", "extractor"])
def test_a_missing_bucket_stops_a_service_at_start_up_naming_it(s3_env, service):
    from posegen_cli.localrun import free_port

    started = posegen(
        {
            **s3_env,
            "GATEWAY_PORT": str(free_port()),
            "WORKER_METRICS_PORT": "0",
            "EXTRACTOR_METRICS_PORT": "0",
            "MODEL_BASE": "/nonexistent",
        },
        service,
        timeout=120,
    )
    assert started.returncode == 2, started.stderr[-2000:]
    line = started.stderr.strip().splitlines()[-1]
    assert line.startswith("configuration error: S3 bucket") and s3_env["S3_BUCKET"] in line
    assert "posegen storage init" in line


def test_storage_init_creates_the_bucket_once_and_check_passes(s3_env, s3_server):
    assert posegen(s3_env, "storage", "check").returncode == 1
    first = posegen(s3_env, "storage", "init")
    assert first.returncode == 0 and first.stdout.startswith("created bucket"), first.stderr
    again = posegen(s3_env, "storage", "init")
    assert again.returncode == 0 and again.stdout.startswith("found bucket")
    checked = posegen(s3_env, "storage", "check")
    assert checked.returncode == 0 and s3_env["S3_BUCKET"] in checked.stdout


def test_storage_init_refuses_the_local_backend(service_env):
    refused = posegen(service_env, "storage", "init")
    assert refused.returncode == 1 and "STORAGE_BACKEND" in refused.stderr


def test_migrate_copies_storage_dir_to_the_bucket_and_verifies(s3_env, s3_server, tmp_path):
    source = LocalStorage(tmp_path / "old-storage")
    files = {f"poses/g{i}/v{i}.png": bytes([i]) * (1000 + i) for i in range(30)}
    files["avatars/p1/a.png"] = b"avatar"
    files["extractions/e1/photo.jpg"] = b"photo"
    for key, data in files.items():
        source.write(key, data)
    assert posegen(s3_env, "storage", "init").returncode == 0
    moved = posegen({**s3_env, "STORAGE_DIR": str(source.root)}, "storage", "migrate")
    assert moved.returncode == 0, moved.stderr
    assert f"copied {len(files)} objects" in moved.stdout and f"{len(files)} read back identical" in moved.stdout
    bucket = s3_server.storage(s3_env["S3_BUCKET"])
    assert bucket.keys() == sorted(files)
    assert all(bucket.read(key) == data for key, data in files.items())
    assert source.keys() == sorted(files), "the files stay where they were"
    again = posegen({**s3_env, "STORAGE_DIR": str(source.root)}, "storage", "migrate")
    assert again.returncode == 0 and bucket.keys() == sorted(files)
