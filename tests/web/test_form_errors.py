"""Form errors say what is wrong, next to the field, and keep what was typed (issue 20, point 5).

Each listed validation gives its own sentence (not the generic "填写的内容无效"): a wrong ID
check character, a past date, an end before its start, an unknown e-mail, a number out of
range, a text too long, a required field. The control carries aria-invalid and points at
the message with aria-describedby; the re-rendered form holds the typed values.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import date, timedelta
from typing import Any

from backend.core.i18n import get_translations
from backend.privacy.idcard import id_problem, make_fake_id
from tests.helpers import post_form, sign_in_as

GENERIC = "填写的内容无效"


def _zh(msgid: str) -> str:
    return get_translations("zh_CN").gettext(msgid)


def field_error(page: str, name: str) -> str:
    """The text of the message shown next to field `name`; fails when there is none."""
    found = re.search(rf'<p class="field-error" id="f-{name}-error">(.*?)</p>', page, re.S)
    assert found, f"no error next to {name}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def control(page: str, name: str) -> str:
    found = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="f-{name}"[^>]*>', page, re.S)
    assert found, f"no control {name}"
    return found.group(0)


def assert_marked(page: str, name: str, message: str) -> None:
    """`message` (a msgid) is shown next to `name`, and the control is wired to it."""
    text = field_error(page, name)
    assert text.endswith(_zh(message)), text
    assert GENERIC not in text
    tag = control(page, name)
    assert 'aria-invalid="true"' in tag
    described = re.search(r'aria-describedby="([^"]*)"', tag)
    assert described and f"f-{name}-error" in described.group(1).split()


def value_of(page: str, name: str) -> str:
    found = re.search(r'\bvalue="([^"]*)"', control(page, name))
    return html.unescape(found.group(1)) if found else ""


def test_id_problems_are_told_apart() -> None:
    valid = make_fake_id("330106", date(1958, 3, 1), 123)
    wrong_check = valid[:17] + ("0" if valid[17] != "0" else "1")
    assert id_problem(valid) is None
    assert id_problem(wrong_check) == "check_char"
    assert id_problem(valid[:17]) == "length"
    assert id_problem("33010619580301A23X") == "format"
    assert id_problem("99" + valid[2:]) == "region"
    assert id_problem(valid[:10] + "1332" + valid[14:]) == "birth_date"


async def test_household_with_a_wrong_check_character(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, demo["caseworker"])
    client.cookies.set("tx_lang", "zh_CN")
    valid = make_fake_id("330106", date(1961, 7, 9), 417)
    wrong = valid[:17] + ("3" if valid[17] != "3" else "4")
    typed = {
        "head_name": "错位校验",
        "id_number": wrong,
        "phone": "13705712468",
        "address": "文二路88号",
        "region_code": "330106004",
        "category": "dibao",
        "member_ages": "63, 60",
    }
    response = await post_form(client, "/households", typed)
    assert response.status_code == 422
    page = response.text
    assert_marked(
        page,
        "id_number",
        "The last character (the check character) does not match the first 17 digits: one of"
        " them is probably mistyped. Check each digit against the card.",
    )
    for name in ("head_name", "id_number", "address", "member_ages"):
        assert value_of(page, name) == typed[name], name
    too_old = await post_form(client, "/households", {**typed, "member_ages": "63, 160"})
    assert too_old.status_code == 422
    assert_marked(
        too_old.text,
        "member_ages",
        "Enter each age as a number from 0 to 120, at most 20 members.",
    )
    missing = await post_form(client, "/households", {**typed, "head_name": ""})
    assert_marked(missing.text, "head_name", "This field is required.")
    long_name = await post_form(client, "/households", {**typed, "head_name": "长" * 60})
    assert_marked(long_name.text, "head_name", "This is too long.")


async def test_visit_schedule_errors_keep_the_typed_interval_and_date(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, demo["caseworker"])
    client.cookies.set("tx_lang", "zh_CN")
    url = f"/fulfilment/households/{demo['demo_household']}/schedule"
    past = (date.today() - timedelta(days=3)).isoformat()
    typed = {"interval_days": "45", "next_due": past, "assignee_email": ""}
    response = await post_form(client, url, typed)
    assert response.status_code == 422
    page = response.text
    assert_marked(
        page, "next_due", "This date has passed. Choose today or a later date for the next visit."
    )
    assert value_of(page, "interval_days") == "45"
    assert value_of(page, "next_due") == past

    soon = (date.today() + timedelta(days=9)).isoformat()
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    response = await post_form(
        client,
        url,
        {"interval_days": "3", "next_due": soon, "assignee_email": nobody},
    )
    assert response.status_code == 422
    page = response.text
    assert_marked(page, "interval_days", "Enter a number of days from 7 to 366.")
    assert_marked(
        page,
        "assignee_email",
        "No account uses this e-mail address. Check it, or ask the visitor to register first.",
    )
    assert value_of(page, "interval_days") == "3"
    assert value_of(page, "next_due") == soon
    assert value_of(page, "assignee_email") == nobody

    future = (date.today() + timedelta(days=2)).isoformat()
    visit = await post_form(
        client,
        f"/visits/{demo['demo_household']}",
        {"visited_on": future, "notes": "带了米和油", "back": "household"},
    )
    assert visit.status_code == 422
    assert_marked(
        visit.text,
        "visited_on",
        "A visit cannot be recorded ahead of time. Enter the day it took place.",
    )
    assert value_of(visit.text, "visited_on") == future
    assert "带了米和油" in visit.text
    # from the "my visits" list (no back=household) the list comes back with the message
    listed = await post_form(
        client, f"/visits/{demo['demo_household']}", {"visited_on": "", "notes": ""}
    )
    assert listed.status_code == 422
    assert "<html" in listed.text


async def test_end_before_start_and_places_out_of_range(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    await sign_in_as(client, runtime, demo["org_admin"])
    client.cookies.set("tx_lang", "zh_CN")
    org = demo["org:charity"]
    response = await post_form(
        client,
        f"/org/{org}/tasks",
        {
            "title": "周末陪伴老人",
            "category": "companionship",
            "region_code": "330106",
            "starts_at": "2027-03-06T14:00",
            "ends_at": "2027-03-06T09:00",
            "capacity": "900",
        },
    )
    assert response.status_code == 422
    assert_marked(response.text, "ends_at", "The end must be after the start.")
    assert_marked(response.text, "capacity", "Enter a number of places from 1 to 500.")
    assert value_of(response.text, "ends_at") == "2027-03-06T09:00"
    assert value_of(response.text, "capacity") == "900"

    project = await post_form(
        client,
        f"/org/{org}/projects",
        {
            "title": "助学计划",
            "category": "education",
            "region_code": "330106",
            "target": "5000",
            "starts_on": "2027-05-01",
            "ends_on": "2027-04-01",
        },
    )
    assert project.status_code == 422
    assert_marked(project.text, "ends_on", "The end date must not be before the start date.")
    assert value_of(project.text, "ends_on") == "2027-04-01"


async def test_need_deadline_in_the_past(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    await sign_in_as(client, runtime, demo["caseworker"])
    client.cookies.set("tx_lang", "zh_CN")
    past = (date.today() - timedelta(days=1)).isoformat()
    response = await post_form(
        client,
        f"/households/{demo['demo_household']}/needs",
        {
            "category": "goods",
            "title": "冬天的棉被",
            "quantity": "2",
            "urgency": "normal",
            "deadline": past,
        },
    )
    assert response.status_code == 422
    assert_marked(
        response.text, "deadline", "The deadline has passed. Choose today or a later date."
    )
    assert value_of(response.text, "title") == "冬天的棉被"
    assert value_of(response.text, "deadline") == past


async def test_publishing_from_the_edit_form_publishes_the_edit(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    from backend.core.repository import get_by_id
    from backend.needs.models import Need, NeedState

    await sign_in_as(client, runtime, demo["caseworker"])
    client.cookies.set("tx_lang", "zh_CN")
    marker = uuid.uuid4().hex[:6]
    fields = {"category": "goods", "quantity": "1", "urgency": "normal", "unit": "台"}
    blocked_body = "家里冬天很冷，有事请打 137 0571 2468 联系。"
    created = await post_form(
        client,
        f"/households/{demo['demo_household']}/needs",
        {**fields, "title": f"电暖器 {marker}", "body": blocked_body},
    )
    assert created.status_code == 303
    need_url = created.headers["location"].split("?")[0]
    need_id = uuid.UUID(need_url.rsplit("/", 1)[1])

    # the edit still holds a phone number: refused, nothing saved, the typed text kept
    still_blocked = blocked_body + "（晚上）"
    refused = await post_form(
        client,
        need_url + "/publish",
        {**fields, "title": f"电暖器 {marker}", "body": still_blocked},
    )
    assert refused.status_code == 422
    assert '<mark class="pii"' in refused.text
    typed_body = re.search(r'<textarea[^>]*id="f-body"[^>]*>(.*?)</textarea>', refused.text, re.S)
    assert typed_body and html.unescape(typed_body.group(1)) == still_blocked
    async with runtime.transaction() as session:
        need = await get_by_id(session, Need, need_id)
        assert need is not None
        assert need.state == NeedState.DRAFT
        assert need.body == blocked_body

    # fixed in the form and published from it: the edit is what is published
    fixed = "家里冬天很冷，希望有一台电暖器。"
    published = await post_form(
        client,
        need_url + "/publish",
        {**fields, "title": f"电暖器 {marker}", "body": fixed},
    )
    assert published.status_code == 303, published.text[:500]
    async with runtime.transaction() as session:
        need = await get_by_id(session, Need, need_id)
        assert need is not None
        assert need.state == NeedState.PUBLISHED
        assert need.body == fixed
