"""OpenID Connect relying party: discovery, JWKS with key rotation, code flow with PKCE (S256).

The only module that talks to identity providers. PKCE comes from Authlib
(``authlib.oauth2.rfc7636``); ID tokens are verified with joserfc, Authlib's JOSE library
(``authlib.jose`` is deprecated in favour of it).

Rules checked on every ID token: signature by a key of the issuer's JWKS (refetched once when
the token names an unknown ``kid``, so provider key rotation works), ``iss`` equal to the
configured issuer exactly, ``aud`` containing our client id (and ``azp`` equal to it when there
are several audiences), ``exp``/``iat`` in range, ``nonce`` equal to the one we sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from backend.config import OIDCProviderSettings

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
LEEWAY = 60
METADATA_TTL = 3600
JWKS_TTL = 3600
JWKS_MIN_REFRESH = 10  # seconds between forced JWKS refetches (unknown kid), against abuse


class OIDCError(Exception):
    """Anything wrong with a provider's answer or an ID token; the reason is for logs only."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None


@dataclass(frozen=True)
class Identity:
    """What a verified ID token says about the person."""

    issuer: str
    subject: str
    email: str
    name: str
    claims: dict[str, Any]
    id_token: str


def new_pkce_verifier() -> str:
    return secrets.token_urlsafe(64)[:96]


class IdentityProvider(Protocol):
    settings: OIDCProviderSettings

    async def metadata(self) -> ProviderMetadata: ...

    async def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str: ...

    async def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> str: ...

    async def verify_id_token(self, id_token: str, *, nonce: str) -> Identity: ...


@dataclass
class OIDCProvider:
    """One configured provider; metadata and keys are cached per process with a TTL."""

    settings: OIDCProviderSettings
    http: httpx.AsyncClient
    _metadata: ProviderMetadata | None = None
    _metadata_at: float = 0.0
    _jwks: KeySet | None = None
    _jwks_at: float = 0.0
    jwks_fetches: int = 0
    _kids: set[str] = field(default_factory=set)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OIDCError(f"fetching {url}: {exc}") from exc
        if not isinstance(data, dict):
            raise OIDCError(f"{url} did not return a JSON object")
        return data

    async def metadata(self) -> ProviderMetadata:
        now = time.monotonic()
        if self._metadata is not None and now - self._metadata_at < METADATA_TTL:
            return self._metadata
        issuer = self.settings.issuer
        data = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if data.get("issuer") != issuer:  # OpenID Connect Discovery 1.0, section 4.3
            raise OIDCError(f"discovery issuer {data.get('issuer')!r} is not {issuer!r}")
        try:
            meta = ProviderMetadata(
                issuer=issuer,
                authorization_endpoint=str(data["authorization_endpoint"]),
                token_endpoint=str(data["token_endpoint"]),
                jwks_uri=str(data["jwks_uri"]),
                end_session_endpoint=data.get("end_session_endpoint"),
            )
        except KeyError as exc:
            raise OIDCError(f"discovery document lacks {exc}") from exc
        self._metadata, self._metadata_at = meta, now
        return meta

    async def keys(self, *, refresh: bool = False) -> KeySet:
        now = time.monotonic()
        fresh = self._jwks is not None and now - self._jwks_at < JWKS_TTL
        throttled = now - self._jwks_at < JWKS_MIN_REFRESH
        if self._jwks is not None and ((fresh and not refresh) or (refresh and throttled)):
            return self._jwks
        meta = await self.metadata()
        data = await self._get_json(meta.jwks_uri)
        try:
            keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise OIDCError(f"bad JWKS: {exc}") from exc
        self._jwks, self._jwks_at = keys, now
        self._kids = {str(k.kid) for k in keys.keys if k.kid}
        self.jwks_fetches += 1
        return keys

    async def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        meta = await self.metadata()
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in meta.authorization_endpoint else "?"
        return meta.authorization_endpoint + separator + urlencode(query)

    async def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> str:
        """Redeem the code at the token endpoint (client_secret_basic); returns the ID token."""
        meta = await self.metadata()
        try:
            response = await self.http.post(
                meta.token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": code_verifier,
                },
                auth=(self.settings.client_id, self.settings.client_secret),
                headers={"accept": "application/json"},
            )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OIDCError(f"token endpoint: {exc}") from exc
        if response.status_code != 200 or not isinstance(data, dict):
            error = data.get("error") if isinstance(data, dict) else None
            raise OIDCError(f"token endpoint answered {response.status_code} {error}")
        id_token = data.get("id_token")
        if not isinstance(id_token, str):
            raise OIDCError("token response without an id_token")
        return id_token

    async def verify_id_token(self, id_token: str, *, nonce: str) -> Identity:
        keys = await self.keys()
        try:
            token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
        except JoseError as exc:
            kid = _header_kid(id_token)
            if kid is None or kid in self._kids:
                raise OIDCError(f"ID token signature: {exc}") from exc
            # An unknown key id: the provider may have rotated its keys. Refetch once.
            keys = await self.keys(refresh=True)
            try:
                token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
            except JoseError as exc2:
                raise OIDCError(f"ID token signature after JWKS refresh: {exc2}") from exc2
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": self.settings.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.settings.client_id},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OIDCError(f"ID token claims: {exc}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise OIDCError("ID token azp is not our client id")
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce, nonce):
            raise OIDCError("ID token nonce does not match")
        mapping = self.settings.claims
        email = claims.get(mapping.get("email", "email")) or ""
        name = claims.get(mapping.get("name", "name")) or ""
        return Identity(
            issuer=self.settings.issuer,
            subject=str(claims["sub"]),
            email=str(email),
            name=str(name),
            claims=claims,
            id_token=id_token,
        )

    async def end_session_url(
        self, *, id_token_hint: str | None, post_logout_redirect_uri: str
    ) -> str | None:
        try:
            meta = await self.metadata()
        except OIDCError:
            return None
        if not meta.end_session_endpoint:
            return None
        query = {
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "client_id": self.settings.client_id,
        }
        if id_token_hint:
            query["id_token_hint"] = id_token_hint
        separator = "&" if "?" in meta.end_session_endpoint else "?"
        return meta.end_session_endpoint + separator + urlencode(query)


def _header_kid(token: str) -> str | None:
    import json

    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".", maxsplit=1)[0] + "=="))
    except (ValueError, IndexError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return str(kid) if kid else None


@dataclass
class OIDCRegistry:
    """Every configured provider by name; one shared HTTP client."""

    http: httpx.AsyncClient
    providers: dict[str, OIDCProvider]

    def get(self, name: str) -> OIDCProvider | None:
        return self.providers.get(name)

    def all(self) -> list[OIDCProvider]:
        return list(self.providers.values())


def build_registry(settings: tuple[OIDCProviderSettings, ...]) -> OIDCRegistry:
    client = httpx.AsyncClient(timeout=10.0, follow_redirects=False, trust_env=False)
    return OIDCRegistry(client, {p.name: OIDCProvider(p, client) for p in settings})


async def close_registry(registry: OIDCRegistry) -> None:
    await registry.http.aclose()


def state_digest(value: str) -> str:
    """Redis keys hold a hash of the browser's flow id, never the id itself."""
    return hashlib.sha256(value.encode()).hexdigest()


__all__ = [
    "Identity",
    "IdentityProvider",
    "OIDCError",
    "OIDCProvider",
    "OIDCRegistry",
    "ProviderMetadata",
    "build_registry",
    "close_registry",
    "new_pkce_verifier",
    "state_digest",
]
