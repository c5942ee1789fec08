"""Issue 20 point 7 and related: a need's progress and the way to help on its public page,
claim forms that offer only resources with something left, releasing only before anything was
handed over, editing a resource, and funds typed in yuan."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from backend.accounts.service import load_current_user
from backend.audit.models import AuditEntry
from backend.core.db import utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.money import fen_to_yuan, yuan_to_fen
from backend.core.storage import LocalStorage
from backend.demo.organizations import make_household, make_published_need
from backend.fulfilment import service as fulfilment
from backend.needs import service as needs
from backend.needs.models import Need, NeedState
from backend.outbox.models import OutboxEvent
from backend.privacy.gate import PersonalDataFound
from backend.resources import service
from backend.resources.models import Claim, ClaimState, Resource, ResourceKind
from tests.helpers import drain_outbox, post_form, sign_in_as

CHARITY = "org:charity"


@pytest.fixture(autouse=True, scope="module")
async def _close_our_resources(runtime: Any, demo: dict[str, Any]) -> AsyncIterator[None]:
    """The resources these tests commit for the demo charity are closed afterwards, so the
    charity's public profile (its six newest active offers) shows its demo offers again."""
    started = utcnow()
    yield
    async with runtime.transaction() as session:
        await session.execute(
            text(
                "UPDATE resources SET state = 'closed' "
                "WHERE organization_id = :org AND created_at >= :t AND state <> 'closed'"
            ),
            {"org": demo[CHARITY], "t": started},
        )


async def _get(client: Any, url: str, lang: str) -> Any:
    client.cookies.set("tx_lang", lang)
    return await client.get(url)


async def _user(session: Any, demo: dict[str, Any], key: str) -> Any:
    user = await load_current_user(session, demo[key])
    assert user is not None
    return user


async def _need(session: Any, demo: dict[str, Any], **kw: Any) -> Need:
    household = await make_household(session, registered_by=demo["caseworker"])
    args: dict[str, Any] = {"title": "大米 100 公斤", "quantity": 100, "unit": "kg"}
    args.update(kw)
    return await make_published_need(
        session, household=household, created_by=demo["caseworker"], **args
    )


async def _resource(session: Any, demo: dict[str, Any], **kw: Any) -> Resource:
    member = await _user(session, demo, "org_member")
    args: dict[str, Any] = {
        "kind": "goods",
        "category": "goods",
        "title": "爱心大米",
        "unit": "kg",
        "capacity": 100,
        "service_area": ["330106"],
    }
    args.update(kw)
    return await service.create_resource(session, member, demo[CHARITY], **args)


# ---------------------------------------------------------------- progress


async def test_progress_figures_with_units(db: Any, demo: dict[str, Any]) -> None:
    need = await _need(db, demo)
    member = await _user(db, demo, "org_member")
    await service.claim_need(
        db, member, need_id=need.id, organization_id=demo[CHARITY], quantity=40
    )
    progress = await needs.public_progress(db, need.id)
    assert progress is not None
    assert (progress.total, progress.pledged, progress.owed, progress.unit) == (100, 40, 60, "kg")
    assert progress.percent == 40
    assert not progress.is_amount

    # No unit written: the item kind's unit (rice counts in 斤 first, items.csv).
    bare = await _need(db, demo, title="大米", quantity=30, unit="")
    bare.item_kind = "rice"
    assert (await needs.public_progress(db, bare.id)).unit == "斤"  # type: ignore[union-attr]

    money = await _need(db, demo, category="housing_repair", quantity=None, amount_fen=500_000)
    figures = await needs.public_progress(db, money.id)
    assert figures is not None
    assert figures.is_amount
    assert (figures.total, figures.unit) == (500_000, "")


