import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from posegen_cli import localrun
from posegen_cli.localrun import free_port


@pytest.fixture
def world_readable_dir():
    """PostgreSQL runs as the postgres user when we are root: its data folder must be reachable to it."""
    folder = Path(tempfile.mkdtemp(prefix="posegen-run-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(not (localrun.find_binary("initdb") and shutil.which("redis-server")), reason="no binaries")
def test_run_starts_private_dependencies_migrates_seeds_and_stops_them(world_readable_dir, tmp_path):
    pg_port, redis_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/posegen_local",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "JWT_SECRET": "eIfDkxIOCyhwUVfB34FMmLdlZvAkUSUEylPsHqNlUfQEdv5O",
    }
    command = [
        sys.executable,
        "-m",
        "posegen_cli",
        "run",
        "--no-services",
        "--var-dir",
        str(world_readable_dir),
    ]
    first = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "started a private PostgreSQL" in first.stderr
    assert "started a private Redis" in first.stderr
    assert "created database posegen_local" in first.stdout
    assert "pose library updated" in first.stdout

    second = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "database schema is up to date" in second.stdout
    assert "pose library unchanged" in second.stdout
    assert not localrun.reachable("127.0.0.1", pg_port)
    assert not localrun.reachable("127.0.0.1", redis_port)


def test_missing_binaries_name_the_compose_command(monkeypatch, tmp_path):
    monkeypatch.setattr(localrun, "find_binary", lambda name: None)
    with pytest.raises(localrun.DependencyError, match="docker compose -f compose/docker-compose.yml up"):
        localrun.start_private_postgres("postgresql://postgres@127.0.0.1:1/x", tmp_path)


def test_remote_unreachable_dependency_is_not_started_locally(tmp_path):
    with (
        pytest.raises(localrun.DependencyError, match="not reachable"),
        localrun.dependencies("postgresql://postgres@db.invalid:5432/x", "redis://127.0.0.1:6379/0", tmp_path),
    ):
        pass


def test_env_file_is_created_once_with_a_random_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    example = tmp_path / ".env.example"
    example.write_text("# doc\nJWT_SECRET=change-me\nDATABASE_URL=postgresql://x/y\n")
    env = tmp_path / ".env"
    assert localrun.ensure_env_file(env, example)
    content = env.read_text()
    assert "change-me" not in content and "DATABASE_URL=postgresql://x/y" in content
    assert not localrun.ensure_env_file(env, example)
    assert env.read_text() == content


def test_supervise_stops_all_when_one_exits():
    slow = localrun.ServiceSpec("slow", [sys.executable, "-c", "import time; time.sleep(60)"])
    failing = localrun.ServiceSpec("failing", [sys.executable, "-c", "raise SystemExit(3)"])
    assert localrun.supervise([slow, failing]) == 3


def test_a_service_gets_its_own_environment(monkeypatch):
    monkeypatch.setenv("POSEGEN_TEST_CODE", "4")
    exits = localrun.ServiceSpec(
        "exits",
        [
            sys.executable,
            "-c",
            "import os; raise SystemExit(int(os.environ['CODE']) + int(os.environ['POSEGEN_TEST_CODE']))",
        ],
        {"CODE": "3"},
    )
    assert localrun.supervise([exits]) == 7


def test_run_serves_the_relay_path_on_the_gateway_port():
    from posegen_cli.main import RUN_ENV, RUN_SERVICES

    assert "gateway" in RUN_SERVICES and RUN_ENV["gateway"] == {"GATEWAY_SERVE_RELAY": "true"}
