"""Role × route rows of the grievance channel: anyone reports and follows a report by its code;
handlers (caseworkers, coordinators, the platform admin) see reports of their region only."""

from __future__ import annotations

from typing import Any

from backend.config import get_settings
from backend.grievance import service
from tests.access import ACTORS, Ctx, Row
from tests.donations.conftest import make_project

ALL_200 = {"*": 200}
SIGNED_IN = {**dict.fromkeys(ACTORS, 200), "anonymous": 303}
NON_HANDLERS = ("volunteer", "donor", "member_a", "member_b", "auditor")


def handlers(status: int, *, caseworkers: int = 404, figures: bool = False) -> dict[str, int]:
    """Coordinator of Hangzhou and the admin act; caseworkers see other routes as 404."""
    expect = dict.fromkeys(ACTORS, 403)
    expect["anonymous"] = 303
    expect["coordinator"] = status
    expect["admin"] = status
    if not figures:
        expect["caseworker_x"] = caseworkers
        expect["caseworker_y"] = caseworkers
    return expect


def _report(kind: str, on: str = "project", template: str = "/reports/{r}") -> Any:
    async def build(ctx: Ctx) -> str:
        project = await make_project(ctx.runtime, ctx.demo)
        async with ctx.runtime.transaction() as session:
            report = await service.submit(
                session,
                get_settings(),
                service.Reporter(),
                report_type=kind,
                subject_type=on,
                subject_id=str(project.id),
                text="测试举报内容。",
            )
        ctx.extra["code"] = report.tracking_code
        return template.format(r=report.id, code=report.tracking_code)

    return build


async def _clear_limits(ctx: Ctx) -> dict[str, Any]:
    for key in await ctx.runtime.queue.pool.keys("rl:report:*"):
        await ctx.runtime.queue.pool.delete(key)
    return {"on": "none", "type": "other", "text": "网站的地图打不开。"}


ROWS = [
    Row("GET", "/report", ALL_200),
    Row("POST", "/report", {"*": 303}, data=_clear_limits),
    Row("GET", "/report/track", ALL_200),
    Row(
        "GET",
        "/report/track/{code:str}",
        ALL_200,
        url=_report("wrong_info", template="/report/track/{code}"),
    ),
    Row("GET", "/my/reports", {"*": 303}, note="(no household session: to the code sign-in)"),
    Row("POST", "/my/reports", {"*": 303}, data={"type": "delivery", "text": "没收到"}),
    Row("GET", "/reports", {**handlers(200, caseworkers=200)}),
    Row("GET", "/reports/mine", SIGNED_IN),
    Row("GET", "/reports/figures", handlers(200, figures=True)),
    Row("GET", "/reports/{report_id:uuid}", handlers(200), url=_report("wrong_info")),
    Row(
        "POST",
        "/reports/{report_id:uuid}/move",
        handlers(303),
        url=_report("wrong_info", template="/reports/{r}/move"),
        data={"stage": "acknowledged", "reason": "已收到"},
    ),
    Row(
        "POST",
        "/reports/{report_id:uuid}/release",
        handlers(303),
        url=_report("personal_data", template="/reports/{r}/release"),
        data={"release_reason": "作者已修改"},
    ),
    Row(
        "POST",
        "/reports/{report_id:uuid}/donations",
        handlers(303),
        url=_report("fraud", template="/reports/{r}/donations"),
        data={"paused": "1", "decision_reason": "核查期间暂停"},
    ),
    Row("GET", "/transparency", ALL_200),
]
