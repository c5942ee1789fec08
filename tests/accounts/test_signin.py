"""Local sign-in: argon2id, fresh session ids, cookie flags, lockout, CSRF, expiry."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from backend.accounts.passwords import hash_password, verify_password
from backend.core.sessions import SESSION_COOKIE, SessionStore
from tests.helpers import csrf_token, post_form


def test_argon2id_parameters() -> None:
    encoded = hash_password("correct horse battery")
    assert encoded.startswith("$argon2id$")
    # $argon2id$v=19$m=19456,t=2,p=1$...
    settings = dict(part.split("=") for part in encoded.split("$")[3].split(","))
    assert int(settings["m"]) >= 19 * 1024
    assert int(settings["t"]) >= 2
    assert verify_password(encoded, "correct horse battery")
    assert not verify_password(encoded, "wrong")
    assert not verify_password(None, "anything")


async def test_signin_sets_a_fresh_httponly_lax_session(
    client: Any, demo_users: dict[str, Any]
) -> None:
    email, password = demo_users["volunteer"]
    client.cookies.set(SESSION_COOKIE, "attacker-fixed-session-id")
    response = await post_form(
        client, "/signin", {"email": email, "password": password, "next": "/profile"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/profile"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    token = cookie.split(";")[0].split("=", 1)[1]
    assert token != "attacker-fixed-session-id"
    assert len(token) >= 40
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "secure" not in lowered  # plain-http localhost
    page = await client.get("/profile")
    assert page.status_code == 200
    assert email in page.text


async def test_signin_cookie_is_secure_outside_localhost() -> None:
    from backend.config import Settings

    assert Settings(base_url="https://tongxin.example.cn").cookies_secure
    assert not Settings(base_url="http://127.0.0.1:8000").cookies_secure


async def test_open_redirects_are_refused(client: Any, demo_users: dict[str, Any]) -> None:
    email, password = demo_users["donor"]
    response = await post_form(
        client, "/signin", {"email": email, "password": password, "next": "//evil.example/x"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_unknown_account_and_wrong_password_answer_alike(
    client: Any, demo_users: dict[str, Any]
) -> None:
    email, _ = demo_users["donor"]
    wrong = await post_form(client, "/signin", {"email": email, "password": "not-the-password"})
    unknown = await post_form(
        client, "/signin", {"email": f"ghost-{uuid.uuid4().hex}@example.com", "password": "x" * 12}
    )
    assert wrong.status_code == unknown.status_code == 422

    def message(html: str) -> str:
        start = html.index('role="alert"')
        return html[start : html.index("</", start)]

    assert message(wrong.text) == message(unknown.text)


@pytest.mark.parametrize("known", [True, False])
async def test_lockout_after_five_failures(client: Any, runtime: Any, known: bool) -> None:
    from backend.accounts.models import User, UserStatus

    email = f"lock-{uuid.uuid4().hex[:8]}@example.com"
    if known:
        async with runtime.transaction() as session:
            session.add(
                User(
                    email=email,
                    display_name="L",
                    password_hash=hash_password("right-password-1"),
                    status=UserStatus.ACTIVE,
                )
            )
    statuses = []
    for _ in range(5):
        r = await post_form(client, "/signin", {"email": email, "password": "wrong-password"})
        statuses.append(r.status_code)
    assert statuses[:4] == [422] * 4
    assert statuses[4] == 429
    locked = await post_form(client, "/signin", {"email": email, "password": "right-password-1"})
    assert locked.status_code == 429  # even the right password, while locked
    assert "15" in locked.text  # "try again in 15 minutes"


async def test_post_without_csrf_token_is_refused(client: Any, demo_users: dict[str, Any]) -> None:
    email, password = demo_users["volunteer"]
    await csrf_token(client)
    response = await client.post("/signin", data={"email": email, "password": password})
    assert response.status_code == 403
    response = await client.post(
        "/signin", data={"email": email, "password": password, "_csrf_token": "forged"}
    )
    assert response.status_code == 403


async def test_signout_ends_the_session(client: Any, demo_users: dict[str, Any]) -> None:
    email, password = demo_users["volunteer"]
    await post_form(client, "/signin", {"email": email, "password": password})
    token = client.cookies.get(SESSION_COOKIE)
    assert (await client.get("/profile", follow_redirects=False)).status_code == 200
    await post_form(client, "/signout", {})
    client.cookies.set(SESSION_COOKIE, token)  # replaying the old cookie does not work
    response = await client.get("/profile", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")


async def test_idle_and_absolute_expiry(runtime: Any) -> None:
    redis = runtime.queue.pool
    user = uuid.uuid4()
    idle = SessionStore(redis, idle_seconds=1, absolute_seconds=3600)
    token = await idle.create(user)
    assert (await idle.get(token)) is not None
    await asyncio.sleep(1.2)
    assert await idle.get(token) is None  # idle timeout

    absolute = SessionStore(redis, idle_seconds=3600, absolute_seconds=2)
    token = await absolute.create(user)
    for _ in range(3):  # activity keeps refreshing the idle timer…
        assert await absolute.get(token) is not None
        await asyncio.sleep(0.5)
    await asyncio.sleep(0.8)
    assert await absolute.get(token) is None  # …but not past the absolute limit


def test_session_defaults_match_the_policy() -> None:
    from backend.config import Settings

    s = Settings()
    assert s.session_idle_minutes == 30
    assert s.session_absolute_hours == 12
    assert s.login_max_failures == 5
    assert s.login_window_minutes == 15
