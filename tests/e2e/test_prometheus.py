"""Debian's Prometheus, for real, with the project's scrape config and alert rules, scraping the running
gateway, relay and worker while a generation runs; and promtool over each service's exposition."""

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from .conftest import free_port
from .test_cluster import token

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")
METRICS_PORT = {"gateway": "gateway-metrics"}  # GATEWAY_METRICS_PORT; the other ports serve /metrics themselves
pytestmark = pytest.mark.skipif(not (PROMETHEUS and PROMTOOL), reason="Debian's prometheus is installed by .ci/run")


@pytest.fixture
def prometheus(cluster, tmp_path):
    config = yaml.safe_load((REPO / "compose/prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(REPO / "deploy/prometheus/alerts.yml")]
    for job in config["scrape_configs"]:
        service = job["job_name"].removeprefix("posegen-")
        port = cluster.ports[METRICS_PORT.get(service, service)]
        job["static_configs"] = [{"targets": [f"127.0.0.1:{port}"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/-/ready", timeout=1).status_code == 200)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("condition not met in time")


def query(base: str, expression: str) -> list[dict]:
    return httpx.get(f"{base}/api/v1/query", params={"query": expression}, timeout=5).json()["data"]["result"]


def test_prometheus_scrapes_every_service_during_a_generation(cluster, prometheus):
    headers = {"Authorization": f"Bearer {token('prom-user')}"}
    httpx.post(
        f"{cluster.api}/admin/users/prom-user/credits",
        json={"amount": 100},
        timeout=10,
        headers={"Authorization": f"Bearer {token('prom-admin', 'admin')}"},
    ).raise_for_status()
    project = httpx.post(f"{cluster.api}/projects", json={"projectName": "Scraped"}, headers=headers).json()["id"]
    pose = httpx.get(f"{cluster.api}/library?limit=1", headers=headers).json()["items"][0]["id"]
    generation = httpx.post(
        f"{cluster.api}/generate",
        headers=headers,
        timeout=10,
        json={
            "projectId": project,
            "selectedPoseIds": [pose],
            "steps": 6,
            "width": 256,
            "height": 256,
        },
    ).json()["generationId"]
    _wait(
        lambda: httpx.get(f"{cluster.api}/generations/{generation}", headers=headers).json()["status"] == "completed",
        timeout=120,
    )

    _wait(
        lambda: (
            sorted(r["metric"]["job"] for r in query(prometheus, "up == 1"))
            == ["posegen-extractor", "posegen-gateway", "posegen-relay", "posegen-worker"]
        )
    )
    for series in (
        "posegen_gateway_requests_total",
        "posegen_queue_jobs",
        "posegen_queue_workers",
        "posegen_relay_redis_up",
        'posegen_worker_images_total{status="completed"}',
        "posegen_worker_step_duration_seconds_count",
        "posegen_generations_created_total",
    ):
        _wait(lambda series=series: query(prometheus, series), timeout=30)

    def rules() -> list[dict]:
        groups = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    assert {rule["name"] for rule in rules()} >= {"PosegenNoWorkers", "PosegenQueueGrowing", "PosegenRelayLag"}
    _wait(lambda: all(rule["health"] == "ok" for rule in rules()), timeout=30)


def test_promtool_accepts_each_exposition(cluster):
    assert httpx.get(f"{cluster.gateway}/metrics", timeout=5).status_code == 404, "not on the public port"
    for url in (
        f"http://127.0.0.1:{cluster.ports['gateway-metrics']}/metrics",
        f"http://127.0.0.1:{cluster.ports['relay']}/metrics",
        f"http://127.0.0.1:{cluster.ports['worker']}/metrics",
        f"http://127.0.0.1:{cluster.ports['extractor']}/metrics",
    ):
        exposition = httpx.get(url, timeout=5).text
        result = subprocess.run([PROMTOOL, "check", "metrics"], input=exposition, capture_output=True, text=True)
        assert result.returncode == 0, f"{url}: {result.stdout}{result.stderr}"
