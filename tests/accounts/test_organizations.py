"""Organization registration checks the USCC and waits for a platform admin."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from backend.accounts.models import Membership, Organization, OrgRole, OrgStatus
from backend.privacy.uscc import make_fake_uscc
from tests.helpers import post_form, post_json, sign_in_as


def _uscc() -> str:
    digits = "".join(str(int(c, 16) % 10) for c in uuid.uuid4().hex[:9])
    return make_fake_uscc(f"53330106{digits}")


async def _fresh_user(runtime: Any) -> uuid.UUID:
    """A user of its own: the shared demo users must not become organization admins here."""
    from backend.accounts.models import User

    async with runtime.transaction() as session:
        user = User(
            id=uuid.uuid4(), email=f"reg-{uuid.uuid4().hex[:8]}@example.com", display_name="注册人"
        )
        session.add(user)
    return user.id


async def test_register_then_approve(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    registrant = await _fresh_user(runtime)
    await sign_in_as(client, runtime, registrant)
    code = _uscc()
    response = await post_form(
        client,
        "/organizations/register",
        {
            "name": "西湖区邻里互助会",
            "org_type": "volunteer_team",
            "uscc": code,
            "region_code": "330106",
            "description": "社区邻里互助",
            "contact_email": "",
        },
    )
    assert response.status_code == 303
    async with runtime.sessionmaker() as session:
        org = (await session.scalars(select(Organization).where(Organization.uscc == code))).one()
        assert org.status == OrgStatus.PENDING
        member = (
            await session.scalars(select(Membership).where(Membership.organization_id == org.id))
        ).one()
        assert member.user_id == registrant
        assert member.role == OrgRole.ADMIN

    # The registrant cannot approve it; the platform admin can.
    denied = await post_form(
        client,
        f"/admin/organizations/{org.id}/review",
        {"decision": "approve"},
        follow_redirects=False,
    )
    assert denied.status_code == 403
    await sign_in_as(client, runtime, demo["admin"])
    ok = await post_form(
        client,
        f"/admin/organizations/{org.id}/review",
        {"decision": "approve"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    again = await post_json(
        client, f"/api/v1/admin/organizations/{org.id}/review", {"approve": True}
    )
    assert again.status_code == 409
    async with runtime.sessionmaker() as session:
        assert (await session.get(Organization, org.id)).status == OrgStatus.APPROVED  # type: ignore[union-attr]


async def test_wrong_check_character_is_refused(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, await _fresh_user(runtime))
    code = _uscc()
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    wrong = code[:-1] + alphabet[(alphabet.index(code[-1]) + 1) % len(alphabet)]
    response = await post_json(
        client,
        "/api/v1/organizations",
        {
            "name": "假组织",
            "org_type": "charity",
            "uscc": wrong,
            "region_code": "330106",
        },
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"uscc": "checksum"}
    duplicate = await post_json(
        client,
        "/api/v1/organizations",
        {
            "name": "重复",
            "org_type": "charity",
            "uscc": code,
            "region_code": "330106",
        },
    )
    assert duplicate.status_code == 201
    again = await post_json(
        client,
        "/api/v1/organizations",
        {
            "name": "重复2",
            "org_type": "charity",
            "uscc": code,
            "region_code": "330106",
        },
    )
    assert again.status_code == 409


async def test_reject_needs_a_reason(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    await sign_in_as(client, runtime, await _fresh_user(runtime))
    code = _uscc()
    created = await post_json(
        client,
        "/api/v1/organizations",
        {
            "name": "待驳回",
            "org_type": "company",
            "uscc": code,
            "region_code": "330106",
        },
    )
    org_id = created.json()["id"]
    await sign_in_as(client, runtime, demo["admin"])
    no_reason = await post_json(
        client, f"/api/v1/admin/organizations/{org_id}/review", {"approve": False}
    )
    assert no_reason.status_code == 422
    rejected = await post_json(
        client,
        f"/api/v1/admin/organizations/{org_id}/review",
        {"approve": False, "note": "信用代码与名称不符"},
    )
    assert rejected.status_code == 201
    assert rejected.json()["status"] == "rejected"