async def test_need_page_shows_progress_and_helper_after_a_claim(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as session:
        need = await _need(session, demo)
    page = await _get(client, f"/needs/{need.id}", "en")
    assert "0 kg pledged of 100 kg needed" in page.text
    assert "Helped by" not in page.text
    async with runtime.transaction() as session:
        member = await _user(session, demo, "org_member")
        await service.claim_need(
            session, member, need_id=need.id, organization_id=demo[CHARITY], quantity=40
        )
    page = await _get(client, f"/needs/{need.id}", "en")
    assert "40 kg pledged of 100 kg needed" in page.text
    assert "Still needed: 60 kg" in page.text
    assert "西湖区慈善总会" in page.text
    zh = await _get(client, f"/needs/{need.id}", "zh_CN")
    assert "需要 100 kg，已认领 40 kg" in zh.text
    assert "帮扶组织" in zh.text


async def test_amount_need_page_shows_yuan(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    async with runtime.transaction() as session:
        need = await _need(
            session,
            demo,
            title="屋顶修缮",
            category="housing_repair",
            quantity=None,
            unit="",
            amount_fen=1_000_050,
        )
    page = await _get(client, f"/needs/{need.id}", "en")
    assert "¥0.00 pledged of ¥10,000.50 needed" in page.text
    assert "1000050" not in page.text


# ---------------------------------------------------------------- the help action


async def test_help_options_follow_the_claim_rules(db: Any, demo: dict[str, Any]) -> None:
    need = await _need(db, demo)
    member = await _user(db, demo, "org_member")
    [option] = await service.help_options(db, member, need.id)
    assert option.organization_id == demo[CHARITY]
    assert option.allowed
    # The union serves 三门县 only: refused with the service-area reason.
    union = await _user(db, demo, "union_admin")
    [far] = await service.help_options(db, union, need.id)
    assert not far.allowed
    assert "service area" in far.reason
    with pytest.raises(Invalid):
        await service.claim_need(db, union, need_id=need.id, organization_id=demo["org:union"])
    # Someone in no organization gets no option at all.
    assert await service.help_options(db, await _user(db, demo, "volunteer"), need.id) == []
    # Once taken as a whole the need is no longer open: the reason says so.
    await service.claim_need(db, member, need_id=need.id, organization_id=demo[CHARITY])
    [closed] = await service.help_options(db, member, need.id)
    assert not closed.allowed
    assert closed.reason == "This need is no longer open for claims."


async def test_help_action_on_the_page_per_user(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as session:
        need = await _need(session, demo)
    claim_url = f"/org/{demo[CHARITY]}/needs/{need.id}/claim"
    anonymous = await _get(client, f"/needs/{need.id}", "en")
    assert "Sign in to help" in anonymous.text
    assert claim_url not in anonymous.text
    await sign_in_as(client, runtime, demo["org_member"])
    member = await _get(client, f"/needs/{need.id}", "en")
    assert claim_url in member.text
    assert "Help with this" in member.text
    assert "no-store" in member.headers["cache-control"]
    await sign_in_as(client, runtime, demo["union_admin"])
    union = await _get(client, f"/needs/{need.id}", "en")
    assert "/claim" not in union.text
    assert "outside your organization's service area" in union.text
    await sign_in_as(client, runtime, demo["volunteer"])
    volunteer = await _get(client, f"/needs/{need.id}", "en")
    assert "/claim" not in volunteer.text
    # Once the member's organization took the whole need: no action, a link to its claim.
    async with runtime.transaction() as session:
        user = await _user(session, demo, "org_member")
        claim = await service.claim_need(
            session, user, need_id=need.id, organization_id=demo[CHARITY]
        )
    await sign_in_as(client, runtime, demo["org_member"])
    taken = await _get(client, f"/needs/{need.id}", "en")
    assert f"/claims/{claim.id}" in taken.text
    assert claim_url not in taken.text
    assert "no longer open" not in taken.text
    client.cookies.clear()


async def test_the_cached_page_updates_after_a_claim_and_never_holds_the_action(
    runtime: Any, demo: dict[str, Any], database_url: str, redis_url: str, queue_name: str
) -> None:
    from litestar.testing import AsyncTestClient

    from backend.app import create_app
    from backend.config import Settings

    app = create_app(
        Settings.from_env(public_cache_seconds=300),
        database_url=database_url,
        redis_url=redis_url,
        queue_name=queue_name,
        start_worker=False,
    )
    async with runtime.transaction() as session:
        need = await _need(session, demo)
    path = f"/needs/{need.id}"
    await drain_outbox(runtime)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as member:
        await sign_in_as(member, runtime, demo["org_member"])
        assert "/claim" in (await member.get(path)).text  # rendered for the member, not stored
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as anon:
        anon.cookies.set("tx_lang", "en")
        await anon.get(path)
        cached = await anon.get(path)
        assert "etag" in cached.headers
        assert "0 kg pledged of 100 kg needed" in cached.text
        assert "/claim" not in cached.text
        async with runtime.transaction() as session:
            user = await _user(session, demo, "org_member")
            await service.claim_need(
                session, user, need_id=need.id, organization_id=demo[CHARITY], quantity=40
            )
        await drain_outbox(runtime)
        fresh = await anon.get(path)
        assert "40 kg pledged of 100 kg needed" in fresh.text
        assert "西湖区慈善总会" in fresh.text


# ---------------------------------------------------------------- the claim form


async def test_claim_form_offers_only_resources_with_something_left(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as session:
        need = await _need(session, demo)
        tag = uuid.uuid4().hex[:6]
        empty = await _resource(session, demo, title=f"已发完的大米 {tag}", capacity=5)
        empty.remaining = 0
        full = await _resource(session, demo, title=f"还有的大米 {tag}", capacity=50)
        other = await _resource(
            session, demo, title=f"辅导服务 {tag}", kind="service", category="education"
        )
        bags = await _resource(session, demo, title=f"袋装大米 {tag}", unit="袋", capacity=9)
    await sign_in_as(client, runtime, demo["org_member"])
    page = await client.get(f"/org/{demo[CHARITY]}/needs/{need.id}/claim")
    assert page.status_code == 200
    assert str(full.id) in page.text
    assert str(empty.id) not in page.text
    assert str(other.id) not in page.text
    assert str(bags.id) not in page.text  # counted in bags, the need in kg
    # Typing a bad number is an error next to the field, not "all of it".
    bad = await post_form(
        client, f"/org/{demo[CHARITY]}/needs/{need.id}/claim", {"quantity": "abc"}
    )
    assert bad.status_code == 422
    client.cookies.clear()


async def test_claim_form_for_an_amount_takes_yuan(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as session:
        need = await _need(
            session,
            demo,
            title="屋顶修缮",
            category="housing_repair",
            quantity=None,
            unit="",
            amount_fen=1_000_000,
        )
    await sign_in_as(client, runtime, demo["org_member"])
    url = f"/org/{demo[CHARITY]}/needs/{need.id}/claim"
    form = await _get(client, url, "en")
    assert 'value="10000.00"' in form.text
    assert "1000000" not in form.text
    done = await post_form(client, url, {"quantity": "2500.50"})
    assert done.status_code == 303
    async with runtime.sessionmaker() as session:
        claim = (await session.scalars(select(Claim).where(Claim.need_id == need.id))).one()
        assert claim.quantity == 250_050
    client.cookies.clear()


# ---------------------------------------------------------------- release (放弃认领)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "uploads")


async def _deliver(db: Any, member: Any, claim_id: uuid.UUID, storage: LocalStorage) -> None:
    opened = await fulfilment.open_for_claim(db, member, claim_id)
    await fulfilment.record_delivery(
        db,
        member,
        opened.id,
        fulfilment.DeliveryIn(
            delivered_on=fulfilment.today_local(), description="大米", quantity=10
        ),
        photos=[],
        storage=storage,
    )


async def test_release_refused_once_something_was_delivered(
    db: Any, demo: dict[str, Any], storage: LocalStorage
) -> None:
    member = await _user(db, demo, "org_member")
    need = await _need(db, demo)
    claim = await service.claim_need(
        db, member, need_id=need.id, organization_id=demo[CHARITY], quantity=40
    )
    assert await service.can_release(db, claim, need)
    await _deliver(db, member, claim.id, storage)
    assert not await service.can_release(db, claim, need)
    with pytest.raises(Conflict) as refused:
        await service.release_claim(db, member, claim.id, "送不到了")
    assert refused.value.code == "delivered"
    assert refused.value.status_code == 409
    assert claim.state == ClaimState.ACTIVE
    assert need.pledged == 40

    # A need that has moved on (delivered) cannot be released from either.
    other = await _need(db, demo, title="棉被")
    whole = await service.claim_need(db, member, need_id=other.id, organization_id=demo[CHARITY])
    other.state = NeedState.DELIVERED
    with pytest.raises(Conflict) as moved:
        await service.release_claim(db, member, whole.id, "reason")
    assert moved.value.code == "need_state"
    # And a released claim cannot be released twice.
    third = await _need(db, demo, title="米油")
    taken = await service.claim_need(db, member, need_id=third.id, organization_id=demo[CHARITY])
    await service.release_claim(db, member, taken.id, "无法配送")
    with pytest.raises(Conflict):
        await service.release_claim(db, member, taken.id, "again")


async def test_a_delivered_claim_page_offers_no_release(
    client: Any, runtime: Any, demo: dict[str, Any], storage: LocalStorage
) -> None:
    async with runtime.transaction() as session:
        member = await _user(session, demo, "org_member")
        need = await _need(session, demo)
        claim = await service.claim_need(
            session, member, need_id=need.id, organization_id=demo[CHARITY]
        )
    await sign_in_as(client, runtime, demo["org_member"])
    page = await _get(client, f"/claims/{claim.id}", "zh_CN")
    assert f"/claims/{claim.id}/release" in page.text
    async with runtime.transaction() as session:
        member = await _user(session, demo, "org_member")
        await _deliver(session, member, claim.id, storage)
    page = await _get(client, f"/claims/{claim.id}", "zh_CN")
    assert f"/claims/{claim.id}/release" not in page.text
    assert "放弃认领" not in page.text or "不能再放弃认领" in page.text
    refused = await post_form(client, f"/claims/{claim.id}/release", {"reason": "送不到"})
    assert refused.status_code == 409
    client.cookies.clear()


async def test_withdrawing_releases_claims_and_is_refused_once_help_was_handed_over(
    db: Any, demo: dict[str, Any], storage: LocalStorage
) -> None:
    caseworker = await _user(db, demo, "caseworker")
    member = await _user(db, demo, "org_member")
    resource = await _resource(db, demo, capacity=100)
    need = await _need(db, demo)
    claim = await service.claim_need(
        db,
        member,
        need_id=need.id,
        organization_id=demo[CHARITY],
        resource_id=resource.id,
        quantity=40,
    )
    # Back to draft is refused while organizations have pledged.
    with pytest.raises(Conflict) as pledged:
        await needs.reopen(db, caseworker, need.id)
    assert pledged.value.code == "pledged"
    await needs.withdraw(db, caseworker, need.id, "")
    assert need.state == NeedState.WITHDRAWN
    assert (claim.state, claim.release_reason) == (ClaimState.RELEASED, "need_withdrawn")
    assert need.pledged == 0
    assert resource.remaining == 100
    released = (
        await db.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == str(claim.id), AuditEntry.action == "claim.released"
            )
        )
    ).one()
    assert released.detail["reason"] == "need_withdrawn"

    # Once a delivery is recorded (in progress) and later: 409.
    other = await _need(db, demo, title="棉被")
    whole = await service.claim_need(db, member, need_id=other.id, organization_id=demo[CHARITY])
    await _deliver(db, member, whole.id, storage)
    assert other.state == NeedState.IN_PROGRESS
    for state in (NeedState.IN_PROGRESS, NeedState.DELIVERED):
        other.state = state
        with pytest.raises(Conflict) as refused:
            await needs.withdraw(db, caseworker, other.id, "")
        assert refused.value.status_code == 409
        assert refused.value.code == "need_state"


# ---------------------------------------------------------------- editing a resource


def _fields(**kw: Any) -> service.ResourceFields:
    args: dict[str, Any] = {
        "kind": "goods",
        "category": "goods",
        "title": "爱心大米",
        "capacity": 100,
        "service_area": ["330106"],
        "unit": "kg",
    }
    args.update(kw)
    return service.ResourceFields(**args)


async def test_edit_a_resource(db: Any, demo: dict[str, Any]) -> None:
    member = await _user(db, demo, "org_member")
    resource = await _resource(db, demo)
    edited = await service.update_resource(
        db, member, resource.id, _fields(title="爱心大米（新米）", capacity=120)
    )
    assert edited.title == "爱心大米（新米）"
    assert (edited.capacity, edited.remaining) == (120, 120)
    audit = (
        await db.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == str(resource.id), AuditEntry.action == "resource.edited"
            )
        )
    ).one()
    assert audit.detail["fields"] == ["capacity", "title"]
    event = (
        await db.scalars(
            select(OutboxEvent).where(
                OutboxEvent.aggregate_id == resource.id, OutboxEvent.topic == "resource.edited"
            )
        )
    ).one()
    assert event.payload["remaining"] == 120

    # Owner only: another organization's admin and a platform admin get 404.
    for key in ("union_admin", "admin"):
        with pytest.raises(NotFound):
            await service.update_resource(
                db, await _user(db, demo, key), resource.id, _fields(title="改")
            )
    # Through the public-text gate.
    with pytest.raises(PersonalDataFound):
        await service.update_resource(
            db, member, resource.id, _fields(description="联系电话 13912345678")
        )


async def test_edit_refused_when_it_would_break_active_claims(
    db: Any, demo: dict[str, Any]
) -> None:
    member = await _user(db, demo, "org_member")
    resource = await _resource(db, demo, capacity=100)
    need = await _need(db, demo)
    await service.claim_need(
        db,
        member,
        need_id=need.id,
        organization_id=demo[CHARITY],
        resource_id=resource.id,
        quantity=30,
    )
    with pytest.raises(Conflict) as unit:
        await service.update_resource(db, member, resource.id, _fields(unit="袋"))
    assert unit.value.code == "in_use"
    with pytest.raises(Invalid) as capacity:
        await service.update_resource(db, member, resource.id, _fields(capacity=20))
    assert capacity.value.params == {"held": 30}
    # What the claims do not depend on may change; remaining keeps what they hold.
    edited = await service.update_resource(
        db, member, resource.id, _fields(capacity=50, description="每户最多 30 公斤")
    )
    assert (edited.capacity, edited.remaining) == (50, 20)
    await service.set_resource_state(db, member, resource.id, service.ResourceState.CLOSED)
    with pytest.raises(Conflict) as closed:
        await service.update_resource(db, member, resource.id, _fields(title="再改"))
    assert closed.value.code == "closed"


async def test_edit_form_over_http(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    async with runtime.transaction() as session:
        resource = await _resource(session, demo, title=f"大米 {uuid.uuid4().hex[:6]}")
    await sign_in_as(client, runtime, demo["org_member"])
    url = f"/resources/{resource.id}/edit"
    form = await _get(client, url, "en")
    assert form.status_code == 200
    assert resource.title in form.text
    data = {
        "title": "新标题大米",
        "kind": "goods",
        "category": "goods",
        "capacity": "80",
        "unit": "kg",
        "service_area": "330106",
    }
    done = await post_form(client, url, data)
    assert done.status_code == 303
    assert done.headers["location"] == f"/resources/{resource.id}?saved=edited"
    wrong = await post_form(client, url, {**data, "capacity": "0"})
    assert wrong.status_code == 422
    assert "新标题大米" in wrong.text  # the input is kept
    await sign_in_as(client, runtime, demo["union_admin"])
    assert (await client.get(url)).status_code == 404
    client.cookies.clear()


# ---------------------------------------------------------------- funds in yuan


def test_yuan_parsing() -> None:
    assert yuan_to_fen("5000") == 500_000
    assert yuan_to_fen("¥1,200.5") == 120_050
    assert yuan_to_fen("0.01") == 1
    assert yuan_to_fen("1.234") is None
    assert yuan_to_fen("abc") is None
    assert fen_to_yuan(120_050) == "1200.50"
    assert service.parse_capacity("funds", "50.25") == 5025
    assert service.parse_capacity("goods", "50") == 50
    assert service.parse_capacity("goods", "50.5") is None


async def test_resource_form_takes_yuan_for_funds(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, demo["org_member"])
    title = f"助学金 {uuid.uuid4().hex[:6]}"
    form = await _get(client, f"/org/{demo[CHARITY]}/resources/new", "en")
    assert "in yuan" in form.text
    assert "in fen" not in form.text
    done = await post_form(
        client,
        f"/org/{demo[CHARITY]}/resources",
        {
            "title": title,
            "kind": "funds",
            "category": "education",
            "capacity": "5000.50",
            "service_area": "330106",
        },
    )
    assert done.status_code == 303, done.text
    async with runtime.sessionmaker() as session:
        resource = (await session.scalars(select(Resource).where(Resource.title == title))).one()
        assert resource.kind == ResourceKind.FUNDS
        assert (resource.capacity, resource.remaining, resource.unit) == (500_050, 500_050, "")
    page = await _get(client, f"/resources/{resource.id}", "en")
    assert "¥5,000.50 of ¥5,000.50 left" in page.text
    client.cookies.clear()
