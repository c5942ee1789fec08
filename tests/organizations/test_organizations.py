"""Portal, invitations, directory, verified figures and the CSR ranking."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from backend.accounts.models import User
from backend.accounts.service import load_current_user
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.organizations import figures, service
from backend.organizations import repository as repo
from backend.volunteering.models import HoursLog, HoursState
from tests.helpers import post_form, sign_in_as


async def _user(db: Any, email: str) -> Any:
    user = User(email=email, display_name="新成员", password_hash=None)
    db.add(user)
    await db.flush()
    return await load_current_user(db, user.id)


async def test_invitation_by_code_and_link(db: Any, demo: dict[str, Any]) -> None:
    admin = await load_current_user(db, demo["org_admin"])
    member = await load_current_user(db, demo["org_member"])
    with pytest.raises(Forbidden):
        await service.invite(db, member, demo["org:charity"], kind="code")
    union = await load_current_user(db, demo["union_admin"])
    with pytest.raises(NotFound):
        await service.invite(db, union, demo["org:charity"], kind="code")
    code = await service.invite(db, admin, demo["org:charity"], kind="code")
    assert len(code.secret) == 8
    assert code.invitation.token_hash != code.secret
    newbie = await _user(db, "newbie@example.org")
    org = await service.accept_invitation(db, newbie, code.secret.lower())
    assert org.id == demo["org:charity"]
    with pytest.raises(Conflict):
        await service.accept_invitation(db, await _user(db, "other@example.org"), code.secret)
    link = await service.invite(
        db, admin, demo["org:charity"], kind="link", email="invitee@example.org"
    )
    with pytest.raises(Forbidden):
        await service.accept_invitation(db, await _user(db, "wrong@example.org"), link.secret)
    invitee = await _user(db, "Invitee@example.org")
    await service.accept_invitation(db, invitee, link.secret)
    expired = await service.invite(db, admin, demo["org:charity"], kind="code")
    expired.invitation.expires_at = utcnow() - timedelta(minutes=1)
    with pytest.raises(Invalid):
        await service.accept_invitation(db, await _user(db, "late@example.org"), expired.secret)


async def test_profile_update_validates(db: Any, demo: dict[str, Any]) -> None:
    admin = await load_current_user(db, demo["org_admin"])
    with pytest.raises(Invalid) as bad:
        await service.update_profile(
            db,
            admin,
            demo["org:charity"],
            name="",
            name_en="",
            description="",
            service_area=["999999"],
            contact_email="nope",
        )
    assert set(bad.value.fields) == {"name", "service_area", "contact_email"}
    org = await service.update_profile(
        db,
        admin,
        demo["org:charity"],
        name="杭州市西湖区慈善总会",
        name_en="Xihu",
        description="扶贫济困",
        service_area=["330106", "330100"],
        contact_email="help@example.org",
    )
    assert org.service_area == ["330100", "330106"]


async def test_figures_count_only_verified_records(db: Any, demo: dict[str, Any]) -> None:
    org = demo["org:company"]
    before = (await repo.figures(db, [org]))[org]
    logs = [
        HoursLog(
            id=uuid.uuid4(),
            volunteer_id=demo["volunteer"],
            organization_id=org,
            served_on=utcnow(),
            minutes=600,
            state=state,
        )
        for state in (HoursState.APPROVED, HoursState.PENDING)
    ]
    db.add_all(logs)
    await db.flush()
    for log in logs:  # as their hours.* events would
        await figures.refresh_hours(db, log.id)
    after = (await repo.figures(db, [org]))[org]
    assert after.volunteer_minutes - before.volunteer_minutes == 600
    assert after.score - before.score == 10
    ranking = await service.csr_ranking(db, org_type="company")
    assert ranking[0].organization.id == org
    assert ranking[0].figures.volunteer_hours >= 10


async def test_directory_profile_ranking_pages(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    page = await client.get("/organizations?type=trade_union")
    assert page.status_code == 200
    assert "三门县总工会" in page.text
    assert "西湖区慈善总会" not in page.text
    profile = await client.get(f"/organizations/{demo['org:charity']}")
    assert profile.status_code == 200
    assert "冬季棉被" in profile.text
    ranking = await client.get("/organizations/ranking")
    assert ranking.status_code == 200
    assert 'id="formula"' in ranking.text
    api = await client.get("/api/v1/csr-ranking?org_type=")
    assert api.status_code == 200
    assert {"rank", "organization"} <= set(api.json()[0])


async def test_portal_join_with_code_over_http(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, demo["org_admin"])
    created = await post_form(
        client, f"/org/{demo['org:charity']}/invitations", {"kind": "code", "role": "member"}
    )
    assert created.status_code == 201
    code = created.text.split('id="invite-secret"><strong>')[1][:8]
    async with runtime.transaction() as session:
        user = User(email="joiner@example.org", display_name="加入者", password_hash=None)
        session.add(user)
    await sign_in_as(client, runtime, user.id)
    wrong = await post_form(client, "/join", {"code": "ZZZZZZZZ"})
    assert wrong.status_code == 422
    joined = await post_form(client, "/join", {"code": code}, follow_redirects=False)
    assert joined.status_code == 303
    assert joined.headers["location"] == f"/org/{demo['org:charity']}"
    dashboard = await client.get(joined.headers["location"])
    assert dashboard.status_code == 200
    assert "冬季棉被" in dashboard.text
    async with runtime.sessionmaker() as session:
        assert await repo.membership(session, user.id, demo["org:charity"]) is not None
