"""The signed-in caseworker list from memory (backend/web/cache.py, "Signed-in pages"):
a repeated request is answered from this process's memory without a statement (the user too,
while the identity generations hold);
a caseworker who registers or edits a household, or changes a need, sees it on the very next
request; a change made by another process reaches it through the shared generations; another
user, or the same user with other roles, never gets this page; nothing of it goes to Redis.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from backend.accounts.models import Role, RoleGrant
from backend.accounts.service import load_current_user
from backend.config import Settings
from backend.core.sessions import SESSION_COOKIE
from backend.needs import service as needs
from backend.needs.models import Urgency
from backend.outbox.service import emit
from backend.web import cache
from tests.helpers import drain_outbox, post_form, sign_in_as
from tests.households.factories import fake_id, make_household, make_need

LIST = "/households/"


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
async def caseworker(
    cached_app: Any, runtime: Any, demo: dict[str, Any]
) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=cached_app, base_url="http://127.0.0.1:8000") as c:
        await sign_in_as(c, runtime, demo["caseworker"])
        yield c


@contextmanager
def statements() -> Iterator[list[int]]:
    box = [0]

    def seen(*_: Any) -> None:
        box[0] += 1

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        yield box
    finally:
        event.remove(Engine, "before_cursor_execute", seen)


async def _get(client: AsyncTestClient[Any]) -> tuple[Any, int]:
    with statements() as box:
        page = await client.get(LIST)
    assert page.status_code == 200
    return page, box[0]


async def _cached(client: AsyncTestClient[Any]) -> Any:
    """Request the list until it is stored, then once more: that answer came from memory."""
    await _get(client)
    page, count = await _get(client)
    assert count == 0, "a hit reads the session and the generations from Redis only"
    return page


def _total(page: Any) -> int:
    found = re.search(r'<p class="count" role="status">\D*?(\d+)', page.text)
    assert found is not None
    return int(found.group(1))


def _form(**fields: str) -> dict[str, str]:
    return {
        "head_name": "缓存测试",
        "id_number": fake_id("330106"),
        "region_code": "330106004053",
        "category": "dibao",
        "phone": "13812345678",
        "address": "浙江省杭州市西湖区西溪街道文三路1号",
        "member_ages": "70, 68",
        **fields,
    }


async def test_a_repeat_is_served_from_memory_and_never_stored_in_redis(
    caseworker: AsyncTestClient[Any], runtime: Any
) -> None:
    first, _ = await _get(caseworker)
    again = await _cached(caseworker)
    assert again.text == first.text
    assert again.headers["cache-control"] == "no-store"
    assert "etag" not in again.headers
    token = caseworker.cookies.get("tx_csrf")
    assert token
    assert token in again.text  # the browser's own CSRF token filled in
    redis = runtime.queue.pool
    keys = [k.decode() async for k in redis.scan_iter(match="pc:*")]
    assert not [k for k in keys if "household" in k and ":gen:" not in k]
    for key in keys:
        if (await redis.type(key)) == b"string":
            value = await redis.get(key)
            assert b"/households/" not in value


async def test_registering_and_editing_show_on_the_very_next_request(
    caseworker: AsyncTestClient[Any],
) -> None:
    before = _total(await _cached(caseworker))
    form = _form()
    created = await post_form(caseworker, "/households/", form)
    assert created.status_code == 303, created.text
    page, count = await _get(caseworker)
    assert count > 1
    assert _total(page) == before + 1
    household_id = created.headers["location"].split("?")[0].rsplit("/", 1)[1]
    assert household_id in page.text
    cached = await _cached(caseworker)
    assert "特困" not in cached.text.split(household_id, 1)[1].split("</tr>", 1)[0]
    edited = await post_form(
        caseworker, f"/households/{household_id}/edit", {**form, "category": "tekun"}
    )
    assert edited.status_code == 303, edited.text
    page, count = await _get(caseworker)
    assert count > 1
    assert "特困" in page.text.split(household_id, 1)[1].split("</tr>", 1)[0]


async def test_a_need_change_renders_the_list_again(
    caseworker: AsyncTestClient[Any], runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as session:
        user = await load_current_user(session, demo["caseworker"])
        assert user is not None
        household = await make_household(session, user.id, ages=(75,))
        need = await make_need(session, household, user.id)
    await _cached(caseworker)
    async with runtime.transaction() as session:
        user = await load_current_user(session, demo["caseworker"])
        assert user is not None
        await needs.publish(session, user, need.id)
    _, count = await _get(caseworker)
    assert count > 1


async def test_a_change_from_another_process_arrives_through_redis(
    caseworker: AsyncTestClient[Any], runtime: Any, demo: dict[str, Any]
) -> None:
    """A change this process never saw committed (raw SQL on a connection of its own) is
    picked up once an outbox job bumped the shared generation, as another worker's would."""
    page = await _cached(caseworker)
    row = re.search(r'href="/households/([0-9a-f-]{36})"', page.text)
    assert row is not None
    household_id = uuid.UUID(row.group(1))
    local = dict(cache._local_generations)
    async with runtime.engine.connect() as conn:  # no ORM session: nothing noted
        await conn.execute(
            text("UPDATE households SET vulnerability = 97 WHERE id = :id"), {"id": household_id}
        )
        await conn.commit()
    assert cache._local_generations == local
    assert (await _get(caseworker))[1] == 0  # still the stored page: nothing told the cache
    await drain_outbox(runtime)
    async with runtime.transaction() as session:
        await emit(
            session,
            topic="household.updated",
            aggregate_type="household",
            aggregate_id=household_id,
        )
    cache._local_generations.clear()
    cache._local_generations.update(local)  # as in another process: only Redis was bumped
    await drain_outbox(runtime)
    page, count = await _get(caseworker)
    assert count > 1
    assert "97" in page.text.split(str(household_id), 1)[1].split("</tr>", 1)[0]


