"""The real cluster: `posegen gateway`, `posegen relay` and `posegen worker` as separate processes on a
database and a Redis database of their own, driven only from outside (HTTP and WebSocket)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

SECRET = "e2e-secret-" + "e" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@dataclass
class Cluster:
    gateway: str
    relay: str
    database_url: str
    storage: Path
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"{self.gateway}/api/apps/pose-generator"


@pytest.fixture(scope="session")
def cluster(fresh_database_url, claim_redis_db, tiny_model, tmp_path_factory) -> Iterator[Cluster]:
    from posegen.db.migrate import apply_migrations
    from posegen.poses.seed import seed_library

    database_url = fresh_database_url()
    apply_migrations(database_url)
    with psycopg.connect(database_url) as conn:
        seed_library(conn=conn)
    folder = tmp_path_factory.mktemp("cluster")
    gateway_port, relay_port, worker_port = free_port(), free_port(), free_port()
    env = {
        **os.environ, "DATABASE_URL": database_url, "REDIS_URL": claim_redis_db(), "JWT_SECRET": SECRET,
        "STORAGE_DIR": str(folder / "storage"), "MODEL_BASE": str(tiny_model),
        "MODEL_CONTROLNET": str(tiny_model / "controlnet"), "TORCH_DEVICE": "cpu", "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_HOST": "127.0.0.1", "RELAY_PORT": str(relay_port), "RELAY_HOST": "127.0.0.1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{gateway_port}", "WORKER_METRICS_PORT": str(worker_port),
        "WORKER_NAME": "e2e",
        "GENERATE_RATE_LIMIT": "100/min", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
        "RELAY_PUBLIC_URL": f"ws://127.0.0.1:{relay_port}/pose-generator-ws",
    }  # fmt: skip
    cluster = Cluster(f"http://127.0.0.1:{gateway_port}", f"ws://127.0.0.1:{relay_port}/pose-generator-ws",
                      database_url, folder / "storage",
                      {"gateway": gateway_port, "relay": relay_port, "worker": worker_port})  # fmt: skip
    for name in ("gateway", "relay", "worker"):
        log = open(folder / f"{name}.log", "w")  # noqa: SIM115 - closed when the process ends
        cluster.processes[name] = subprocess.Popen([sys.executable, "-m", "posegen.cli", name], env=env, cwd=folder,
                                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        relay_ready = f"http://127.0.0.1:{relay_port}/ready"
        while http_status(f"{cluster.api}/health") != 200 or http_status(relay_ready) != 200:
            if time.monotonic() > deadline:
                logs = {n: (folder / f"{n}.log").read_text()[-2000:] for n in cluster.processes}
                pytest.fail(f"the cluster did not become healthy: {logs}")
            time.sleep(0.3)
        yield cluster
    finally:
        for process in cluster.processes.values():
            process.terminate()
        for process in cluster.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
