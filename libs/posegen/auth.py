"""JWT verification and minting with PyJWT (docs/api.md): HMAC algorithm pinned, ``exp`` required.

Claims: ``userId`` (or ``id``), ``role`` (``user`` or ``admin``, default ``user``), ``exp``,
optional ``email``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

import jwt

Role = Literal["user", "admin"]
_USER_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
LEEWAY_SECONDS = 5


class AuthError(Exception):
    """A token that must be refused; ``reason`` is safe to show to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    role: Role = "user"
    email: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def decode_token(token: str, *, secret: str, algorithm: str) -> Principal:
    """Verify signature, algorithm and expiry, and read the principal; raise :class:`AuthError` otherwise."""
    if not token or token.count(".") != 2:
        raise AuthError("malformed token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[algorithm],
            options={"require": ["exp"], "verify_exp": True},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.MissingRequiredClaimError as error:
        raise AuthError(f"token is missing the '{error.claim}' claim") from None
    except jwt.InvalidAlgorithmError:
        raise AuthError("token algorithm not allowed") from None
    except jwt.InvalidSignatureError:
        raise AuthError("invalid token signature") from None
    except jwt.PyJWTError:
        raise AuthError("malformed token") from None
    return _principal(claims)


def _principal(claims: dict) -> Principal:
    user_id = claims.get("userId", claims.get("id"))
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not _USER_ID.match(user_id):
        raise AuthError("token has no valid 'userId' claim")
    role = claims.get("role", "user")
    if role not in ("user", "admin"):
        raise AuthError("token has an unknown 'role'")
    email = claims.get("email")
    return Principal(user_id=user_id, role=role, email=email if isinstance(email, str) else None)


def mint_token(
    *,
    user_id: str,
    secret: str,
    algorithm: str,
    role: Role = "user",
    ttl_seconds: int = 3600,
    email: str | None = None,
    now: float | None = None,
) -> str:
    if not _USER_ID.match(user_id):
        raise ValueError("user id must be 1..128 characters of letters, digits and ._:@-")
    issued = int(now if now is not None else time.time())
    claims: dict = {"userId": user_id, "role": role, "iat": issued, "exp": issued + ttl_seconds}
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm=algorithm)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    if not authorization:
        raise AuthError("missing bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("authorization header must be 'Bearer <token>'")
    return token.strip()
