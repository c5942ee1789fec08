"""Sign-in with OpenID Connect against real providers (oidc-provider), with an HTTP client.

The client follows every redirect itself and posts the provider's own login and consent forms,
so the app's start and callback, the provider's checks (PKCE, redirect URI, client secret) and
the app's ID-token checks all run for real.
"""

# ruff: noqa: ASYNC212 - the app and the providers run in other processes; blocking calls are fine

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import select

from backend.accounts.models import Membership, OIDCLink, User, UserStatus
from backend.config import OIDCProviderSettings
from backend.integrations.oidc import OIDCError, build_registry, close_registry
from tests.oidc.conftest import OP, OIDCEnv

FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def run_flow(
    http: httpx.Client,
    env: OIDCEnv,
    op: OP,
    login: str,
    *,
    at_callback: Callable[[str], str] | None = None,
    start: str | None = None,
) -> httpx.Response:
    """Start at the app, sign in at the provider, come back; returns the app's last answer."""
    url = start or f"{env.app}/oidc/{op.name}/start?next=/profile"
    response = http.get(url)
    for _ in range(20):
        if response.is_redirect:
            url = (
                str(response.next_request.url)
                if response.next_request
                else response.headers["location"]
            )
            if at_callback is not None and url.startswith(f"{env.app}/oidc/{op.name}/callback"):
                url = at_callback(url)
            response = http.get(url)
            continue
        if response.url.host == "127.0.0.1" and str(response.url).startswith(op.issuer):
            action = FORM_ACTION.search(response.text)
            assert action, response.text[:500]
            target = httpx.URL(op.issuer).join(action.group(1))
            if 'name="login"' in response.text:
                response = http.post(
                    target, data={"prompt": "login", "login": login, "password": "x"}
                )
            else:
                response = http.post(target, data={"prompt": "consent"})
            continue
        return response
    raise AssertionError("too many steps")


@pytest.fixture
def http() -> Any:
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=20) as client:
        yield client


async def _user_of(runtime: Any, issuer: str, subject: str) -> User | None:
    async with runtime.sessionmaker() as session:
        link = (
            await session.scalars(
                select(OIDCLink).where(OIDCLink.issuer == issuer, OIDCLink.subject == subject)
            )
        ).first()
        return await session.get(User, link.user_id) if link else None


async def test_trusted_provider_signs_in_an_active_member(
    oidc_env: OIDCEnv, http: httpx.Client, runtime: Any, demo: dict[str, Any]
) -> None:
    response = run_flow(http, oidc_env, oidc_env.alpha, "bob")
    assert response.status_code == 200, response.text[:300]
    assert response.url.path == "/profile"
    assert "tx_session" in http.cookies
    user = await _user_of(runtime, oidc_env.alpha.issuer, "bob")
    assert user is not None
    assert user.status == UserStatus.ACTIVE
    assert user.email.endswith("@oidc.invalid")  # the provider's address is not the account's key
    async with runtime.sessionmaker() as session:
        member = (
            await session.scalars(select(Membership).where(Membership.user_id == user.id))
        ).all()
    assert [m.organization_id for m in member] == [demo["org:charity"]]
    # A second sign-in finds the same account by (issuer, subject).
    http.cookies.clear()
    assert run_flow(http, oidc_env, oidc_env.alpha, "bob").url.path == "/profile"
    async with runtime.sessionmaker() as session:
        links = (await session.scalars(select(OIDCLink).where(OIDCLink.subject == "bob"))).all()
    assert len(links) == 1


async def test_untrusted_provider_creates_a_pending_account_an_org_admin_approves(
    oidc_env: OIDCEnv,
    http: httpx.Client,
    runtime: Any,
    demo: dict[str, Any],
    demo_users: Any,
) -> None:
    response = run_flow(http, oidc_env, oidc_env.beta, "carol")
    assert response.status_code == 200
    assert "tx_session" not in http.cookies
    user = await _user_of(runtime, oidc_env.beta.issuer, "carol")
    assert user is not None
    assert user.status == UserStatus.PENDING
    # The union's admin sees carol on the union's page and approves her.
    with httpx.Client(base_url=oidc_env.app, trust_env=False, follow_redirects=False) as admin:
        token = await runtime.services.sessions.create(demo["union_admin"])
        admin.cookies.set("tx_session", token)
        page = admin.get(f"/organizations/{demo['org:union']}/pending-users")
        assert page.status_code == 200
        assert user.display_name in page.text
        csrf = admin.cookies.get("tx_csrf")
        done = admin.post(
            f"/organizations/{demo['org:union']}/pending-users/{user.id}/review",
            data={"decision": "approve", "_csrf_token": csrf},
        )
        assert done.status_code == 303
        # org A's admin may not see org B's pending accounts.
        other = await runtime.services.sessions.create(demo["org_admin"])
        admin.cookies.set("tx_session", other)
        assert admin.get(f"/organizations/{demo['org:union']}/pending-users").status_code == 404
    user = await _user_of(runtime, oidc_env.beta.issuer, "carol")
    assert user is not None
    assert user.status == UserStatus.ACTIVE
    http.cookies.clear()
    assert run_flow(http, oidc_env, oidc_env.beta, "carol").url.path == "/profile"


