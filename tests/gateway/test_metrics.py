import shutil
import subprocess

from prometheus_client.parser import text_string_to_metric_families


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}, response.text


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
