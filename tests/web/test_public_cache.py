"""The public page cache: anonymous pages come from Redis, and are never stale once the outbox
job of a change has run — for each kind of change (needs published and withdrawn, projects,
resources, tasks). Browsers get ETag / Cache-Control; signed-in pages are private; each
browser gets its own CSRF token in a cached page.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from backend.accounts.service import load_current_user
from backend.config import Settings
from backend.needs import service as needs
from backend.needs.models import Urgency
from backend.outbox.service import emit
from backend.web.cache import PublicCache, areas_for_topic, route_areas
from tests.helpers import drain_outbox, sign_in_as
from tests.households.factories import make_household, make_need


@pytest.fixture(scope="module")
def cached_app(database_url: str, redis_url: str, queue_name: str, demo: dict[str, Any]) -> Any:
    from backend.app import create_app

    return create_app(
        Settings.from_env(public_cache_seconds=300),
        database_url=database_url,
        redis_url=redis_url,
        queue_name=queue_name,
        start_worker=False,
    )


@pytest.fixture
async def anon(cached_app: Any) -> AsyncIterator[Any]:
    async with AsyncTestClient(app=cached_app, base_url="http://127.0.0.1:8000") as c:
        yield c


async def _hit(client: Any, path: str) -> Any:
    """Request twice: the second answer must come from the cache (cached answers carry an ETag)."""
    first = await client.get(path)
    assert first.status_code == 200
    second = await client.get(path)
    assert second.status_code == 200
    assert "etag" in second.headers, path
    assert second.headers["cache-control"] == "public, no-cache"
    return second


# The newest public row of each table: first on its list's page 1 (lists are newest first),
# whatever rows other tests of the session added.
PUBLIC_ROW = {
    "projects": "state NOT IN ('draft')",
    "resources": "state = 'active'",
    "volunteer_tasks": "state = 'open'",
}


async def _rename(runtime: Any, table: str, topic: str, title: str) -> uuid.UUID:
    """Change a row's title directly; with ``topic``, also write the outbox event its service
    would write. Returns the row's id."""
    async with runtime.transaction() as session:
        row_id: uuid.UUID = (
            await session.execute(
                text(
                    f"SELECT id FROM {table} WHERE {PUBLIC_ROW[table]} "
                    "ORDER BY created_at DESC LIMIT 1"
                )
            )
        ).scalar_one()
        await session.execute(
            text(f"UPDATE {table} SET title = :t WHERE id = :id"),
            {"t": title, "id": row_id},
        )
        if topic:
            await emit(session, topic=topic, aggregate_type=table.rstrip("s"), aggregate_id=row_id)
    return row_id


@pytest.mark.parametrize(
    ("table", "page", "topic"),
    [
        ("projects", "/projects/{id}", "project.update_posted"),
        ("projects", "/projects", "project.update_posted"),
        ("resources", "/resources", "resource.updated"),
        ("resources", "/resources/{id}", "resource.updated"),
        ("volunteer_tasks", "/tasks", "task.slot_added"),
        ("volunteer_tasks", "/tasks/{id}", "task.slot_added"),
    ],
)
async def test_a_change_is_served_once_its_event_ran(
    anon: Any, runtime: Any, table: str, page: str, topic: str
) -> None:
    await drain_outbox(runtime)
    row_id = await _rename(runtime, table, "", f"旧标题 {uuid.uuid4().hex[:6]}")
    path = page.format(id=row_id)
    await _hit(anon, path)
    new_title = f"新标题 {uuid.uuid4().hex[:6]}"
    await _rename(runtime, table, "", new_title)
    # without an event nothing told the cache: the stored page is still served
    assert new_title not in (await anon.get(path)).text
    await _rename(runtime, table, topic, new_title)
    await drain_outbox(runtime)
    assert new_title in (await anon.get(path)).text


async def test_publishing_and_withdrawing_a_need(
    anon: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await drain_outbox(runtime)
    title = f"需要一台电暖器 {uuid.uuid4().hex[:6]}"
    async with runtime.transaction() as session:
        user = await load_current_user(session, demo["caseworker"])
        assert user is not None
        household = await make_household(session, user.id, ages=(72,))
        need = await make_need(session, household, user.id, title=title)
        need.urgency = Urgency.EMERGENCY  # newest emergency: first on page 1
    await _hit(anon, "/needs")
    await _hit(anon, "/api/v1/needs")
    async with runtime.transaction() as session:
        user = await load_current_user(session, demo["caseworker"])
        assert user is not None
        await needs.publish(session, user, need.id)
    await drain_outbox(runtime)
    assert title in (await anon.get("/needs")).text
    assert title in (await anon.get("/api/v1/needs")).text
    detail = await _hit(anon, f"/needs/{need.id}")
    assert title in detail.text
    async with runtime.transaction() as session:
        user = await load_current_user(session, demo["caseworker"])
        assert user is not None
        await needs.withdraw(session, user, need.id, "test")
    await drain_outbox(runtime)
    assert title not in (await anon.get("/needs")).text
    assert (await anon.get(f"/needs/{need.id}")).status_code == 404


async def test_browser_caching_headers(anon: Any, runtime: Any, demo: dict[str, Any]) -> None:
    cached = await _hit(anon, "/needs")
    etag = cached.headers["etag"]
    again = await anon.get("/needs", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    await sign_in_as(anon, runtime, demo["caseworker"])
    private = await anon.get("/needs")
    assert private.status_code == 200
    assert "no-store" in private.headers["cache-control"]
    assert "etag" not in private.headers
    anon.cookies.clear()


async def test_each_browser_gets_its_own_csrf_token(cached_app: Any) -> None:
    tokens = []
    for _ in range(2):
        async with AsyncTestClient(app=cached_app, base_url="http://127.0.0.1:8000") as c:
            await c.get("/needs")
            page = await c.get("/needs")
            assert "etag" in page.headers
            token = c.cookies.get("tx_csrf")
            assert token
            assert token in page.text
            tokens.append(token)
    assert tokens[0] != tokens[1]


def test_routes_and_topics() -> None:
    assert route_areas("/needs") == ("needs",)
    assert route_areas(f"/projects/{uuid.uuid4()}") == ("projects", "needs")
    assert route_areas("/households/") is None
    assert route_areas("/needs/new") is None
    assert set(areas_for_topic("need.published")) == {"needs", "projects"}
    assert set(areas_for_topic("organization.suspended")) == {
        "needs",
        "projects",
        "resources",
        "tasks",
    }


async def test_hits_in_one_turn_share_one_read_of_the_generations(
    runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = PublicCache(runtime.queue.pool, prefix=f"pc:test:{uuid.uuid4().hex}")
    reads: list[tuple[str, ...]] = []
    real = cache.generations

    async def counted(areas: tuple[str, ...]) -> list[str]:
        reads.append(areas)
        return await real(areas)

    monkeypatch.setattr(cache, "generations", counted)
    first = await asyncio.gather(*(cache.current(("needs",)) for _ in range(10)))
    assert reads == [("needs",)]
    assert len(set(first)) == 1
    await cache.bump(("needs",))  # completed before the next request arrives: it sees it
    assert await cache.current(("needs",)) != first[0]
    assert len(reads) == 2


async def test_htmx_fragments_and_whole_pages_are_kept_apart(anon: Any) -> None:
    whole = await _hit(anon, "/needs")
    fragment = await anon.get("/needs", headers={"hx-request": "true"})
    assert fragment.status_code == 200
    assert "<html" in whole.text and "<html" not in fragment.text
    boosted = await anon.get("/needs", headers={"hx-request": "true", "hx-boosted": "true"})
    assert "<html" in boosted.text