async def test_same_email_at_two_providers_stays_two_accounts(
    oidc_env: OIDCEnv, http: httpx.Client, runtime: Any
) -> None:
    run_flow(http, oidc_env, oidc_env.alpha, "alice")
    http.cookies.clear()
    run_flow(http, oidc_env, oidc_env.beta, "alice")
    a = await _user_of(runtime, oidc_env.alpha.issuer, "alice")
    b = await _user_of(runtime, oidc_env.beta.issuer, "alice")
    assert a is not None
    assert b is not None
    assert a.id != b.id
    assert (a.status, b.status) == (UserStatus.ACTIVE, UserStatus.PENDING)


def test_wrong_state_is_refused(oidc_env: OIDCEnv, http: httpx.Client) -> None:
    response = run_flow(
        http,
        oidc_env,
        oidc_env.alpha,
        "bob",
        at_callback=lambda url: _with_query(url, state="forged-" + uuid.uuid4().hex),
    )
    assert response.status_code == 400
    assert "tx_session" not in http.cookies


def test_callback_without_the_flow_cookie_is_refused(oidc_env: OIDCEnv, http: httpx.Client) -> None:
    def drop_cookie(url: str) -> str:
        http.cookies.delete("tx_oidc_flow")
        return url

    response = run_flow(http, oidc_env, oidc_env.alpha, "bob", at_callback=drop_cookie)
    assert response.status_code == 400


async def test_wrong_nonce_is_refused(oidc_env: OIDCEnv, http: httpx.Client, runtime: Any) -> None:
    """The nonce kept server-side is changed mid-flow: the real ID token no longer matches."""
    import json

    def swap_nonce(url: str) -> str:
        return url

    response = http.get(f"{oidc_env.app}/oidc/alpha/start")
    flow_id = http.cookies.get("tx_oidc_flow")
    from backend.integrations.oidc import state_digest

    key = "oidc-flow:" + state_digest(flow_id)
    flow = json.loads(await runtime.queue.pool.get(key))
    flow["nonce"] = "not-the-nonce-we-sent"
    await runtime.queue.pool.set(key, json.dumps(flow), ex=600)
    response = run_flow(
        http,
        oidc_env,
        oidc_env.alpha,
        "bob",
        at_callback=swap_nonce,
        start=response.headers["location"],
    )
    assert response.status_code == 400
    assert "tx_session" not in http.cookies


def _provider_settings(op: OP, client_id: str = "tongxin") -> OIDCProviderSettings:
    return OIDCProviderSettings(
        name=op.name, issuer=op.issuer, client_id=client_id, client_secret=op.secret(client_id)
    )


def _real_id_token(
    http: httpx.Client, op: OP, client_id: str, nonce: str, login: str = "bob"
) -> str:
    """An ID token the provider issues to ``client_id`` (driving its forms, redeeming the code)."""
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    verifier = "v" * 64
    redirect = "http://127.0.0.1:9/other/callback"
    url = f"{op.issuer}/auth?" + urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect,
            "scope": "openid",
            "state": "s",
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    response = http.get(url)
    for _ in range(20):
        location = response.headers.get("location", "")
        if location.startswith(redirect):
            code = dict(parse_qsl(urlsplit(location).query))["code"]
            tokens = http.post(
                f"{op.issuer}/token",
                auth=(client_id, op.secret(client_id)),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect,
                    "code_verifier": verifier,
                },
            )
            return str(tokens.json()["id_token"])
        if response.is_redirect:
            response = http.get(httpx.URL(op.issuer).join(location))
            continue
        action = httpx.URL(op.issuer).join(FORM_ACTION.search(response.text).group(1))  # type: ignore[union-attr]
        data = (
            {"prompt": "login", "login": login, "password": "x"}
            if 'name="login"' in response.text
            else {"prompt": "consent"}
        )
        response = http.post(action, data=data)
    raise AssertionError("no code")


