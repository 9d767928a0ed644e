import pytest
from fastapi.testclient import TestClient
from posegen.settings import GatewaySettings
from posegen_gateway.app import create_app


def make_settings(database_url: str, redis_url: str) -> GatewaySettings:
    return GatewaySettings(
        _env_file=None, database_url=database_url, redis_url=redis_url, jwt_secret="g" * 40
    )


@pytest.fixture
def client(database_url, redis_url):
    with TestClient(create_app(make_settings(database_url, redis_url))) as test_client:
        yield test_client


def test_liveness(client):
    assert client.get("/health").json()["status"] == "ok"


def test_ready_when_database_and_redis_answer(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "redis": True}


def test_api_health_reports_the_database(client):
    response = client.get("/api/health")
    assert (response.status_code, response.json()["database"]) == (200, "connected")


def test_not_ready_when_redis_is_unreachable(database_url):
    settings = make_settings(database_url, "redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as test_client:
        response = test_client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "redis": False}