async def test_another_user_or_other_roles_never_get_this_page(
    caseworker: AsyncTestClient[Any], runtime: Any, demo: dict[str, Any]
) -> None:
    mine = await _cached(caseworker)
    own_session = caseworker.cookies.get(SESSION_COOKIE)
    await sign_in_as(caseworker, runtime, demo["coordinator"])  # same browser, another user
    refused = await caseworker.get(LIST)
    assert refused.status_code == 403
    assert refused.text != mine.text
    caseworker.cookies.set(SESSION_COOKIE, str(own_session))
    assert (await _get(caseworker))[1] == 0  # still stored for its own user
    # the same user with one more role: a new identity, so a new key (rendered, not served)
    async with runtime.transaction() as session:
        session.add(RoleGrant(user_id=demo["caseworker"], role=Role.VOLUNTEER, region_code=None))
    try:
        page, count = await _get(caseworker)
        assert count > 1
        assert "/volunteer/hours" in page.text and "/volunteer/hours" not in mine.text
    finally:
        async with runtime.transaction() as session:
            await session.execute(
                text("DELETE FROM role_grants WHERE user_id = :u AND role = 'volunteer'"),
                {"u": demo["caseworker"]},
            )


async def test_a_role_change_in_another_process_arrives_through_redis(
    caseworker: AsyncTestClient[Any], runtime: Any, demo: dict[str, Any]
) -> None:
    """The user kept in memory is loaded again once the shared identity generation moved."""
    mine = await _cached(caseworker)
    local = dict(cache._local_generations)
    async with runtime.transaction() as session:
        session.add(RoleGrant(user_id=demo["caseworker"], role=Role.DONOR, region_code=None))
    cache._local_generations.clear()
    cache._local_generations.update(local)  # as in another process: only Redis was bumped
    try:
        page, count = await _get(caseworker)
        assert count > 1
        assert "/me/donations" in page.text and "/me/donations" not in mine.text
    finally:
        async with runtime.transaction() as session:
            await session.execute(
                text("DELETE FROM role_grants WHERE user_id = :u AND role = 'donor'"),
                {"u": demo["caseworker"]},
            )


async def test_an_organizations_claimable_needs(
    caseworker: AsyncTestClient[Any], runtime: Any, demo: dict[str, Any]
) -> None:
    """The same store serves an organization's claimable needs to its member; a need published
    for the organization's area shows on the next request; a non-member is refused."""
    url = f"/org/{demo['org:charity']}/needs"
    await sign_in_as(caseworker, runtime, demo["org_member"])
    with statements() as box:
        first = await caseworker.get(url)
        again = await caseworker.get(url)
    assert first.status_code == again.status_code == 200
    assert box[0] > 0
    with statements() as box:
        assert (await caseworker.get(url)).text == again.text
    assert box[0] == 0
    title = f"缓存测试需求 {uuid.uuid4().hex[:6]}"
    async with runtime.transaction() as session:
        user = await load_current_user(session, demo["caseworker"])
        assert user is not None
        household = await make_household(session, user.id, ages=(80,))
        need = await make_need(session, household, user.id, title=title)
        need.urgency = Urgency.EMERGENCY  # newest emergency: first on page 1
    async with runtime.transaction() as session:
        user = await load_current_user(session, demo["caseworker"])
        assert user is not None
        await needs.publish(session, user, need.id)
    assert title in (await caseworker.get(url)).text
    await sign_in_as(caseworker, runtime, demo["caseworker"])
    assert (await caseworker.get(url)).status_code in (403, 404)


def test_the_store_is_bounded() -> None:
    store = cache.PrivateCache(ttl=60, max_entries=3, max_bytes=1000)
    for n in range(5):
        store.put(("k", n), [], b"x" * 100)
    assert len(store.entries) == 3
    assert store.get(("k", 0)) is None
    assert store.get(("k", 4)) is not None
    store.put(("big",), [], b"x" * 900)  # over an eighth of the budget: not kept
    assert store.get(("big",)) is None
    for n in range(5, 15):
        store.put(("k", n), [], b"x" * 300)
    assert store.size <= 1000
    expired = cache.PrivateCache(ttl=0)
    expired.put(("k",), [], b"x")
    assert expired.get(("k",)) is None