async def test_token_for_another_audience_is_refused(oidc_env: OIDCEnv, http: httpx.Client) -> None:
    token = _real_id_token(http, oidc_env.alpha, "other-app", "n-1")
    registry = build_registry((_provider_settings(oidc_env.alpha),))
    try:
        with pytest.raises(OIDCError, match="aud"):
            await registry.providers["alpha"].verify_id_token(token, nonce="n-1")
        # The same kind of token for the right audience passes, so the refusal is about `aud`.
        good = _real_id_token(http, oidc_env.alpha, "other-app", "n-2")
        other = build_registry((_provider_settings(oidc_env.alpha, "other-app"),))
        identity = await other.providers["alpha"].verify_id_token(good, nonce="n-2")
        assert identity.subject == "bob"
        with pytest.raises(OIDCError, match="nonce"):
            await other.providers["alpha"].verify_id_token(good, nonce="another")
        await close_registry(other)
    finally:
        await close_registry(registry)


async def test_issuer_must_match_exactly(oidc_env: OIDCEnv, http: httpx.Client) -> None:
    token = _real_id_token(http, oidc_env.alpha, "other-app", "n-3")
    settings = OIDCProviderSettings(
        name="alpha", issuer=oidc_env.alpha.issuer + "/", client_id="other-app", client_secret="x"
    )
    registry = build_registry((settings,))
    try:
        with pytest.raises(OIDCError):
            await registry.providers["alpha"].verify_id_token(token, nonce="n-3")
    finally:
        await close_registry(registry)


async def test_key_rotation_refetches_the_jwks(
    oidc_env: OIDCEnv, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Forced refetches are throttled (JWKS_MIN_REFRESH); this test rotates within a second.
    monkeypatch.setattr("backend.integrations.oidc.JWKS_MIN_REFRESH", 0)
    registry = build_registry((_provider_settings(oidc_env.beta, "other-app"),))
    provider = registry.providers["beta"]
    try:
        first = _real_id_token(http, oidc_env.beta, "other-app", "r-1", "carol")
        await provider.verify_id_token(first, nonce="r-1")
        assert provider.jwks_fetches == 1
        assert http.post(f"{oidc_env.beta.issuer}/__rotate").status_code == 204
        http.cookies.clear()
        second = _real_id_token(http, oidc_env.beta, "other-app", "r-2", "carol")
        identity = await provider.verify_id_token(second, nonce="r-2")
        assert identity.subject == "carol"
        assert provider.jwks_fetches == 2
    finally:
        await close_registry(registry)


def test_sign_out_ends_the_session_and_goes_to_the_provider(
    oidc_env: OIDCEnv, http: httpx.Client
) -> None:
    assert run_flow(http, oidc_env, oidc_env.alpha, "bob").url.path == "/profile"
    csrf = http.cookies.get("tx_csrf")
    response = http.post(f"{oidc_env.app}/signout", data={"_csrf_token": csrf})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"{oidc_env.alpha.issuer}/session/end?")
    query = dict(parse_qsl(urlsplit(location).query))
    assert query["post_logout_redirect_uri"] == f"{oidc_env.app}/"
    assert query["id_token_hint"]
    assert http.get(f"{oidc_env.app}/profile").status_code == 303  # signed out locally
    # The provider accepts the request (its sign-out confirmation page).
    assert http.get(location).status_code == 200


def test_single_sign_on_issues_a_csrf_token_bound_to_the_new_session(
    oidc_env: OIDCEnv, http: httpx.Client
) -> None:
    before = http.get(f"{oidc_env.app}/signin").cookies.get("tx_csrf") or http.cookies.get(
        "tx_csrf"
    )
    assert run_flow(http, oidc_env, oidc_env.alpha, "bob").url.path == "/profile"
    fresh = http.cookies.get("tx_csrf")
    assert fresh and fresh != before, "single sign-on keeps the CSRF token of before sign-in"
    # The token of before sign-in no longer works for this session; the fresh one does.
    http.cookies.set("tx_csrf", before or "")
    refused = http.post(f"{oidc_env.app}/signout", data={"_csrf_token": before or ""})
    assert refused.status_code == 403
    http.cookies.set("tx_csrf", fresh)
    assert http.post(f"{oidc_env.app}/signout", data={"_csrf_token": fresh}).status_code == 303
