"""The search page and API: parameters, fragments, empty, bad input and outage states."""

from __future__ import annotations

from typing import Any

from backend.audit.service import Actor
from backend.needs.models import NeedState
from backend.needs.states import transition
from tests.helpers import drain_outbox
from tests.search.listings import ensure_categories, make_household, make_need


async def _published(runtime: Any, demo: dict[str, Any], title: str) -> str:
    actor = Actor(kind="user", id=demo["caseworker"], role="caseworker")
    async with runtime.transaction() as session:
        await ensure_categories(session)
        need = await make_need(session, demo, await make_household(session, demo), title=title)
        await transition(session, need, NeedState.PUBLISHED, actor=actor)
    await drain_outbox(runtime)
    return str(need.id)


async def test_page_api_and_fragment(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    need_id = await _published(runtime, demo, "为独居老人送防滑扶手安装服务")
    page = await client.get("/search", params={"q": "防滑扶手", "kind": "need", "region": "330100"})
    assert page.status_code == 200
    assert need_id in page.text
    assert "<mark>" in page.text
    assert 'hx-push-url="true"' in page.text
    assert "<html" in page.text
    frag = await client.get("/search?q=防滑扶手&kind=need", headers={"hx-request": "true"})
    assert frag.status_code == 200
    assert "<html" not in frag.text
    assert need_id in frag.text
    api = await client.get(
        "/api/v1/search", params={"q": "防滑扶手", "kind": "need", "region": "330100"}
    )
    body = api.json()
    assert api.status_code == 200
    assert need_id in [h["id"] for h in body["hits"]]
    assert body["query"]["kind"] == ["need"]
    assert body["facets"]["kind"] == {"need": body["total"]}
    other = await client.get("/api/v1/search", params={"q": "防滑扶手", "region": "331022"})
    assert need_id not in [h["id"] for h in other.json()["hits"]]


async def test_empty_and_invalid(client: Any) -> None:
    empty = await client.get("/search", params={"q": "绝对不存在的词语组合xyzzy"})
    assert empty.status_code == 200
    assert "search/" not in empty.text[:0]
    bad = await client.get("/api/v1/search", params={"sort": "random", "region": "abc"})
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) == {"sort", "region"}
    bad_page = await client.get("/search", params={"deadline_from": "yesterday"})
    assert bad_page.status_code == 422


async def test_engine_down_is_a_friendly_503(client: Any, app: Any) -> None:
    class Down:
        async def search(self, q: Any) -> Any:
            raise ConnectionError("meilisearch unreachable")

    services = app.state.runtime.services
    real = services.search
    services.search = Down()  # type: ignore[assignment]
    try:
        page = await client.get("/search", params={"q": "老人"})
        api = await client.get("/api/v1/search", params={"q": "老人"})
    finally:
        services.search = real
    assert page.status_code == 503
    assert "<html" in page.text
    assert api.status_code == 503
    assert api.json()["error"] == "search_unavailable"
