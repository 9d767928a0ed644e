"""The auth matrix on every protected route: no token, malformed, wrong key, alg none, expired."""

import time

import jwt
import pytest

from posegen.auth import mint_token

PROTECTED = [
    ("GET", "/library"),
    ("GET", "/library/some-id"),
    ("GET", "/library/some-id/skeleton.png"),
    ("GET", "/categories"),
    ("GET", "/projects"),
    ("POST", "/projects"),
    ("GET", "/projects/p"),
    ("PUT", "/projects/p"),
    ("DELETE", "/projects/p"),
    ("POST", "/projects/p/avatar"),
    ("POST", "/generate"),
    ("GET", "/generations"),
    ("GET", "/generations/g"),
    ("GET", "/generations/g/results"),
    ("POST", "/generations/g/cancel"),
    ("GET", "/credits"),
    ("POST", "/admin/users/u/credits"),
]


def bad_tokens(secret: str) -> dict[str, str | None]:
    now = int(time.time())
    return {
        "missing": None,
        "malformed": "Bearer not.a.jwt",
        "not-bearer": "Token abc",
        "wrong-key": "Bearer " + mint_token(user_id="u", secret="w" * 40, algorithm="HS256"),
        "alg-none": "Bearer " + jwt.encode({"userId": "u", "exp": now + 60}, None, algorithm="none"),
        "expired": "Bearer " + mint_token(user_id="u", secret=secret, algorithm="HS256", now=now - 7200),
        "no-exp": "Bearer " + jwt.encode({"userId": "u"}, secret, algorithm="HS256"),
    }


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_protected_route_refuses_bad_tokens(client, gw, method, path):
    for kind, header in bad_tokens(gw.secret).items():
        headers = {"Authorization": header} if header else {}
        response = client.request(method, gw.prefix + path, headers=headers)
        assert response.status_code == 401, (kind, response.text)
        body = response.json()
        assert body["success"] is False
        assert body["error"]["statusCode"] == 401
        assert body["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_first_valid_token_creates_the_user_with_starting_credits(make_client, gw, user_id):
    client = make_client(starting_credits=90)
    response = client.get(f"{gw.prefix}/credits", headers=gw.auth(user_id))
    assert response.json()["balance"] == 90
    client.get(f"{gw.prefix}/credits", headers=gw.auth(user_id))
    assert gw.balance(user_id) == 90, "the starting grant happens once"


def test_admin_route_needs_the_admin_role(client, gw, user_id):
    body = {"amount": 10}
    response = client.post(f"{gw.prefix}/admin/users/{user_id}/credits", json=body, headers=gw.auth(user_id))
    assert response.status_code == 403
    response = client.post(f"{gw.prefix}/admin/users/{user_id}/credits", json=body, headers=gw.auth("boss", "admin"))
    assert response.status_code == 200
    assert response.json() == {"userId": user_id, "granted": 10, "balance": 10}
