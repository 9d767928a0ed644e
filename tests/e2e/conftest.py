"""The real cluster: `posegen gateway`, `posegen relay`, `posegen worker` and `posegen extractor` as separate
processes on a database and a Redis database of their own, driven only from outside (HTTP and WebSocket). The
gateway also serves the relay's path, as under `make run`; `edge` puts compose's nginx in front of the cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from posegen_cli.localrun import free_port

SECRET = "C625KReuoqBhM9l1gHff6AtVveHQ6VtudF6rqTiYHlv2duqX"


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


class ClusterRunner:
    """Starts (and restarts) the three services of one cluster as processes with the same settings."""

    def __init__(self, database_url: str, redis_url: str, model: Path, folder: Path) -> None:
        ports = {
            "gateway": free_port(),
            "gateway-metrics": free_port(),
            "relay": free_port(),
            "worker": free_port(),
            "extractor": free_port(),
        }
        self.folder = folder
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "JWT_SECRET": SECRET,
            "STORAGE_DIR": str(folder / "storage"),
            "MODEL_BASE": str(model),
            "MODEL_CONTROLNET": str(model / "controlnet"),
            "TORCH_DEVICE": "cpu",
            "GATEWAY_PORT": str(ports["gateway"]),
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_METRICS_PORT": str(ports["gateway-metrics"]),
            "RELAY_PORT": str(ports["relay"]),
            "RELAY_HOST": "127.0.0.1",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
            "WORKER_METRICS_PORT": str(ports["worker"]),
            "WORKER_NAME": f"e2e-{ports['worker']}",
            "GENERATE_RATE_LIMIT": "100/min",
            "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
            "GATEWAY_SERVE_RELAY": "true",
            "EXTRACTOR_METRICS_PORT": str(ports["extractor"]),
            "EXTRACTOR_NAME": f"e2e-x-{ports['extractor']}",
        }
        self.cluster = Cluster(
            f"http://127.0.0.1:{ports['gateway']}",
            f"ws://127.0.0.1:{ports['relay']}/pose-generator-ws",
            database_url,
            folder / "storage",
            ports,
        )

    def start(self) -> Cluster:
        for name in ("gateway", "relay", "worker", "extractor"):
            log = open(self.folder / f"{name}.log", "a")  # noqa: SIM115 - closed when the process ends
            self.cluster.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "posegen_cli", name],
                env=self.env,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        ready = [f"http://127.0.0.1:{self.cluster.ports[name]}/ready" for name in ("relay", "worker")]
        while http_status(f"{self.cluster.api}/health") != 200 or any(http_status(url) != 200 for url in ready):
            if time.monotonic() > deadline:
                logs = {n: (self.folder / f"{n}.log").read_text()[-2000:] for n in self.cluster.processes}
                pytest.fail(f"the cluster did not become healthy: {logs}")
            time.sleep(0.3)
        return self.cluster

    def stop(self, sig=None) -> dict[str, int]:
        import signal

        for process in self.cluster.processes.values():
            if process.poll() is None:
                process.send_signal(sig or signal.SIGTERM)
        codes = {}
        for name, process in self.cluster.processes.items():
            try:
                codes[name] = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
        return codes


def fresh_cluster_database(fresh_database_url) -> str:
    from posegen.db.bootstrap import bootstrap_database

    database_url = fresh_database_url()
    bootstrap_database(database_url)
    return database_url


@pytest.fixture(scope="session")
def cluster(fresh_database_url, claim_redis_db, tiny_model, tmp_path_factory) -> Iterator[Cluster]:
    runner = ClusterRunner(
        fresh_cluster_database(fresh_database_url), claim_redis_db(), tiny_model, tmp_path_factory.mktemp("cluster")
    )
    try:
        yield runner.start()
    finally:
        runner.stop()


@pytest.fixture(scope="session")
def edge(cluster, start_edge) -> str:
    """The cluster behind the edge compose ships (nginx): its one public address."""
    return start_edge(gateway=f"127.0.0.1:{cluster.ports['gateway']}", relays=[f"127.0.0.1:{cluster.ports['relay']}"])
