import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from posegen.auth import AuthError, Principal, bearer_token, decode_token, mint_token

SECRET = "k" * 40
ALG = "HS256"


def decode(token: str) -> Principal:
    return decode_token(token, secret=SECRET, algorithm=ALG)


def reason(token: str) -> str:
    with pytest.raises(AuthError) as caught:
        decode(token)
    return caught.value.reason


def test_minted_token_round_trips():
    token = mint_token(user_id="user-1", role="admin", secret=SECRET, algorithm=ALG, email="a@b.c")
    assert decode(token) == Principal(user_id="user-1", role="admin", email="a@b.c")


def test_id_claim_and_numeric_ids_are_accepted():
    exp = int(time.time()) + 60
    assert decode(jwt.encode({"id": "u2", "exp": exp}, SECRET, algorithm=ALG)).user_id == "u2"
    assert decode(jwt.encode({"userId": 42, "exp": exp}, SECRET, algorithm=ALG)).user_id == "42"


def test_role_defaults_to_user():
    token = jwt.encode({"userId": "u", "exp": int(time.time()) + 60}, SECRET, algorithm=ALG)
    assert decode(token).role == "user"


def test_expired_token_is_refused():
    token = mint_token(user_id="u", secret=SECRET, algorithm=ALG, ttl_seconds=10, now=time.time() - 3600)
    assert reason(token) == "token expired"


def test_missing_exp_is_refused():
    token = jwt.encode({"userId": "u"}, SECRET, algorithm=ALG)
    assert reason(token) == "token is missing the 'exp' claim"


def test_wrong_key_is_refused():
    token = mint_token(user_id="u", secret="other" * 10, algorithm=ALG)
    assert reason(token) == "invalid token signature"


def test_alg_none_is_refused():
    token = jwt.encode({"userId": "u", "exp": int(time.time()) + 60}, None, algorithm="none")
    assert reason(token) in {"token algorithm not allowed", "malformed token"}


@pytest.mark.filterwarnings("ignore:The HMAC key")
def test_other_hmac_algorithm_is_refused_when_pinned():
    token = jwt.encode({"userId": "u", "exp": int(time.time()) + 60}, SECRET, algorithm="HS512")
    assert reason(token) == "token algorithm not allowed"


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "x" * 5000])
def test_malformed_tokens_are_refused(token):
    assert reason(token) == "malformed token"


@pytest.mark.parametrize(
    "claims",
    [{"userId": ""}, {"userId": None}, {"userId": "has space"}, {"userId": "u", "role": "root"}, {}],
)
def test_bad_claims_are_refused(claims):
    token = jwt.encode({**claims, "exp": int(time.time()) + 60}, SECRET, algorithm=ALG)
    with pytest.raises(AuthError):
        decode(token)


def test_bearer_header_parsing():
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer   tok ") == "tok"
    for bad in (None, "", "Basic abc", "Bearer", "Bearer  "):
        with pytest.raises(AuthError):
            bearer_token(bad)


def test_mint_rejects_bad_user_id():
    with pytest.raises(ValueError):
        mint_token(user_id="bad id", secret=SECRET, algorithm=ALG)


def test_hs_rs_confusion_is_refused():
    """A token 'signed' with HS256 using a public key as the secret must not pass as RS256, nor the reverse:
    the algorithm is pinned, so anything but HS256 is refused before the key is used."""
    public_key = b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        b64(b'{"alg":"HS256","typ":"JWT"}')
        + "."
        + b64(json.dumps({"userId": "u", "exp": int(time.time()) + 60}).encode())
    )
    signature = b64(hmac.new(public_key, signing_input.encode(), hashlib.sha256).digest())
    forged = f"{signing_input}.{signature}"
    assert reason(forged) == "invalid token signature"
    header_rs = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
    body = forged.split(".")[1]
    assert reason(f"{header_rs}.{body}.c2ln") in {"token algorithm not allowed", "malformed token"}
