"""The grievance channel: intake, routing, stages with reasons, working-day deadlines,
escalation, tracking by code without an account, protection of reported personal data,
confidentiality of misconduct reports, pausing donations, figures."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.config import get_settings
from backend.core.errors import Conflict, Invalid
from backend.grievance import repository as repo
from backend.grievance import service
from backend.grievance.calendar import WorkingCalendar, parse_days
from backend.grievance.models import Report, ReportStage, Route
from backend.needs.models import Need, NeedState
from backend.outbox.models import Notification
from tests.donations.conftest import make_project
from tests.helpers import drain_outbox, post_form, sign_in_as
from tests.households.factories import make_household, make_need

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SETTINGS = get_settings()
# Monday 2026-09-28, 10:00 in Shanghai; 10-01..10-07 is the National Day holiday that year.
MONDAY = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)
HOLIDAYS = "2026-10-01,2026-10-02,2026-10-05,2026-10-06,2026-10-07"


async def _clear_limits(runtime: Any) -> None:
    for key in await runtime.queue.pool.keys("rl:report*"):
        await runtime.queue.pool.delete(key)


@pytest.fixture(autouse=True)
async def fresh_report_limits(runtime: Any) -> AsyncIterator[None]:
    """Anonymous reports from the test client share one address: a fresh limit per test."""
    await _clear_limits(runtime)
    yield
    await _clear_limits(runtime)


async def current_user(runtime: Any, user_id: uuid.UUID) -> Any:
    from backend.accounts.service import load_current_user

    async with runtime.sessionmaker() as session:
        return await load_current_user(session, user_id)


async def _published_need(runtime: Any, demo: dict[str, Any]) -> Need:
    async with runtime.transaction() as session:
        household = await make_household(session, demo["caseworker"])
        need = await make_need(session, household, demo["caseworker"], state=NeedState.PUBLISHED)
        need.public_region_code = "330106"  # generalized to the district, as publishing does
        need.published_at = MONDAY
        await session.flush()
        return need


async def _submit(runtime: Any, reporter: Any = None, **kw: Any) -> Report:
    async with runtime.transaction() as session:
        return await service.submit(
            session, kw.pop("settings", SETTINGS), reporter or service.Reporter(), **kw
        )


# ---------------------------------------------------------------- calendar


def test_working_days_skip_weekends_and_holidays() -> None:
    cal = WorkingCalendar(parse_days(HOLIDAYS), parse_days("2026-10-10"))
    # Monday + 1 working day: ends with Tuesday (24:00 local = Tuesday 16:00 UTC).
    assert cal.add_working_days(MONDAY, 1) == datetime(2026, 9, 29, 16, 0, tzinfo=UTC)
    # Monday + 5: Tue 29, Wed 30, (1, 2 holiday, 3-4 weekend, 5-7 holiday) Thu 8, Fri 9, Sat 10
    # (a make-up working day) → ends with Saturday 10 October.
    assert cal.add_working_days(MONDAY, 5) == datetime(2026, 10, 10, 16, 0, tzinfo=UTC)
    # Arriving on a Saturday: counting starts on Monday.
    saturday = datetime(2026, 9, 26, 3, 0, tzinfo=UTC)
    assert cal.add_working_days(saturday, 1) == datetime(2026, 9, 28, 16, 0, tzinfo=UTC)
    # 29, 30 September; 8, 9, 10 (make-up day) and 12 October
    assert cal.working_days_between(MONDAY, MONDAY + timedelta(days=14)) == 6
    assert not cal.is_working_day(date(2026, 10, 1))
    assert cal.is_working_day(date(2026, 10, 10))


def test_tracking_codes_are_typeable() -> None:
    code = service.new_tracking_code()
    assert re.fullmatch(r"R[0-9A-HJKMNP-TV-Z]{10}", code)
    shown = service.display_code(code)
    assert service.normalize_code(shown.lower()) == code
    assert service.normalize_code(" " + shown.replace("-", " ") + " ") == code
    assert service.normalize_code(code[1:]) == code  # without the leading R


# ---------------------------------------------------------------- intake and routing


async def test_routing_by_type_and_region(runtime: Any, demo: dict[str, Any]) -> None:
    project = await make_project(runtime, demo)
    fraud = await _submit(
        runtime,
        report_type="fraud",
        subject_type="project",
        subject_id=str(project.id),
        text="项目照片是从网上找的。",
    )
    assert fraud.route == Route.ADMIN and fraud.region_code == "330106"
    wrong = await _submit(
        runtime,
        report_type="wrong_info",
        subject_type="project",
        subject_id=str(project.id),
        text="开始日期写错了。",
    )
    assert wrong.route == Route.COORDINATORS
    general = await _submit(
        runtime, report_type="other", subject_type="none", subject_id="", text="网站打不开地图。"
    )
    assert general.route == Route.ADMIN and general.region_code is None
    async with runtime.sessionmaker() as session:
        coordinators = await repo.handler_ids(session, Route.COORDINATORS, "330106004")
        caseworkers = await repo.handler_ids(session, Route.CASEWORKERS, "330106004")
        admins = await repo.handler_ids(session, Route.ADMIN, None)
    assert demo["coordinator"] in coordinators  # Hangzhou's coordinator covers 西湖区
    assert demo["caseworker"] in caseworkers and demo["caseworker_sanmen"] not in caseworkers
    assert demo["admin"] in admins


async def test_intake_checks_its_fields(runtime: Any) -> None:
    with pytest.raises(Invalid) as exc:
        await _submit(runtime, report_type="", subject_type="none", subject_id="", text=" ")
    assert exc.value.fields == {"type": "required", "text": "required"}
    with pytest.raises(Invalid) as exc:
        await _submit(
            runtime,
            report_type="other",
            subject_type="none",
            subject_id="",
            text="x" * 4001,
            contact="y" * 201,
        )
    assert exc.value.fields == {"text": "too_long", "contact": "too_long"}


async def test_a_household_reports_its_own_delivery_problem(
    runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as session:
        household = await make_household(session, demo["caseworker"])
    report = await _submit(
        runtime,
        service.Reporter(household_id=household.id),
        report_type="delivery",
        subject_type="none",
        subject_id="",
        text="说好送米，没有送来。",
    )
    assert report.route == Route.CASEWORKERS and report.region_code == household.region_code
    async with runtime.sessionmaker() as session:
        mine = await service.of_household(session, household.id)
    assert [t.code for t in mine] == [service.display_code(report.tracking_code)]


# ---------------------------------------------------------------- tracking without an account


async def test_anyone_follows_a_report_by_its_code(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    project = await make_project(runtime, demo)
    page = await client.get(f"/report?on=project&id={project.id}")
    assert page.status_code == 200 and project.title in page.text
    response = await post_form(
        client,
        "/report",
        {
            "on": "project",
            "id": str(project.id),
            "type": "wrong_info",
            "text": "项目地点写错了，应该是文新街道。",
            "contact": "reporter@example.org",
        },
    )
    assert response.status_code == 303
    location = response.headers["location"]
    code = location.split("/report/track/")[1].split("?")[0]
    shown = await client.get(location)
    assert shown.status_code == 200 and service.display_code(code) in shown.text
    assert "文新街道" not in shown.text and "reporter@example.org" not in shown.text
    # case and separators do not matter; a wrong code says so
    lower = await client.get(
        "/report/track", params={"code": service.display_code(code).lower()}, follow_redirects=True
    )
    assert lower.status_code == 200 and service.display_code(code) in lower.text
    missing = await client.get("/report/track/R0000000000")
    assert missing.status_code == 404


async def test_errors_keep_what_was_typed(client: Any) -> None:
    response = await post_form(client, "/report", {"on": "none", "type": "", "text": "留着这段话"})
    assert response.status_code == 422
    assert "留着这段话" in response.text and 'aria-invalid="true"' in response.text


# ---------------------------------------------------------------- stages and reasons


async def test_stages_need_reasons_and_an_answer(runtime: Any, demo: dict[str, Any]) -> None:
    report = await _submit(
        runtime,
        report_type="other",
        subject_type="none",
        subject_id="",
        text="有问题。",
        now=MONDAY,
    )
    admin = await current_user(runtime, demo["admin"])
    async with runtime.transaction() as session:
        with pytest.raises(Invalid) as exc:
            await service.move(session, admin, report.id, to_stage="acknowledged", reason="")
        assert exc.value.fields == {"reason": "required"}
    async with runtime.transaction() as session:
        await service.move(
            session,
            admin,
            report.id,
            to_stage="acknowledged",
            reason="已收到",
            now=MONDAY + timedelta(hours=3),
        )
    async with runtime.transaction() as session:
        with pytest.raises(Conflict):
            await service.move(session, admin, report.id, to_stage="received", reason="退回")
    async with runtime.transaction() as session:
        with pytest.raises(Invalid) as exc:
            await service.move(session, admin, report.id, to_stage="resolved", reason="查实")
        assert exc.value.fields == {"outcome": "required"}
    async with runtime.transaction() as session:
        with pytest.raises(service.PersonalDataInAnswer) as pd:
            await service.move(
                session,
                admin,
                report.id,
                to_stage="resolved",
                reason="查实",
                outcome="已联系户主，电话 13912345678。",
            )
        assert pd.value.findings
    async with runtime.transaction() as session:
        done = await service.move(
            session,
            admin,
            report.id,
            to_stage="resolved",
            reason="查实",
            outcome="已核实并更正。",
            now=MONDAY + timedelta(days=1),
        )
        assert done.stage == ReportStage.RESOLVED
    async with runtime.sessionmaker() as session:
        tracked = await service.track(session, report.tracking_code)
        moves = await repo.moves(session, report.id)
    assert tracked.outcome == "已核实并更正。" and tracked.closed_at is not None
    assert [(m.from_stage, m.to_stage, m.reason) for m in moves] == [
        ("received", "acknowledged", "已收到"),
        ("acknowledged", "resolved", "查实"),
    ]


# ---------------------------------------------------------------- deadlines and escalation


async def test_deadlines_count_working_days_and_escalate(
    runtime: Any, demo: dict[str, Any]
) -> None:
    from dataclasses import replace

    settings = replace(SETTINGS, holidays=HOLIDAYS)
    # Arrives Wednesday 30 September: acknowledge by Thursday 8 October (1 working day after
    # the 7-day holiday), answer by Wednesday 14 October.
    arrived = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    async with runtime.transaction() as session:
        household = await make_household(session, demo["caseworker"])
    report = await _submit(
        runtime,
        service.Reporter(household_id=household.id),
        settings=settings,
        report_type="delivery",
        subject_type="none",
        subject_id="",
        text="没收到。",
        now=arrived,
    )
    assert report.ack_due_at == datetime(2026, 10, 8, 16, 0, tzinfo=UTC)
    assert report.answer_due_at == datetime(2026, 10, 14, 16, 0, tzinfo=UTC)
    await drain_outbox(runtime)
    async with runtime.transaction() as session:
        assert (
            await service.escalate_overdue(session, now=datetime(2026, 10, 8, 15, 0, tzinfo=UTC))
            == 0
        )
    async with runtime.transaction() as session:
        assert (
            await service.escalate_overdue(session, now=datetime(2026, 10, 9, 1, 0, tzinfo=UTC))
            >= 1
        )
    async with runtime.sessionmaker() as session:
        assert (await repo.get(session, report.id)).escalation == "ack"  # type: ignore[union-attr]
    async with runtime.transaction() as session:  # escalated once per deadline
        await service.escalate_overdue(session, now=datetime(2026, 10, 9, 2, 0, tzinfo=UTC))
    async with runtime.transaction() as session:
        await service.escalate_overdue(session, now=datetime(2026, 10, 15, 1, 0, tzinfo=UTC))
    async with runtime.sessionmaker() as session:
        assert (await repo.get(session, report.id)).escalation == "answer"  # type: ignore[union-attr]
        events = list(
            await session.scalars(
                select(AuditEntry.detail)
                .where(
                    AuditEntry.object_id == str(report.id), AuditEntry.action == "report.escalated"
                )
                .order_by(AuditEntry.occurred_at)
            )
        )
    assert [e["deadline"] for e in events] == ["ack", "answer"]
    wanted = {demo["caseworker"], demo["coordinator"], demo["admin"]}
    told: set[Any] = set()
    for _ in range(20):  # a live server's worker of this session may be handling the events
        await drain_outbox(runtime)
        async with runtime.sessionmaker() as session:
            told = set(
                await session.scalars(
                    select(Notification.user_id).where(
                        Notification.kind == "report.escalated",
                        Notification.params["code"].astext
                        == service.display_code(report.tracking_code),
                    )
                )
            )
        if wanted <= told:
            break
        await asyncio.sleep(0.5)
    # the household's caseworkers, the county's coordinators and the platform admin
    assert wanted <= told
    assert demo["caseworker_sanmen"] not in told


# ---------------------------------------------------------------- protection


async def test_reported_personal_data_is_hidden_at_once(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    need = await _published_need(runtime, demo)
    assert (await client.get(f"/needs/{need.id}")).status_code == 200
    report = await _submit(
        runtime,
        report_type="personal_data",
        subject_type="need",
        subject_id=str(need.id),
        text="标题里有户主名字。",
    )
    assert report.held and report.route == Route.COORDINATORS
    assert (await client.get(f"/needs/{need.id}")).status_code == 404
    project = await make_project(runtime, demo)
    await _submit(
        runtime,
        report_type="personal_data",
        subject_type="project",
        subject_id=str(project.id),
        text="项目介绍里有电话。",
    )
    page = await client.get(f"/projects/{project.id}")
    assert "hidden while it is reviewed" in page.text or "核查期间已隐藏" in page.text
    await drain_outbox(runtime)
    async with runtime.sessionmaker() as session:
        author_told = await session.scalar(
            select(Notification.id).where(
                Notification.kind == "report.held",
                Notification.organization_id == demo["org:charity"],
            )
        )
    assert author_told is not None
    # the handler closes it as unfounded: the need is shown again
    coordinator = await current_user(runtime, demo["coordinator"])
    async with runtime.transaction() as session:
        await service.move(
            session,
            coordinator,
            report.id,
            to_stage="dismissed",
            reason="未发现个人信息",
            outcome="经核查，页面没有个人信息。",
        )
    assert (await client.get(f"/needs/{need.id}")).status_code == 200


async def test_fraud_report_can_pause_donations(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    project = await make_project(runtime, demo)
    report = await _submit(
        runtime,
        report_type="fraud",
        subject_type="project",
        subject_id=str(project.id),
        text="善款被挪用。",
    )
    await sign_in_as(client, runtime, demo["coordinator"])
    refused = await post_form(client, f"/reports/{report.id}/donations", {"paused": "1"})
    assert refused.status_code == 422
    paused = await post_form(
        client,
        f"/reports/{report.id}/donations",
        {"paused": "1", "decision_reason": "核查期间暂停"},
    )
    assert paused.status_code == 303
    donate = await client.get(f"/projects/{project.id}/donate")
    assert donate.status_code == 409
    async with runtime.sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.object_id == str(report.id))
            )
        )
    assert "report.donations_paused" in actions
    await sign_in_as(client, runtime, demo["caseworker"])  # not a coordinator: not theirs
    assert (
        await post_form(
            client, f"/reports/{report.id}/donations", {"paused": "0", "decision_reason": "x"}
        )
    ).status_code == 404
    await sign_in_as(client, runtime, demo["coordinator"])
    resumed = await post_form(
        client, f"/reports/{report.id}/donations", {"paused": "0", "decision_reason": "查无实据"}
    )
    assert resumed.status_code == 303
    assert (await client.get(f"/projects/{project.id}/donate")).status_code == 200


# ---------------------------------------------------------------- confidentiality


async def test_misconduct_reporter_is_known_to_the_admin_only(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    project = await make_project(runtime, demo)
    volunteer = await current_user(runtime, demo["volunteer"])
    report = await _submit(
        runtime,
        service.Reporter(user=volunteer),
        report_type="misconduct",
        subject_type="project",
        subject_id=str(project.id),
        text="负责人对志愿者态度恶劣。",
        contact="volunteer-contact@example.org",
    )
    assert report.route == Route.ADMIN
    await sign_in_as(client, runtime, demo["coordinator"])
    seen = await client.get(f"/reports/{report.id}")
    assert seen.status_code == 200 and "volunteer-contact@example.org" not in seen.text
    await sign_in_as(client, runtime, demo["admin"])
    seen = await client.get(f"/reports/{report.id}")
    assert "volunteer-contact@example.org" in seen.text
    async with runtime.sessionmaker() as session:
        reads = list(
            await session.scalars(
                select(AuditEntry.detail)
                .where(AuditEntry.object_id == str(report.id), AuditEntry.action == "report.read")
                .order_by(AuditEntry.occurred_at)
            )
        )
        received_actor = await session.scalar(
            select(AuditEntry.actor_id).where(
                AuditEntry.object_id == str(report.id), AuditEntry.action == "report.received"
            )
        )
    assert [r["reporter_shown"] for r in reads] == [False, True]
    assert all(r["confidential"] for r in reads)
    assert received_actor is None  # the audit trail does not name a confidential reporter


async def test_handlers_see_only_their_region(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as session:
        household = await make_household(session, demo["caseworker"])
    report = await _submit(
        runtime,
        service.Reporter(household_id=household.id),
        report_type="delivery",
        subject_type="none",
        subject_id="",
        text="没收到。",
    )
    await sign_in_as(client, runtime, demo["caseworker_sanmen"])
    assert (await client.get(f"/reports/{report.id}")).status_code == 404
    queue = await client.get("/reports")
    assert service.display_code(report.tracking_code) not in queue.text
    await sign_in_as(client, runtime, demo["caseworker"])
    assert (await client.get(f"/reports/{report.id}")).status_code == 200
    found = False
    for page_no in range(1, 20):
        queue = await client.get("/reports", params={"page": page_no})
        if service.display_code(report.tracking_code) in queue.text:
            found = True
            break
        if 'rel="next"' not in queue.text:
            break
    assert found


# ---------------------------------------------------------------- figures and limits


async def test_figures_and_the_public_page(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    await _submit(runtime, report_type="other", subject_type="none", subject_id="", text="x")
    await sign_in_as(client, runtime, demo["coordinator"])
    figures = await client.get("/reports/figures")
    assert figures.status_code == 200
    public = await client.get("/transparency")
    assert public.status_code == 200 and "&lt;11" in public.text
    admin = await current_user(runtime, demo["admin"])
    async with runtime.sessionmaker() as session:
        before = await service.figures(session, SETTINGS, admin)
    answered = await _submit(
        runtime, report_type="fraud", subject_type="none", subject_id="", text="y"
    )
    await _submit(runtime, report_type="fraud", subject_type="none", subject_id="", text="z")
    async with runtime.transaction() as session:
        await service.move(session, admin, answered.id, to_stage="acknowledged", reason="已收到")
        await service.move(
            session, admin, answered.id, to_stage="resolved", reason="查实", outcome="已处理。"
        )
    async with runtime.sessionmaker() as session:
        after = await service.figures(session, SETTINGS, admin)
    # one more answered on time, one more open (aged 0-1 working days), two more fraud reports
    assert after.by_type["fraud"] == before.by_type["fraud"] + 2
    assert after.by_stage["resolved"] == before.by_stage["resolved"] + 1
    assert after.answered == before.answered + 1
    assert after.answered_on_time == before.answered_on_time + 1
    assert after.by_age["0-1"] == before.by_age["0-1"] + 1
    assert sum(after.by_age.values()) == sum(
        n for stage, n in after.by_stage.items() if stage not in ("resolved", "dismissed")
    )
    assert after.median_days_to_answer is not None


async def test_anonymous_reports_are_rate_limited(client: Any, runtime: Any) -> None:
    statuses = []
    for i in range(SETTINGS.report_limit_per_hour + 1):
        r = await post_form(client, "/report", {"on": "none", "type": "other", "text": f"第{i}条"})
        statuses.append(r.status_code)
    assert statuses[:-1] == [303] * SETTINGS.report_limit_per_hour
    assert statuses[-1] == 429 and int(r.headers["retry-after"]) > 0
