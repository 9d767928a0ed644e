"""The worker image's health check (``python -m posegen_worker.probe``) finds the worker's port."""

import subprocess
import sys

from posegen.settings import WorkerSettings
from posegen_worker.probe import health_url

JWT_SECRET = "9x5eAXCXtvRKuS0Fzdhd9d6zda1NV3TPau3SEzpy-XvDuLzA"


def test_the_probe_asks_the_configured_port():
    assert health_url({}) == "http://127.0.0.1:9100/health"
    assert health_url({"WORKER_METRICS_PORT": "9200"}) == "http://127.0.0.1:9200/health"


def test_with_a_free_port_the_probe_reads_the_one_the_worker_wrote(tmp_path):
    (tmp_path / "port").write_text("41234\n")
    environ = {"WORKER_METRICS_PORT": "0", "WORKER_METRICS_PORT_FILE": str(tmp_path / "port")}
    assert health_url(environ) == "http://127.0.0.1:41234/health"


def test_the_probe_fails_when_nothing_answers(tmp_path):
    (tmp_path / "port").write_text("1\n")
    env = {"WORKER_METRICS_PORT": "0", "WORKER_METRICS_PORT_FILE": str(tmp_path / "port")}
    done = subprocess.run([sys.executable, "-m", "posegen_worker.probe"], env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "unhealthy" in done.stderr


def test_two_workers_with_one_host_name_and_pid_get_different_default_names(monkeypatch):
    """Containers on the host's network share the host's name, and each runs its worker as pid 1: RQ refuses a
    second worker under a live worker's name."""
    monkeypatch.setattr("os.getpid", lambda: 1)
    names = {WorkerSettings(_env_file=None, jwt_secret=JWT_SECRET).worker_name for _ in range(2)}
    assert len(names) == 2
