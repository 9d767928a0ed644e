import subprocess
import sys
from types import SimpleNamespace

import psycopg

from posegen.auth import decode_token


def posegen(*args, env, cwd):
    return subprocess.run(
        [sys.executable, "-m", "posegen_cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_token_mints_a_verifiable_token(service_env, tmp_path):
    result = posegen("token", "--user", "dev-1", "--admin", "--ttl", "30m", env=service_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    principal = decode_token(result.stdout.strip(), secret=service_env["JWT_SECRET"], algorithm="HS256")
    assert (principal.user_id, principal.role) == ("dev-1", "admin")


def test_token_rejects_bad_ttl(service_env, tmp_path):
    result = posegen("token", "--user", "u", "--ttl", "soon", env=service_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "duration" in result.stderr


def test_migrate_and_seed_create_the_database_and_are_idempotent(fresh_database_url, service_env, tmp_path):
    url = fresh_database_url()
    env = {**service_env, "DATABASE_URL": url}
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}"')
    first = posegen("migrate", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "created database" in first.stdout and "applied 001_initial" in first.stdout
    assert "up to date" in posegen("migrate", env=env, cwd=tmp_path).stdout
    seeded = posegen("seed", env=env, cwd=tmp_path)
    assert seeded.returncode == 0 and "pose library updated" in seeded.stdout
    again = posegen("seed", env=env, cwd=tmp_path)
    assert "pose library unchanged" in again.stdout and "(0 written)" in again.stdout


def test_the_demo_generates_through_the_gateway_and_relay_it_started(monkeypatch, tmp_path):
    """``posegen run --demo`` talks to the ports it started, whatever ``POSEGEN_API_URL`` says."""
    import httpx

    from posegen_cli import client, main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POSEGEN_API_URL", "http://elsewhere:1")
    monkeypatch.setenv("POSEGEN_RELAY_URL", "ws://elsewhere:2/pose-generator-ws")
    monkeypatch.setenv("POSEGEN_TOKEN", "a-token")
    monkeypatch.setattr(httpx, "get", lambda url, timeout: httpx.Response(200 if ":4100/" in url else 599))
    monkeypatch.setattr(client.Api, "call", lambda api, method, path, **_: {"items": [{"id": "p1"}], "id": "project"})
    watched = []

    async def watch(api, body):
        watched.append((api.settings.api_url, api.settings.relay_url, body["selectedPoseIds"]))
        return 0

    monkeypatch.setattr(client, "_watch", watch)
    settings = SimpleNamespace(gateway_port=4100, storage_dir="var/storage")
    assert main.run_demo(settings, relay_port=4101) == 0
    assert watched == [("http://127.0.0.1:4100", "ws://127.0.0.1:4101/pose-generator-ws", ["p1"])]
