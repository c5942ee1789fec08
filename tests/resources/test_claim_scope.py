"""Every claim path respects the organization's declared service area (issue 15 point 5)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.accounts.models import Organization
from backend.core.errors import Invalid
from backend.resources import service
from tests.fulfilment.factories import published_need, user


async def test_a_claim_without_resource_outside_the_area_is_refused(
    db: Any, demo: dict[str, Any]
) -> None:
    union = await db.get(Organization, demo["org:union"])
    need = await published_need(db, county="330106")  # 西湖区
    assert not any(code.startswith("330106") for code in union.service_area)
    member = await user(db, demo["union_admin"])
    with pytest.raises(Invalid) as refused:
        await service.claim_need(db, member, need_id=need.id, organization_id=demo["org:union"])
    assert refused.value.code == "service_area"
    assert refused.value.fields == {"need_id": "service_area"}
    assert "service area" in refused.value.message
    assert need.pledged == 0


async def test_a_claim_inside_the_area_goes_through(db: Any, demo: dict[str, Any]) -> None:
    need = await published_need(db, county="330106")
    member = await user(db, demo["org_member"])
    claim = await service.claim_need(
        db, member, need_id=need.id, organization_id=demo["org:charity"]
    )
    assert claim.need_id == need.id


async def test_the_reason_is_shown_on_the_claim_page(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    from tests.helpers import post_json, sign_in_as

    async with runtime.sessionmaker() as session:
        need = await published_need(session, county="330106")
        need_id = need.id
    await sign_in_as(client, runtime, demo["union_admin"])
    r = await post_json(
        client,
        "/api/v1/claims",
        {"need_id": str(need_id), "organization_id": str(demo["org:union"])},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "service_area"
    assert r.json()["fields"] == {"need_id": "service_area"}
