"""A gateway app on the test's own PostgreSQL database and Redis database, driven over real HTTP
semantics by Starlette's TestClient (the ASGI app runs for real; nothing below it is replaced)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from posegen.auth import mint_token
from posegen.db import credits
from posegen.db.users import ensure_user
from posegen.settings import GatewaySettings
from posegen_gateway.app import create_app

SECRET = "9lqQDiAWmqctudp6AJQuY51fcjneGguEjdrM2RqnrSl-SagL"
PREFIX = "/api/apps/pose-generator"


def gateway_settings(default_database_url: str, default_redis_url: str, tmp_path, **overrides) -> GatewaySettings:
    values = dict(
        database_url=default_database_url,
        redis_url=default_redis_url,
        jwt_secret=SECRET,
        storage_dir=str(tmp_path / "storage"),
        public_base_url="http://testserver",
        generate_rate_limit="1000/min",
    )
    values.update(overrides)
    return GatewaySettings(_env_file=None, **values)


@pytest.fixture
def make_settings(database_url, redis_url, tmp_path) -> Callable[..., GatewaySettings]:
    return lambda **overrides: gateway_settings(database_url, redis_url, tmp_path, **overrides)


@pytest.fixture
def make_client(database_url, redis_url, tmp_path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**overrides) -> TestClient:
        settings = gateway_settings(database_url, redis_url, tmp_path, **overrides)
        client = TestClient(create_app(settings, run_reconciler=False), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def user_id() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"


class Helpers:
    """Tokens, credits and balances for the tests of this folder (a fixture, since tests cannot import
    conftest modules)."""

    prefix = PREFIX
    secret = SECRET

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def token(self, user_id: str, *, role: str = "user", **kwargs) -> str:
        return mint_token(user_id=user_id, secret=SECRET, algorithm="HS256", role=role, **kwargs)

    def auth(self, user_id: str, role: str = "user") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, role=role)}"}

    def give_credits(self, user_id: str, amount: int) -> None:
        with psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row) as conn:
            ensure_user(conn=conn, user_id=user_id, role="user", email=None, starting_credits=0)
            credits.grant(
                conn=conn,
                user_id=user_id,
                amount=amount,
                reference_type="test",
                reference_id=uuid.uuid4().hex,
            )

    def balance(self, user_id: str) -> int:
        with psycopg.connect(self.database_url, row_factory=dict_row) as conn:
            return credits.balance(conn=conn, user_id=user_id)

    def query(self, sql: str, params: tuple = ()) -> list[dict]:
        with psycopg.connect(self.database_url, row_factory=dict_row) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def gw(database_url) -> Helpers:
    return Helpers(database_url)


@pytest.fixture
def headers(gw, user_id) -> dict[str, str]:
    return gw.auth(user_id)


@pytest.fixture
def pose_ids(conn) -> list[str]:
    return [row["id"] for row in conn.execute("SELECT id FROM poses ORDER BY name LIMIT 60").fetchall()]


@pytest.fixture
def project_id(client, headers) -> str:
    response = client.post(f"{PREFIX}/projects", json={"projectName": "Spring shoot"}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def api_schema(make_client, redis_client):
    """The gateway's own OpenAPI document, served by an app whose lifespan has run, with a live RQ worker
    registered so that the health check answers 200 (its 503 is documented, but a 5xx fails the fuzz)."""
    import schemathesis
    from rq import Worker

    from posegen.queue import generation_queue

    # Fuzzed avatar URLs must never reach a real host: only a reserved test domain is allowed.
    client = make_client(generate_rate_limit="100000/min", avatar_url_hosts="avatars.example.test")
    worker = Worker([generation_queue(redis_client)], connection=redis_client, name=f"fuzz-{uuid.uuid4().hex[:6]}")
    worker.register_birth()
    yield schemathesis.openapi.from_asgi("/openapi.json", client.app)
    worker.register_death()


@pytest.fixture
def fuzz_headers(gw, user_id, project_id) -> dict[str, str]:
    gw.give_credits(user_id, 1_000_000)
    return gw.auth(user_id)
