"""PostgreSQL going away: the gateway answers 503 with the envelope (never a 500, never half a write) and
recovers by itself when the database is back. A private PostgreSQL is started and stopped for the test."""

import time
import uuid

from fastapi.testclient import TestClient

from posegen_cli.localrun import free_port
from posegen_gateway.app import create_app


def test_gateway_starts_and_answers_503_without_a_database(make_client, gw, headers):
    client = make_client(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 503
    assert client.get("/api/health").status_code == 503
    response = client.get(f"{gw.prefix}/credits", headers=headers)
    assert response.status_code == 503 and response.json()["error"]["code"] == "service_unavailable"


def test_a_database_outage_is_503_then_recovers(private_postgres, make_settings, gw):
    url, stop, restart = private_postgres
    user = f"outage-{uuid.uuid4().hex[:6]}"
    headers = gw.auth(user)
    with TestClient(create_app(make_settings(database_url=url), run_reconciler=False)) as client:
        project = client.post(f"{gw.prefix}/projects", json={"projectName": "Outage"}, headers=headers)
        assert project.status_code == 201
        stop()
        assert client.get("/ready").status_code == 503
        during = client.post(f"{gw.prefix}/projects", json={"projectName": "Lost?"}, headers=headers)
        assert during.status_code == 503, during.text
        assert client.get(f"{gw.prefix}/library", params={"search": "zzz"}, headers=headers).status_code == 503
        restart()
        deadline = time.monotonic() + 60
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "the gateway did not recover"
            time.sleep(0.5)
        listing = client.get(f"{gw.prefix}/projects", headers=headers).json()
        assert [p["projectName"] for p in listing["items"]] == ["Outage"], "the request during the outage wrote nothing"
