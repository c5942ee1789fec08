"""The auditor's workspace: filters, the audited CSV export, the reports, the chain verified from
the page (a tampered row is named), and no personal field value on any auditor page or file."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date
from typing import Any

from sqlalchemy import select, text

from backend.accounts.models import Role, RoleGrant, User
from backend.audit import workspace
from backend.audit.models import AuditEntry, AuditLink
from backend.audit.service import Actor, record, seal_all
from backend.core.db import utcnow
from backend.privacy.idcard import make_fake_id
from tests.helpers import post_form, sign_in_as
from tests.households.factories import make_household

BOM = b"\xef\xbb\xbf"


async def _user(session: Any, name: str, role: Role = Role.CASEWORKER) -> uuid.UUID:
    user = User(
        id=uuid.uuid4(),
        email=f"{uuid.uuid4().hex[:10]}@example.org",
        display_name=name,
        password_hash=None,
    )
    session.add(user)
    await session.flush()
    session.add(RoleGrant(user_id=user.id, role=role, region_code="330106"))
    await session.flush()
    return user.id


async def _entries(runtime: Any, *items: dict[str, Any]) -> list[int]:
    """Record entries (committed), seal them, return their chain rows."""
    async with runtime.transaction() as session:
        ids = [(await record(session, **item)).id for item in items]
    async with runtime.transaction() as session:
        await seal_all(session)
        links = {
            link.entry_id: link.seq
            for link in await session.scalars(select(AuditLink).where(AuditLink.entry_id.in_(ids)))
        }
    return [links[i] for i in ids]


def _actions(html: str) -> list[str]:
    return re.findall(r'<p class="audit-action"><strong>(.*?)</strong>', html)


async def test_filters_by_action_object_region_time_and_who(
    client: Any, runtime: Any, demo: Any
) -> None:
    async with runtime.transaction() as session:
        worker = await _user(session, "筛选测试社工")
    target = str(uuid.uuid4())
    common = {"object_type": "household", "object_id": target}
    await _entries(
        runtime,
        {
            **common,
            "actor": Actor("user", worker),
            "action": "household.revealed",
            "region_code": "330106004",
            "detail": {"fields": ["phone"]},
        },
        {
            **common,
            "actor": Actor("user", worker),
            "action": "household.updated",
            "region_code": "331022",
        },
        {**common, "actor": Actor.system(), "action": "household.verified"},
    )
    await sign_in_as(client, runtime, demo["auditor"])

    everything = await client.get("/audit", params={"object_id": target})
    assert everything.status_code == 200
    assert len(_actions(everything.text)) == 3
    assert "筛选测试社工" in everything.text
    assert '<span class="badge">社工</span>' in everything.text  # the actor's role, as a label
    listed = everything.text.split('id="audit-list"')[1]
    assert "household.revealed" not in listed  # labels, never codes
    assert listed.count(target) == listed.count(f"object_id={target}")  # in links only
    assert "家庭：查看了个人信息" in everything.text
    assert "查看字段：电话" in everything.text

    revealed = await client.get(
        "/audit", params={"object_id": target, "action": "household.revealed"}
    )
    assert _actions(revealed.text) == ["家庭：查看了个人信息"]

    in_xihu = await client.get("/audit", params={"object_id": target, "region": "330106"})
    assert _actions(in_xihu.text) == ["家庭：查看了个人信息"]

    by_who = await client.get("/audit", params={"object_id": target, "who": "筛选测试社工"})
    assert len(_actions(by_who.text)) == 2
    by_kind = await client.get("/audit", params={"object_id": target, "kind": "system"})
    assert len(_actions(by_kind.text)) == 1

    today = utcnow().astimezone(workspace.SHANGHAI).date().isoformat()
    today_only = await client.get(
        "/audit", params={"object_id": target, "since": today, "until": today}
    )
    assert len(_actions(today_only.text)) == 3
    long_ago = await client.get(
        "/audit", params={"object_id": target, "since": "2020-01-01", "until": "2020-01-31"}
    )
    assert _actions(long_ago.text) == []

    bad = await client.get("/audit", params={"since": "2026-02-10", "until": "2026-01-01"})
    assert bad.status_code == 422
    assert 'role="alert"' in bad.text
    for until in ("9999-12-31", "2026-02-30"):
        assert (await client.get("/audit", params={"until": until})).status_code == 422


async def test_keyset_pages_do_not_repeat_or_skip(client: Any, runtime: Any, demo: Any) -> None:
    target = str(uuid.uuid4())
    await _entries(
        runtime,
        *(
            {
                "actor": Actor.system(),
                "action": "need.published",
                "object_type": "need",
                "object_id": target,
                "detail": {"rows": i},
            }
            for i in range(workspace.PAGE_SIZE + 5)
        ),
    )
    await sign_in_as(client, runtime, demo["auditor"])
    first = await client.get("/audit", params={"object_id": target})
    more = re.search(r'href="(/audit\?[^"]*after=[^"]+)"', first.text)
    assert more is not None
    second = await client.get(more.group(1).replace("&amp;", "&"))
    rows = re.findall(r"行数：(\d+)", first.text) + re.findall(r"行数：(\d+)", second.text)
    assert sorted(int(r) for r in rows) == list(range(workspace.PAGE_SIZE + 5))
    assert "audit-more" not in second.text


async def test_the_export_is_audited_and_opens_in_excel(
    client: Any, runtime: Any, demo: Any
) -> None:
    target = str(uuid.uuid4())
    await _entries(
        runtime,
        {
            "actor": Actor("user", demo["caseworker"]),
            "action": "household.exported",
            "object_type": "household",
            "object_id": target,
            "region_code": "330106004",
            "detail": {"fields": ["head_name", "phone"]},
        },
        {
            "actor": Actor.system(),
            "action": "need.published",
            "object_type": "need",
            "object_id": target,
            "detail": {"reason": '=HYPERLINK("http://evil.example")'},
        },
    )
    await sign_in_as(client, runtime, demo["auditor"])
    response = await post_form(client, "/audit/export", {"object_id": target})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(BOM)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "时间（北京时间）",
        "链行号",
        "操作人",
        "角色",
        "操作",
        "对象",
        "编号",
        "辖区",
        "明细",
    ]
    assert len(rows) == 3
    assert {r[4] for r in rows[1:]} == {"家庭：含个人信息导出", "需求：已发布"}
    assert any("查看字段：户主" in r[8] for r in rows[1:])
    assert not any(cell.startswith("=") for r in rows for cell in r)
    assert target not in response.text  # the short reference only

    async with runtime.transaction() as session:
        entry = (
            await session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.action == "audit.exported", AuditEntry.actor_id == demo["auditor"]
                )
                .order_by(AuditEntry.occurred_at.desc())
                .limit(1)
            )
        ).one()
    assert entry.detail["filters"] == {"object_id": target}
    assert entry.actor_kind == "user:auditor"

    client.cookies.set("tx_lang", "en")
    english = await post_form(client, "/audit/export", {"object_id": target})
    client.cookies.delete("tx_lang")
    head = next(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert head[:3] == ["Time (Beijing)", "Chain row", "Who"]
    assert "Household: exported with personal data" in english.text


async def test_reveals_and_exports_per_caseworker_per_month(db: Any) -> None:
    worker = await _user(db, "计数测试社工")
    households = [uuid.uuid4(), uuid.uuid4()]
    for action, target in (
        ("household.revealed", households[0]),
        ("household.revealed", households[0]),
        ("household.revealed", households[1]),
        ("household.exported", households[0]),
        ("household.exported", households[1]),
        ("household.updated", households[1]),  # not a reading of personal data
    ):
        await record(
            db,
            actor=Actor("user", worker),
            action=action,
            object_type="household",
            object_id=target,
        )
    this_month = utcnow().astimezone(workspace.SHANGHAI).date().replace(day=1)
    lines = await workspace.access_report(db, this_month, this_month)
    mine = [line for line in lines if line.actor == "计数测试社工"]
    assert len(mine) == 1
    line = mine[0]
    assert (line.month, line.reveals, line.revealed_households) == (this_month, 3, 2)
    assert (line.exports, line.exported_households) == (2, 2)
    earlier = await workspace.access_report(db, date(2020, 1, 1), date(2020, 12, 1))
    assert not [x for x in earlier if x.actor == "计数测试社工"]


async def test_overrides_and_disbursements_reports(client: Any, runtime: Any, demo: Any) -> None:
    async with runtime.transaction() as session:
        coordinator = await _user(session, "改派测试协调员", Role.COORDINATOR)
    await _entries(
        runtime,
        {
            "actor": Actor("user", coordinator, "coordinator"),
            "action": "match.rejected",
            "object_type": "match",
            "object_id": uuid.uuid4(),
            "region_code": "330106",
            "detail": {"reason": "物资规格不符，联系人电话13912345678已停机"},
        },
    )
    await sign_in_as(client, runtime, demo["auditor"])
    page = await client.get("/audit/reports/overrides")
    assert page.status_code == 200
    assert "改派测试协调员" in page.text
    assert "匹配建议：已驳回" in page.text
    assert "物资规格不符" in page.text
    assert "13912345678" not in page.text  # personal data in a reason is masked
    disbursements = await client.get("/audit/reports/disbursements")
    assert disbursements.status_code == 200
    for since in ("2026-13", "0001-01"):
        access = await client.get("/audit/reports/access", params={"since": since})
        assert access.status_code == 422


async def test_the_page_names_a_tampered_row(client: Any, runtime: Any, demo: Any) -> None:
    await sign_in_as(client, runtime, demo["auditor"])
    [seq] = await _entries(
        runtime,
        {
            "actor": Actor.system(),
            "action": "need.published",
            "object_type": "need",
            "object_id": uuid.uuid4(),
            "detail": {"rows": 1},
        },
    )

    async def run(mode: str) -> str:
        url = f"/audit/verify?mode={mode}"
        for _ in range(10_000):
            response = await client.get(url, headers={"hx-request": "true"})
            assert response.status_code == 200
            follow = re.search(r'hx-get="(/audit/verify\?[^"]+)"', response.text)
            if follow is None:
                return str(response.text)
            url = follow.group(1).replace("&amp;", "&")
        raise AssertionError("the verification never finished")

    intact = await run("full")
    assert "审计日志完整" in intact

    async def set_detail(value: str) -> None:
        async with runtime.transaction() as session:  # what a superuser could do
            await session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            await session.execute(
                text(
                    "UPDATE audit_log SET detail = CAST(:d AS jsonb) "
                    "WHERE id = (SELECT entry_id FROM audit_chain WHERE seq = :s)"
                ),
                {"s": seq, "d": value},
            )
            await session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))

    await set_detail('{"rows": 2}')
    try:
        broken = await run("full")
        assert f"第一个损坏的行：第 {seq} 行" in broken
        assert "该行在写入后被修改" in broken
        assert f'href="/audit?row={seq}"' in broken
        shown = await client.get("/audit", params={"row": str(seq)})
        assert len(_actions(shown.text)) == 1
    finally:
        await set_detail('{"rows": 1}')
    assert "审计日志完整" in await run("full")


async def test_verification_goes_in_bounded_steps(db: Any, monkeypatch: Any) -> None:
    for i in range(7):
        await record(
            db, actor=Actor.system(), action="need.published", object_type="need", object_id=str(i)
        )
    await seal_all(db)
    monkeypatch.setattr(workspace, "VERIFY_BATCH", 3)
    monkeypatch.setattr(workspace, "VERIFY_SECONDS", 0.0)
    step = await workspace.verify_step(db, full=True, from_seq=None, checked=0, started_after=0)
    assert (step.ok, step.done, step.checked) == (True, False, 3)
    steps = 1
    while not step.done:
        step = await workspace.verify_step(
            db, full=True, from_seq=step.next_from, checked=step.checked, started_after=0
        )
        steps += 1
    assert step.ok
    assert step.checked == step.total
    assert steps >= step.total // 3


async def test_an_auditor_never_sees_a_personal_value(client: Any, runtime: Any, demo: Any) -> None:
    name, phone = "欧阳审计测", "13698765432"
    id_number = make_fake_id("330106", date(1971, 3, 9), 537)
    async with runtime.transaction() as session:
        household = await make_household(
            session, demo["caseworker"], name=name, phone=phone, id_number=id_number
        )
    await sign_in_as(client, runtime, demo["caseworker"])
    revealed = await post_form(client, f"/households/{household.id}/reveal", {})
    assert name in revealed.text  # the caseworker sees it (and that is audited)
    exported = await post_form(client, "/households/export", {})
    assert phone in exported.text
    await _entries(
        runtime,
        {
            "actor": Actor("user", demo["coordinator"], "coordinator"),
            "action": "match.reassigned",
            "object_type": "match",
            "object_id": uuid.uuid4(),
            "region_code": "330106004",
            "detail": {"reason": f"户主电话 {phone}，身份证 {id_number}", "rows": 1},
        },
    )

    client.cookies.clear()
    await sign_in_as(client, runtime, demo["auditor"])
    pages = [
        "/audit",
        f"/audit?object_id={household.id}",
        "/audit?action=household.revealed",
        "/audit?action=match.reassigned",
        "/audit/reports/access",
        "/audit/reports/overrides",
        "/audit/reports/disbursements",
        "/audit/verify",
    ]
    seen = []
    for url in pages:
        response = await client.get(url)
        assert response.status_code == 200, url
        seen.append(response.text)
    assert "查看了个人信息" in seen[1]
    for form in ({}, {"object_id": str(household.id)}, {"action": "match.reassigned"}):
        export = await post_form(client, "/audit/export", form)
        assert export.status_code == 200
        seen.append(export.content.decode("utf-8-sig"))
    for body in seen:
        for value in (name, phone, id_number, "文三路1号"):
            assert value not in body


async def test_report_downloads_are_audited_and_translated(
    client: Any, runtime: Any, demo: Any
) -> None:
    async with runtime.transaction() as session:
        worker = await _user(session, "报表下载测试社工")
    await _entries(
        runtime,
        {
            "actor": Actor("user", worker),
            "action": "household.revealed",
            "object_type": "household",
            "object_id": uuid.uuid4(),
        },
    )
    await sign_in_as(client, runtime, demo["auditor"])
    page = await client.get("/audit/reports/access")
    assert "/audit/reports/export" in page.text
    month = utcnow().astimezone(workspace.SHANGHAI).strftime("%Y-%m")
    for kind, first_column in (
        ("access", "月份"),
        ("overrides", "时间（北京时间）"),
        ("disbursements", "决定时间"),
    ):
        response = await post_form(
            client, "/audit/reports/export", {"kind": kind, "since": month, "until": month}
        )
        assert response.status_code == 200
        assert response.content.startswith(BOM)
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][0] == first_column
        if kind == "access":
            mine = [r for r in rows if r[1] == "报表下载测试社工"]
            assert mine == [[month, "报表下载测试社工", "1", "1", "0"]]
    async with runtime.transaction() as session:
        reports = (
            await session.scalars(
                select(AuditEntry.detail).where(
                    AuditEntry.action == "audit.exported", AuditEntry.actor_id == demo["auditor"]
                )
            )
        ).all()
    assert {d.get("report") for d in reports} >= {"access", "overrides", "disbursements"}
