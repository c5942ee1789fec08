"""Volunteer tasks: slots and capacity, sign-up and cancel, attendance, hours review,
certificates."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from backend.accounts.models import Role, RoleGrant, User
from backend.accounts.service import load_current_user
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.volunteering import service
from backend.volunteering.models import HoursState, SignupState, TaskSlot
from tests.helpers import post_form, sign_in_as


async def _volunteers(runtime: Any, n: int) -> list[Any]:
    ids = []
    async with runtime.transaction() as session:
        for i in range(n):
            user = User(
                email=f"vol-{i}-{utcnow().timestamp()}@example.org",
                display_name=f"志愿者{i}",
                password_hash=None,
            )
            session.add(user)
            await session.flush()
            session.add(RoleGrant(user_id=user.id, role=Role.VOLUNTEER))
            ids.append(user.id)
    return ids


async def _task(runtime: Any, demo: dict[str, Any], capacity: int) -> tuple[Any, Any]:
    async with runtime.transaction() as session:
        member = await load_current_user(session, demo["org_member"])
        start = utcnow() + timedelta(days=3)
        task = await service.create_task(
            session,
            member,
            demo["org:charity"],
            title="测试任务",
            category="visit",
            region_code="330106",
            place="社区中心",
            slot=service.SlotIn(start, start + timedelta(hours=2), capacity),
        )
        slot = (
            await session.execute(TaskSlot.__table__.select().where(TaskSlot.task_id == task.id))
        ).first()
    return task.id, slot.id


async def test_capacity_holds_under_concurrency(runtime: Any, demo: dict[str, Any]) -> None:
    _, slot_id = await _task(runtime, demo, capacity=3)
    volunteers = await _volunteers(runtime, 10)

    async def attempt(user_id: Any) -> str:
        try:
            async with runtime.transaction() as session:
                user = await load_current_user(session, user_id)
                await service.sign_up(session, user, slot_id)
            return "ok"
        except Conflict as exc:
            return exc.code

    results = await asyncio.gather(*(attempt(v) for v in volunteers))
    assert results.count("ok") == 3
    assert results.count("slot_full") == 7
    async with runtime.sessionmaker() as session:
        slot = await session.get(TaskSlot, slot_id)
        assert slot.taken == 3


async def test_signup_cancel_attendance_hours_and_certificate(
    runtime: Any, demo: dict[str, Any], db: Any
) -> None:
    _task_id, slot_id = await _task(runtime, demo, capacity=2)
    (vid,) = await _volunteers(runtime, 1)
    volunteer = await load_current_user(db, vid)
    member = await load_current_user(db, demo["org_member"])
    union = await load_current_user(db, demo["union_admin"])
    donor = await load_current_user(db, demo["donor"])
    with pytest.raises(Forbidden):
        await service.sign_up(db, donor, slot_id)
    signup = await service.sign_up(db, volunteer, slot_id)
    with pytest.raises(Conflict):
        await service.sign_up(db, volunteer, slot_id)
    await service.cancel_signup(db, volunteer, slot_id)
    slot = await db.get(TaskSlot, slot_id)
    await db.refresh(slot)
    assert slot.taken == 0
    assert signup.state == SignupState.CANCELLED
    signup = await service.sign_up(db, volunteer, slot_id)
    with pytest.raises(NotFound):
        await service.record_attendance(db, union, signup.id, attended=True, minutes=90)
    await service.record_attendance(db, member, signup.id, attended=True, minutes=90)
    assert signup.state == SignupState.ATTENDED
    log = await service.log_hours(
        db,
        volunteer,
        organization_id=demo["org:charity"],
        served_on=utcnow() - timedelta(days=1),
        minutes=45,
        note="整理物资",
    )
    with pytest.raises(NotFound):
        await service.review_hours(db, union, log.id, approve=True)
    await service.review_hours(db, member, log.id, approve=True)
    assert log.state == HoursState.APPROVED
    rejected = await service.log_hours(
        db,
        volunteer,
        organization_id=demo["org:charity"],
        served_on=utcnow() - timedelta(days=2),
        minutes=600,
        note="未核实",
    )
    await service.review_hours(db, member, rejected.id, approve=False)
    from backend.volunteering import repository as repo

    assert await repo.verified_minutes(db, vid) == 135
    cert = await service.issue_certificate(db, volunteer)
    assert cert.total_minutes == 135
    assert len(cert.check_code) == 16
    from backend.volunteering.certificate import render_pdf

    pdf = render_pdf(
        volunteer_name="志愿者0",
        total_minutes=cert.total_minutes,
        by_org=await repo.verified_by_org(db, vid),
        issued_at=cert.issued_at,
        check_code=cert.check_code,
        base_url="https://tongxin.example",
    )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "志愿服务记录证明" in text
    assert "2 小时 15 分钟" in text.replace("\n", "")
    assert f"https://tongxin.example/certificates/{cert.check_code}" in text.replace("\n", "")
    assert "杭州市西湖区慈善总会" in text


async def test_volunteer_pages_certificate_download_and_check(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    from backend.volunteering import repository as vrepo

    await sign_in_as(client, runtime, demo["volunteer"])
    async with runtime.sessionmaker() as session:  # other tests may have added hours
        minutes = await vrepo.verified_minutes(session, demo["volunteer"])
    assert minutes >= 180  # the demo's approved hours
    page = await client.get("/volunteer/hours")
    assert page.status_code == 200
    assert f'id="verified-hours">{minutes // 60}<' in page.text
    issued = await post_form(client, "/volunteer/certificates", {}, follow_redirects=False)
    assert issued.status_code == 303
    pdf = await client.get(issued.headers["location"])
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).replace(
        "\n", ""
    )
    assert f"{minutes // 60} 小时 {minutes % 60} 分钟" in text
    assert "刘志愿" in text
    code = text.split("核验码：")[1][:16]
    client.cookies.clear()
    check = await client.get(f"/certificates/{code}")
    assert check.status_code == 200
    assert "刘*" in check.text
    assert "刘志愿" not in check.text
    assert (await client.get("/certificates/NOSUCHCODE000000")).status_code == 404
    await sign_in_as(client, runtime, demo["donor"])
    assert (await client.get(issued.headers["location"])).status_code == 403
