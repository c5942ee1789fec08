"""Short-lived signed access tokens (JWT, HS256) for partner clients, with joserfc (Authlib's JOSE).

The signing key is derived from the session key (HMAC with a fixed label), so rotating the
session key also invalidates every partner token. Tokens carry the client id, its organization
and its scopes; the API still reloads the client on every call, so revocation is immediate.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from backend.core.keys import get_keys

AUDIENCE = "tongxin-partner-api"
TOKEN_TTL = 600  # seconds
ALGORITHM = "HS256"
SCOPES = ("needs:read", "resources:write", "deliveries:write")


def _key() -> OctKey:
    raw = hmac.new(get_keys().session, b"tongxin partner access token v1", hashlib.sha256).digest()
    return OctKey.import_key(raw)


@dataclass(frozen=True)
class AccessToken:
    client_id: str
    organization_id: str
    scopes: tuple[str, ...]
    expires_at: int


def issue(
    *,
    issuer: str,
    client_id: str,
    organization_id: str,
    scopes: list[str],
    now: float | None = None,
    ttl: int = TOKEN_TTL,
) -> tuple[str, int]:
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": client_id,
        "org": organization_id,
        "scope": " ".join(scopes),
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(
        {"alg": ALGORITHM, "typ": "at+jwt"}, claims, _key(), algorithms=[ALGORITHM]
    ), ttl


def verify(token: str, *, issuer: str) -> AccessToken | None:
    """The token's content, or None when it is malformed, tampered with, expired or foreign."""
    try:
        decoded = jwt.decode(token, _key(), algorithms=[ALGORITHM])
        jwt.JWTClaimsRegistry(
            leeway=0,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": AUDIENCE},
            sub={"essential": True},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError):
        return None
    claims = decoded.claims
    if decoded.header.get("typ") != "at+jwt" or not isinstance(claims.get("org"), str):
        return None
    return AccessToken(
        client_id=str(claims["sub"]),
        organization_id=claims["org"],
        scopes=tuple(str(claims.get("scope", "")).split()),
        expires_at=int(claims["exp"]),
    )
