"""The gateway's Prometheus metrics, on their own port (GATEWAY_METRICS_PORT): the public port, which the
Ingress and the compose edge route to, does not answer /metrics."""

import shutil
import subprocess
import urllib.error
import urllib.request

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from posegen_gateway.app import create_app


@pytest.fixture
def client(make_settings):
    app = create_app(make_settings(gateway_host="127.0.0.1"), run_reconciler=False, metrics_port=0)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def scrape(client) -> tuple[dict, str]:
    url = f"http://127.0.0.1:{client.app.state.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}, text


def test_the_public_port_does_not_answer_metrics(client):
    assert client.get("/metrics").status_code == 404
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{client.app.state.metrics_port}/ready", timeout=5)
    assert refused.value.code == 404, "the metrics port serves /metrics only"


def test_requests_are_counted_by_route_template(client, gw, headers, pose_ids):
    client.get(f"{gw.prefix}/library/{pose_ids[0]}", headers=headers)
    client.get(f"{gw.prefix}/library/{pose_ids[1]}", headers=headers)
    client.get(f"{gw.prefix}/library/{pose_ids[1]}")
    families, _ = scrape(client)
    samples = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in families["posegen_gateway_requests"].samples
        if s.name.endswith("_total")
    }
    assert samples[("GET", f"{gw.prefix}/library/{{pose_id}}", "200")] == 2
    assert samples[("GET", f"{gw.prefix}/library/{{pose_id}}", "401")] == 1
    assert "posegen_gateway_request_duration_seconds" in families


def test_generation_and_queue_metrics(client, gw, headers, user_id, project_id, pose_ids):
    gw.give_credits(user_id, 60)
    client.post(
        f"{gw.prefix}/generate", json={"projectId": project_id, "selectedPoseIds": pose_ids[:2]}, headers=headers
    )
    families, text = scrape(client)
    assert families["posegen_generations_created"].samples[0].value == 1
    assert families["posegen_credits_charged"].samples[0].value == 60
    jobs = {s.labels["state"]: s.value for s in families["posegen_queue_jobs"].samples}
    assert jobs["waiting"] >= 1
    assert families["posegen_queue_up"].samples[0].value == 1
    if shutil.which("promtool"):
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
