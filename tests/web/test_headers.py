"""Security headers on every route of the role × route matrix (issue 15 point 3)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from tests.access import ACTOR_USERS, Ctx, Row
from tests.helpers import sign_in_as
from tests.test_access_matrix import ROWS

# Every GET route, as a few actors that between them reach every kind of page.
HEADER_ACTORS = ("anonymous", "member_a", "caseworker_x", "admin")
GET_CELLS = [(row, actor) for row in ROWS if row.method == "GET" for actor in HEADER_ACTORS]
SCRIPT_RE = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
HANDLER_RE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTR_RE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)


def _cell_id(cell: tuple[Row, str]) -> str:
    row, actor = cell
    return f"{row.route} {row.note} [{actor}]".replace("  ", " ")


def assert_security_headers(response: Any, *, signed_in: bool) -> None:
    h = response.headers
    csp = h.get("content-security-policy", "")
    assert "default-src 'self'" in csp, csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert not re.search(r"https?://", csp), "no third-party origin"
    assert h.get("x-content-type-options") == "nosniff"
    assert h.get("referrer-policy") == "same-origin"
    assert "strict-transport-security" not in h  # the test base URL is http
    if signed_in:
        assert "no-store" in h.get("cache-control", ""), h.get("cache-control")


def assert_no_inline_code(html: str, csp: str) -> None:
    nonce = re.search(r"'nonce-([^']+)'", csp)
    for attrs in SCRIPT_RE.findall(html):
        if "src=" in attrs:
            src = re.search(r'src="([^"]+)"', attrs)
            assert src and src.group(1).startswith("/"), f"third-party script: {attrs}"
        else:
            assert nonce and f'nonce="{nonce.group(1)}"' in attrs, f"inline script: {attrs}"
    assert not HANDLER_RE.search(html), "inline event handler"
    # an e-mail preview (the development mailbox) is escaped into a sandboxed srcdoc
    page_html = re.sub(r'srcdoc="[^"]*"', 'srcdoc=""', html)
    assert not STYLE_ATTR_RE.search(page_html), "inline style attribute"
    assert not re.search(r'(?:src|href)="https?://', html), "third-party asset"


@pytest.mark.parametrize("cell", GET_CELLS, ids=[_cell_id(c) for c in GET_CELLS])
async def test_headers_on_every_route(
    cell: tuple[Row, str], client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    row, actor = cell
    user_id = demo[ACTOR_USERS[actor]] if actor != "anonymous" else None
    if user_id is not None:
        await sign_in_as(client, runtime, user_id)
    url = await row.build_url(Ctx(runtime=runtime, demo=demo, actor=actor, user_id=user_id))
    response = await client.get(url, follow_redirects=False)
    assert_security_headers(response, signed_in=user_id is not None)
    if response.headers.get("content-type", "").startswith("text/html"):
        assert_no_inline_code(response.text, response.headers["content-security-policy"])


async def test_headers_on_errors_and_unknown_routes(client: Any) -> None:
    for url in ("/no-such-page", "/api/v1/no-such", "/needs?page=0", "/api/v1/needs?urgency=0"):
        assert_security_headers(await client.get(url), signed_in=False)


async def test_the_nonce_changes_per_request(client: Any) -> None:
    first = (await client.get("/")).headers["content-security-policy"]
    second = (await client.get("/")).headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", first)
    assert nonce and nonce.group(0) not in second


async def test_household_self_service_is_not_stored(client: Any) -> None:
    client.cookies.set("tx_household", "anything")
    response = await client.get("/my")
    assert "no-store" in response.headers.get("cache-control", "")


async def test_swagger_ui_is_vendored(client: Any) -> None:
    page = await client.get("/schema/swagger")
    assert page.status_code == 200
    assert_no_inline_code(page.text, page.headers["content-security-policy"])
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert (await client.get(asset)).status_code == 200, asset


async def test_hsts_when_the_base_url_is_https(database_url: str, redis_url: str) -> None:
    from litestar.testing import AsyncTestClient

    from backend.app import create_app
    from backend.config import get_settings

    settings = dataclasses.replace(get_settings(), base_url="https://tongxin.example.org")
    app = create_app(settings, database_url=database_url, redis_url=redis_url, start_worker=False)
    async with AsyncTestClient(app=app, base_url="https://tongxin.example.org") as c:
        response = await c.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")
