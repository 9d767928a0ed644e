"""Avatar URLs against a real HTTPS server on loopback, through the real app, pool and Redis: a slow URL
holds no database connection, and the fetches a user may start are limited."""

from __future__ import annotations

import io
import ipaddress
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from PIL import Image

from ..https_server import TEST_HOST, HttpsServer

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
POOL_SIZE = 2


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def server(tmp_path):
    server = HttpsServer(tmp_path / "tls", held_body=png_bytes())
    yield server
    server.close()


def fetching_client(make_client, server, **overrides):
    """The gateway with its real fetcher, told to trust the server's certificate and to reach
    ``avatars.example.test`` at the server's loopback port."""
    client = make_client(**{"avatar_fetch_timeout_seconds": 120, **overrides})
    context = client.app.state.context
    context.avatar_fetcher = replace(
        context.avatar_fetcher,
        ssl_context=server.client_context,
        allowed_networks=LOOPBACK,
        connect_to={(TEST_HOST, 443): ("127.0.0.1", server.port)},
    )
    return client


def test_slow_avatar_fetches_hold_no_database_connection(make_client, server, gw, headers):
    client = fetching_client(make_client, server, database_pool_size=POOL_SIZE, avatar_fetch_rate_limit="100/min")
    url = f"https://{TEST_HOST}/held"
    project = client.post(f"{gw.prefix}/projects", json={"projectName": "Slow avatars"}, headers=headers).json()
    requests = [
        ("post", f"{gw.prefix}/projects/{project['id']}/avatar", {"url": url}),
        ("post", f"{gw.prefix}/projects", {"projectName": "Fetched", "avatarImageUrl": url}),
    ] * (POOL_SIZE + 1)
    with ThreadPoolExecutor(len(requests)) as threads:
        futures = [threads.submit(client.post, path, json=body, headers=headers) for _, path, body in requests]
        try:
            assert server.wait_held(len(requests), timeout=60), "every slow fetch is in flight at once"
            other = gw.auth("someone-else")
            assert client.get(f"{gw.prefix}/projects", headers=other).status_code == 200
            assert client.get("/ready").status_code == 200
        finally:
            server.release()
        responses = [future.result() for future in futures]
    assert sorted(r.status_code for r in responses) == [200] * (POOL_SIZE + 1) + [201] * (POOL_SIZE + 1)
    current = client.get(f"{gw.prefix}/projects/{project['id']}", headers=headers).json()
    avatar = client.get(current["avatarImageUrl"].removeprefix("http://testserver"))
    assert avatar.status_code == 200 and avatar.content.startswith(b"\x89PNG")


def test_avatar_fetches_are_rate_limited_per_user(make_client, server, gw, headers):
    client = fetching_client(make_client, server, avatar_fetch_rate_limit="2/min")
    server.release()
    project = client.post(f"{gw.prefix}/projects", json={"projectName": "Limited"}, headers=headers).json()
    avatar, url = f"{gw.prefix}/projects/{project['id']}/avatar", f"https://{TEST_HOST}/held"
    assert client.post(avatar, json={"url": url}, headers=headers).status_code == 200
    created = client.post(f"{gw.prefix}/projects", json={"projectName": "Also", "avatarImageUrl": url}, headers=headers)
    assert created.status_code == 201
    for refused in (
        client.post(avatar, json={"url": url}, headers=headers),
        client.post(f"{gw.prefix}/projects", json={"projectName": "Third", "avatarImageUrl": url}, headers=headers),
    ):
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
    # Uploads and projects without a URL fetch nothing and are not counted; another user has a window of its own.
    files = {"file": ("a.png", png_bytes(), "image/png")}
    assert client.post(avatar, files=files, headers=headers).status_code == 200
    assert client.post(f"{gw.prefix}/projects", json={"projectName": "Plain"}, headers=headers).status_code == 201
    other = gw.auth("another-fetcher")
    assert (
        client.post(
            f"{gw.prefix}/projects", json={"projectName": "Theirs", "avatarImageUrl": url}, headers=other
        ).status_code
        == 201
    )
