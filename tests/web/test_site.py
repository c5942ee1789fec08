"""Error pages in both languages, language negotiation, health, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest

from backend.core.i18n import negotiate
from tests.helpers import post_form, post_json, sign_in_as


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh_CN"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("fr-FR, en;q=0.5", "en"),
        ("en;q=0.2, zh-TW;q=0.8", "zh_CN"),
        ("de", "zh_CN"),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


@pytest.mark.parametrize(
    ("lang", "texts"),
    [("zh-CN", ("页面不存在", 'lang="zh-CN"')), ("en", ("Not found", 'lang="en"'))],
)
async def test_404_page_in_both_languages(client: Any, lang: str, texts: tuple[str, str]) -> None:
    response = await client.get("/no/such/page", headers={"accept-language": lang})
    assert response.status_code == 404
    for text in texts:
        assert text in response.text


async def test_403_page(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    await sign_in_as(client, runtime, demo["volunteer"])
    client.cookies.set("tx_lang", "en")  # the demo users' own locale is zh_CN
    response = await client.get("/admin/organizations")
    assert response.status_code == 403
    assert "Not allowed" in response.text


async def test_409_and_422_pages(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    await sign_in_as(client, runtime, demo["admin"])
    client.cookies.set("tx_lang", "en")
    bad = await post_form(
        client,
        "/admin/organizations/00000000-0000-4000-8000-000000000000/review",
        {"decision": "approve"},
    )
    assert bad.status_code == 404
    assert "Organization not found." in bad.text
    reject = await post_json(
        client,
        "/api/v1/admin/organizations/" + str(demo["org:charity"]) + "/review",
        {"approve": True},
    )
    assert reject.status_code == 409
    assert reject.json()["error"] == "conflict"
    invalid = await post_json(client, "/api/v1/organizations", {"name": 3})
    assert invalid.status_code in (400, 422)


async def test_500_page_hides_details(database_url: str, redis_url: str) -> None:
    from litestar import get
    from litestar.testing import AsyncTestClient

    from backend.app import create_app
    from backend.config import get_settings

    @get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    broken = create_app(
        get_settings(),
        database_url=database_url,
        redis_url=redis_url,
        start_worker=False,
        extra_handlers=[boom],
    )
    async with AsyncTestClient(app=broken) as c:
        for lang, text in (("zh-CN", "出错了"), ("en", "Something went wrong")):
            response = await c.get("/boom", headers={"accept-language": lang})
            assert response.status_code == 500
            assert text in response.text
            assert "secret internal detail" not in response.text


async def test_healthz(client: Any) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


async def test_openapi_schema(client: Any) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/me" in paths
    assert "/healthz" in paths


async def test_language_switch_sets_cookie_and_stays_on_page(client: Any) -> None:
    response = await post_form(client, "/lang", {"locale": "en", "next": "/signin"})
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"
    page = await client.get("/signin")
    assert 'lang="en"' in page.text
    await post_form(client, "/lang", {"locale": "zh_CN", "next": "/"})
    page = await client.get("/signin")
    assert 'lang="zh-CN"' in page.text
