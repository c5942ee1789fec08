"""Direct claims on real PostgreSQL: races, capacity, eligibility, partial pledges, release,
contact details."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from backend.accounts.service import load_current_user
from backend.audit.models import AuditEntry
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.demo.organizations import make_household, make_published_need
from backend.needs.models import Need, NeedState
from backend.outbox.models import OutboxEvent
from backend.resources import service
from backend.resources.models import Claim, ClaimState, Resource
from tests.helpers import post_form, sign_in_as


async def _member(session: Any, demo: dict[str, Any], key: str = "org_member") -> Any:
    user = await load_current_user(session, demo[key])
    assert user is not None
    return user


async def _resource(session: Any, demo: dict[str, Any], **kw: Any) -> Resource:
    member = await _member(session, demo)
    args = {
        "kind": "goods",
        "category": "goods",
        "title": "测试物资",
        "unit": "kg",
        "capacity": 100,
        "service_area": ["330106"],
    }
    args.update(kw)
    return await service.create_resource(session, member, demo["org:charity"], **args)


async def test_fifty_concurrent_claims_one_wins(runtime: Any, demo: dict[str, Any]) -> None:
    async with runtime.transaction() as session:
        household = await make_household(session, registered_by=demo["caseworker"])
        need = await make_published_need(
            session, household=household, created_by=demo["caseworker"]
        )
        resource = await _resource(session, demo, capacity=100)
    need_id, resource_id = need.id, resource.id

    async def attempt() -> str:
        try:
            async with runtime.transaction() as session:
                member = await _member(session, demo)
                await service.claim_need(
                    session,
                    member,
                    need_id=need_id,
                    organization_id=demo["org:charity"],
                    resource_id=resource_id,
                )
            return "ok"
        except Conflict as exc:
            return f"{exc.status_code} {exc.message}"

    results = await asyncio.gather(*(attempt() for _ in range(50)))
    assert results.count("ok") == 1
    assert (
        results.count("409 Another organization has just claimed this need. It is no longer open.")
        == 49
    )
    async with runtime.sessionmaker() as session:
        need = await session.get(Need, need_id)
        resource = await session.get(Resource, resource_id)
        claims = (await session.scalars(select(Claim).where(Claim.need_id == need_id))).all()
        assert need is not None
        assert resource is not None
        assert need.state == NeedState.RESERVED
        assert need.helper_organization_id == demo["org:charity"]
        assert len(claims) == 1
        assert resource.remaining == 99


async def test_fifty_concurrent_http_claims(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as session:
        household = await make_household(session, registered_by=demo["caseworker"])
        need = await make_published_need(
            session, household=household, created_by=demo["caseworker"]
        )
    await sign_in_as(client, runtime, demo["org_member"])
    url = f"/org/{demo['org:charity']}/needs/{need.id}/claim"
    responses = await asyncio.gather(
        *(post_form(client, url, {"resource_id": ""}, follow_redirects=False) for _ in range(50))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(303) == 1, codes
    assert codes.count(409) == 49, codes
    conflict = next(r for r in responses if r.status_code == 409)
    assert "已被其他组织认领" in conflict.text or "just claimed" in conflict.text


async def test_partial_pledges_then_full(db: Any, demo: dict[str, Any]) -> None:
    household = await make_household(db, registered_by=demo["caseworker"])
    need = await make_published_need(
        db, household=household, created_by=demo["caseworker"], quantity=100, unit="kg"
    )
    resource = await _resource(db, demo, capacity=60)
    member = await _member(db, demo)
    await service.claim_need(
        db,
        member,
        need_id=need.id,
        organization_id=demo["org:charity"],
        resource_id=resource.id,
        quantity=40,
    )
    assert need.state == NeedState.PUBLISHED
    assert need.pledged == 40
    assert resource.remaining == 20
    assert service.still_owed(need) == 60
    summary = service.need_summary(need)
    assert (summary.total, summary.pledged, summary.owed) == (100, 40, 60)
    with pytest.raises(Invalid) as too_many:
        await service.claim_need(
            db, member, need_id=need.id, organization_id=demo["org:charity"], quantity=61
        )
    assert too_many.value.params == {"owed": 60, "unit": "kg"}
    with pytest.raises(Conflict) as capacity:
        await service.claim_need(
            db,
            member,
            need_id=need.id,
            organization_id=demo["org:charity"],
            resource_id=resource.id,
            quantity=30,
        )
    assert capacity.value.code == "capacity"
    await service.claim_need(
        db, member, need_id=need.id, organization_id=demo["org:charity"], quantity=60
    )
    assert need.state == NeedState.RESERVED
    assert need.pledged == 100


async def test_service_area_and_eligibility_refused_with_reason(
    db: Any, demo: dict[str, Any]
) -> None:
    member = await _member(db, demo)
    sanmen = await make_household(db, registered_by=demo["caseworker_sanmen"], region_code="331022")
    far = await make_published_need(db, household=sanmen, created_by=demo["caseworker_sanmen"])
    local_resource = await _resource(db, demo, capacity=10)
    with pytest.raises(Invalid) as area:
        await service.claim_need(
            db,
            member,
            need_id=far.id,
            organization_id=demo["org:charity"],
            resource_id=local_resource.id,
        )
    assert area.value.code == "service_area"

    plain = await make_household(db, registered_by=demo["caseworker"], flags=[])
    need = await make_published_need(db, household=plain, created_by=demo["caseworker"])
    only_disabled = await _resource(
        db, demo, eligibility=service.build_eligibility([], ["disabled"], None)
    )
    with pytest.raises(Invalid) as flags:
        await service.claim_need(
            db,
            member,
            need_id=need.id,
            organization_id=demo["org:charity"],
            resource_id=only_disabled.id,
        )
    assert flags.value.code == "eligibility_flags"
    # The flag is named in the reader's language, never by its code (disabled, union_hardship).
    assert flags.value.params["flags"] == ("Member with a disability",)
    from backend.core.i18n import gettext

    assert gettext(flags.value.message, "zh_CN", **flags.value.params) == (
        "这项资源仅限有以下情况的家庭：有残疾成员。"
    )
    assert "disabled" not in gettext(flags.value.message, "en", **flags.value.params)
    only_tekun = await _resource(
        db, demo, eligibility=service.build_eligibility(["tekun"], [], None)
    )
    with pytest.raises(Invalid) as cat:
        await service.claim_need(
            db,
            member,
            need_id=need.id,
            organization_id=demo["org:charity"],
            resource_id=only_tekun.id,
        )
    assert cat.value.code == "eligibility_category"

    once = await _resource(db, demo, eligibility=service.build_eligibility([], [], 1))
    await service.claim_need(
        db, member, need_id=need.id, organization_id=demo["org:charity"], resource_id=once.id
    )
    second = await make_published_need(
        db, household=plain, created_by=demo["caseworker"], title="第二个需求"
    )
    with pytest.raises(Conflict) as limit:
        await service.claim_need(
            db, member, need_id=second.id, organization_id=demo["org:charity"], resource_id=once.id
        )
    assert limit.value.code == "eligibility_limit"


async def test_other_org_cannot_use_resource_or_claim_for_org(
    db: Any, demo: dict[str, Any]
) -> None:
    union = await _member(db, demo, "union_admin")
    household = await make_household(db, registered_by=demo["caseworker"])
    need = await make_published_need(db, household=household, created_by=demo["caseworker"])
    resource = await _resource(db, demo)
    with pytest.raises(NotFound):
        await service.claim_need(db, union, need_id=need.id, organization_id=demo["org:charity"])
    with pytest.raises(NotFound):
        await service.claim_need(
            db, union, need_id=need.id, organization_id=demo["org:union"], resource_id=resource.id
        )
    with pytest.raises(NotFound):
        await service.set_resource_state(db, union, resource.id, service.ResourceState.PAUSED)


async def test_release_republishes_and_returns_capacity(db: Any, demo: dict[str, Any]) -> None:
    member = await _member(db, demo)
    household = await make_household(db, registered_by=demo["caseworker"])
    need = await make_published_need(
        db, household=household, created_by=demo["caseworker"], quantity=5, unit="kg"
    )
    resource = await _resource(db, demo, capacity=10)
    claim = await service.claim_need(
        db, member, need_id=need.id, organization_id=demo["org:charity"], resource_id=resource.id
    )
    assert need.state == NeedState.RESERVED
    assert resource.remaining == 5
    with pytest.raises(Invalid):
        await service.release_claim(db, member, claim.id, "  ")
    await service.release_claim(db, member, claim.id, "车辆故障，无法按期配送")
    assert claim.state == ClaimState.RELEASED
    assert need.state == NeedState.PUBLISHED
    assert need.pledged == 0
    assert resource.remaining == 10
    assert need.helper_organization_id is None
    with pytest.raises(Conflict):
        await service.release_claim(db, member, claim.id, "again")
    topics = (
        await db.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.aggregate_id.in_([need.id, claim.id]))
        )
    ).all()
    assert {"need.reserved", "need.published", "claim.created", "claim.released"} <= set(topics)


async def test_paused_resource_refused(db: Any, demo: dict[str, Any]) -> None:
    member = await _member(db, demo)
    household = await make_household(db, registered_by=demo["caseworker"])
    need = await make_published_need(db, household=household, created_by=demo["caseworker"])
    resource = await _resource(db, demo)
    await service.set_resource_state(db, member, resource.id, service.ResourceState.PAUSED)
    with pytest.raises(Conflict) as paused:
        await service.claim_need(
            db,
            member,
            need_id=need.id,
            organization_id=demo["org:charity"],
            resource_id=resource.id,
        )
    assert paused.value.code == "resource_state"


async def test_contact_only_with_active_claim_and_consent_and_audited(
    db: Any, demo: dict[str, Any]
) -> None:
    member = await _member(db, demo)
    union = await _member(db, demo, "union_admin")
    consenting = await make_household(
        db,
        registered_by=demo["caseworker"],
        share_contact=True,
        head_name="赵六",
        phone="13812345678",
        address="西湖区测试路1号",
    )
    silent = await make_household(db, registered_by=demo["caseworker"])
    need_ok = await make_published_need(db, household=consenting, created_by=demo["caseworker"])
    need_no = await make_published_need(db, household=silent, created_by=demo["caseworker"])
    claim_ok = await service.claim_need(
        db, member, need_id=need_ok.id, organization_id=demo["org:charity"]
    )
    claim_no = await service.claim_need(
        db, member, need_id=need_no.id, organization_id=demo["org:charity"]
    )

    with pytest.raises(Forbidden) as no_consent:
        await service.contact_details(db, member, claim_no.id)
    assert no_consent.value.code == "no_consent"
    with pytest.raises(NotFound):
        await service.contact_details(db, union, claim_ok.id)
    details = await service.contact_details(db, member, claim_ok.id)
    assert (details.head_name, details.phone, details.address) == (
        "赵六",
        "13812345678",
        "西湖区测试路1号",
    )
    entry = (
        await db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "household.contact_viewed",
                AuditEntry.object_id == str(consenting.id),
            )
        )
    ).one()
    assert entry.actor_id == member.id
    assert entry.detail["fields"] == ["head_name", "phone", "address"]
    assert "13812345678" not in str(entry.detail)
    assert "赵六" not in str(entry.detail)
    await service.release_claim(db, member, claim_ok.id, "家庭已获其他帮助")
    with pytest.raises(Forbidden) as inactive:
        await service.contact_details(db, member, claim_ok.id)
    assert inactive.value.code == "claim_inactive"


async def test_claim_pages_and_contact_over_http(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as session:
        household = await make_household(
            session, registered_by=demo["caseworker"], share_contact=True, phone="13811112222"
        )
        need = await make_published_need(
            session,
            household=household,
            created_by=demo["caseworker"],
            quantity=100,
            unit="kg",
            title="大米需求",
        )
    await sign_in_as(client, runtime, demo["org_member"])
    # The demo data fills the first pages: page through until the new need shows up.
    for number in range(1, 30):
        page = await client.get(f"/org/{demo['org:charity']}/needs?page={number}")
        assert page.status_code == 200
        if "大米需求" in page.text:
            break
    assert "大米需求" in page.text
    form = await client.get(f"/org/{demo['org:charity']}/needs/{need.id}/claim")
    assert form.status_code == 200
    response = await post_form(
        client,
        f"/org/{demo['org:charity']}/needs/{need.id}/claim",
        {"resource_id": "", "quantity": "40"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    claim_url = response.headers["location"].split("?")[0]
    detail = await client.get(claim_url)
    assert (
        "需要 100 kg，已认领 40 kg" in detail.text
        or "40 kg pledged of 100 kg needed" in detail.text
    )
    contact = await client.get(claim_url + "/contact", headers={"hx-request": "true"})
    assert contact.status_code == 200
    assert "13811112222" in contact.text
    await sign_in_as(client, runtime, demo["union_admin"])
    assert (await client.get(claim_url + "/contact")).status_code == 404
    assert (await client.get(claim_url)).status_code == 404


async def test_public_resource_pages_and_api(client: Any, demo: dict[str, Any]) -> None:
    page = await client.get("/resources")
    assert page.status_code == 200
    assert "冬季棉被" in page.text
    api = await client.get("/api/v1/resources")
    assert api.status_code == 200
    body = api.json()
    assert body["total"] >= 2
    assert set(body["items"][0]) == {
        "id",
        "organization_id",
        "organization_name",
        "kind",
        "category",
        "title",
        "description",
        "unit",
        "capacity",
        "remaining",
        "service_area",
        "eligibility",
        "available_from",
        "available_until",
        "state",
        "item_kind",
        "item_kind_source",
    }
    one = await client.get(f"/api/v1/resources/{demo['resource:union']}")
    assert one.json()["eligibility"] == {"flags": ["union_hardship"], "max_per_household": 1}
    assert (await client.get(f"/resources/{uuid.uuid4()}")).status_code == 404
