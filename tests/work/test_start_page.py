"""The caseworker's start page: sign-in lands there, each count moves with the data it counts
and links to a list that shows the same rows, blocked drafts are remembered past the refused
request, and other roles neither land there nor open it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from backend.households import service as hs
from backend.households.models import Household
from backend.needs.models import Need, NeedState
from backend.web.landing import LANDING, landing_for_roles
from tests.helpers import post_form, sign_in_as
from tests.households.factories import make_household, make_need


async def _tiles(client: Any) -> dict[str, tuple[int, str]]:
    response = await client.get("/work")
    assert response.status_code == 200, response.text[:300]
    tiles = re.findall(
        r'<a class="work-card" href="([^"]+)" data-tile="(\w+)">\s*<span class="n[^"]*">(\d+)',
        response.text,
    )
    return {key: (int(n), href.replace("&amp;", "&")) for href, key, n in tiles}


def test_landing_table_is_one_small_table() -> None:
    from backend.accounts.models import Role

    assert landing_for_roles([Role.CASEWORKER, Role.VOLUNTEER]) == "/work"
    assert landing_for_roles([Role.VOLUNTEER, Role.DONOR]) == "/"
    assert len({role for role, _ in LANDING}) == len(LANDING)


async def test_signin_lands_on_the_role_start_page(
    client: Any, demo_users: dict[str, tuple[str, str]]
) -> None:
    email, password = demo_users["caseworker"]
    response = await post_form(client, "/signin", {"email": email, "password": password})
    assert response.status_code == 303
    assert response.headers["location"] == "/work"
    page = await client.get("/work")
    assert 'href="/work" aria-current="page"' in page.text  # the header's way back
    client.cookies.clear()
    response = await post_form(
        client, "/signin", {"email": email, "password": password, "next": "/households"}
    )
    assert response.headers["location"] == "/households"  # an explicit next still wins
    client.cookies.clear()
    email, password = demo_users["volunteer"]
    response = await post_form(client, "/signin", {"email": email, "password": password})
    assert response.headers["location"] == "/"


async def test_counts_move_and_link_to_their_lists(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, demo["caseworker"])
    before = await _tiles(client)
    assert set(before) == {
        "blocked",
        "expiring",
        "lapsed",
        "consent",
        "confirm",
        "disputes",
        "referrals",
        "visits_due",
        "visits_overdue",
        "lists",
        "deadlines",
    }
    today = hs.today_local()
    async with runtime.transaction() as session:
        lapsed = await make_household(session, demo["caseworker"])
        expiring = await make_household(session, demo["caseworker"])
        no_consent = await make_household(session, demo["caseworker"], consent=False)
        await session.execute(
            update(Household)
            .where(Household.id == lapsed.id)
            .values(verified_until=today - timedelta(days=3))
        )
        await session.execute(
            update(Household)
            .where(Household.id == expiring.id)
            .values(verified_until=today + timedelta(days=10))
        )
        due = await make_need(
            session, no_consent, demo["caseworker"], state=NeedState.PUBLISHED, title="需要轮椅一台"
        )
        await session.execute(
            update(Need).where(Need.id == due.id).values(deadline=today + timedelta(days=5))
        )
    after = await _tiles(client)
    for key in ("lapsed", "expiring", "consent", "deadlines"):
        assert after[key][0] == before[key][0] + 1, key
    for key in ("blocked", "referrals", "disputes"):
        assert after[key][0] == before[key][0], key

    # each count opens a list that exists and shows the row counted
    for key, (_, href) in after.items():
        listed = await client.get(href)
        assert listed.status_code == 200, (key, href)
    lapsed_list = await client.get(after["lapsed"][1])
    assert f"/households/{lapsed.id}" in lapsed_list.text
    expiring_list = await client.get(after["expiring"][1])
    assert f"/households/{expiring.id}" in expiring_list.text
    assert f"/households/{lapsed.id}" not in expiring_list.text
    consent_list = await client.get(after["consent"][1])
    assert f"/households/{no_consent.id}" in consent_list.text
    deadlines = await client.get("/work/deadlines")
    assert f"/households/needs/{due.id}" in deadlines.text


async def test_a_refused_publication_is_remembered(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, demo["caseworker"])
    async with runtime.transaction() as session:
        household = await make_household(session, demo["caseworker"])
        need = await make_need(
            session, household, demo["caseworker"], body="请拨打 13912345678 联系户主。"
        )
    before = (await _tiles(client))["blocked"][0]
    refused = await post_form(client, f"/households/needs/{need.id}/publish", {})
    assert refused.status_code == 422
    async with runtime.sessionmaker() as session:
        stored = await session.scalar(select(Need.publish_blocked).where(Need.id == need.id))
        state = await session.scalar(select(Need.state).where(Need.id == need.id))
    assert stored == "scanner"
    assert state == NeedState.DRAFT  # the refused request itself changed nothing
    assert (await _tiles(client))["blocked"][0] == before + 1
    blocked = await client.get("/work/blocked")
    assert f"/households/needs/{need.id}" in blocked.text
    # editing the draft takes it off the list until the next try
    edited = await post_form(
        client,
        f"/households/needs/{need.id}",
        {
            "category": "goods",
            "title": "需要冬季棉被",
            "body": "家中老人怕冷。",
            "quantity": "2",
            "unit": "床",
            "urgency": "normal",
        },
    )
    assert edited.status_code == 303, edited.text[:300]
    assert f"/households/needs/{need.id}" not in (await client.get("/work/blocked")).text


async def test_other_roles_do_not_open_it(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    await sign_in_as(client, runtime, demo["volunteer"])
    assert (await client.get("/work", follow_redirects=False)).status_code == 403
    page = await client.get("/needs")
    assert 'href="/work"' not in page.text
