"""The one public-text gate (issue 15 point 1).

The public free-text fields are enumerated from the HTML form templates and from the OpenAPI
request bodies. Every field found must be listed here either as PUBLIC (with a case that plants
an ID number, a mobile number, a WeChat id and a household's own name and expects the gate to
refuse it with each span marked) or as PRIVATE with the reason it never becomes public. A new
free-text field listed nowhere fails :func:`test_every_text_field_is_classified`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.accounts.models import Organization
from backend.core.storage import LocalStorage
from backend.donations import service as donations
from backend.fulfilment import service as fulfilment
from backend.households import service as households
from backend.organizations import service as organizations
from backend.privacy.gate import PersonalDataFound
from backend.privacy.idcard import make_fake_id
from backend.projects import service as projects
from backend.resources import service as resources
from backend.volunteering import service as volunteering
from tests.fulfilment.factories import claimed_story, png_bytes, user
from tests.helpers import post_json, sign_in_as

TEMPLATES = Path(__file__).resolve().parents[2] / "frontend_templates"
FIELD_RE = re.compile(
    r'f\.(?:textarea|text)\("(?P<a>[a-z_]+)"|<textarea[^>]*\bname="(?P<b>[a-z_]+)"'
)
ID_NUMBER = make_fake_id("330106", date(1945, 1, 1), 123)
MOBILE = "13912345678"
WECHAT = "wxid_tongxin88"

# Free-text fields that become public, by (template, field) -> case name below.
PUBLIC_FORM_FIELDS = {
    ("accounts/org_register.html", "description"): "org_register",
    ("organizations/profile_form.html", "description"): "org_profile",
    ("donations/manage.html", "purpose"): "disbursement",
    ("donations/manage.html", "reason"): "adjustment",
    ("fulfilment/_rating.html", "comment"): "feedback",
    ("household_self/record.html", "comment"): "feedback",
    ("households/_need_fields.html", "title"): "need",
    ("households/_need_fields.html", "body"): "need",
    ("projects/form.html", "title"): "project",
    ("projects/form.html", "goal"): "project",
    ("projects/detail.html", "body"): "project_update",
    ("projects/detail.html", "plan"): "project_plan",
    ("resources/form.html", "title"): "resource",
    ("resources/form.html", "description"): "resource",
    ("volunteering/form.html", "title"): "task",
    ("volunteering/form.html", "place"): "task",
    ("volunteering/form.html", "description"): "task",
}
# Free-text fields that never become public, with the reason.
PRIVATE_FORM_FIELDS = {
    ("accounts/org_register.html", "name"): "the organization's registered legal name",
    ("accounts/org_register.html", "uscc"): "a checked registration code",
    ("accounts/profile.html", "display_name"): "the user's own name, their choice",
    ("accounts/signup.html", "display_name"): "the user's own name, their choice",
    ("admin/_organizations.html", "note"): "review note to the organization's admins",
    ("audit/log.html", "object_id"): "a filter of the audit log (an id), never stored",
    ("audit/log.html", "who"): "a filter of the audit log (an account), never stored",
    ("donations/bank_account.html", "account_name"): (
        "the organization's account holder: shown to donors only after a platform admin checked"
        " it against the registration, and refused by the scanner (docs/donations.md)"
    ),
    ("donations/bank_account.html", "bank_name"): (
        "a bank's name: shown to donors only after a platform admin checked it"
    ),
    ("donations/bank_account.html", "account_number"): "a bank account number, checked",
    ("donations/bank_review.html", "note"): "rejection reason to the organization's admins",
    ("donations/donate.html", "custom_amount"): "a number",
    ("donations/donate.html", "message"): "the donor's message to the organization",
    ("donations/manage.html", "amount"): "a number",
    ("fulfilment/confirm.html", "code"): "a 幸福码, checked",
    (
        "fulfilment/delivery.html",
        "note",
    ): "caseworker's confirmation note: staff only, personal data blanked",
    (
        "grievance/detail.html",
        "reason",
    ): "report handling reason: the report's history, handlers only",
    ("grievance/detail.html", "decision_reason"): "donation pause reason: handlers only",
    ("grievance/detail.html", "release_reason"): "hold release reason: handlers only",
    ("grievance/detail.html", "outcome"): (
        "answer to the reporter, shown only with the tracking code; refused with its spans marked"
        " when the scanner finds personal data (grievance.service.move, tests/grievance)"
    ),
    ("grievance/household.html", "text"): "report text: encrypted, handlers only",
    ("grievance/new.html", "text"): "report text: encrypted, handlers only",
    ("grievance/new.html", "contact"): "reporter's contact: encrypted, handlers only",
    ("grievance/track_form.html", "code"): "a report's tracking code",
    ("household_self/door.html", "code"): "a 幸福码, checked",
    ("items/county_kinds.html", "code"): "an item-kind code",
    ("items/county_kinds.html", "name_zh"): "the name of a kind of goods or service (taxonomy)",
    ("items/county_kinds.html", "name_en"): "the name of a kind of goods or service (taxonomy)",
    ("items/county_kinds.html", "synonyms"): "other names of that kind (taxonomy)",
    ("items/county_kinds.html", "substitutes"): "item-kind codes",
    ("items/county_kinds.html", "units"): "units and factors",
    ("fulfilment/fulfilment.html", "description"): "delivery record: household and caseworkers",
    ("fulfilment/fulfilment.html", "notes"): "delivery record: household and caseworkers",
    ("fulfilment/household.html", "notes"): "delivery record: household and caseworkers",
    ("household_self/signin.html", "code"): "a 幸福码, checked",
    ("households/_need_fields.html", "amount_yuan"): "a number",
    ("households/_need_fields.html", "unit"): "a unit, at most 16 characters",
    ("households/detail.html", "scope"): "consent record, caseworkers only",
    ("households/detail.html", "basis"): "verification record, caseworkers only",
    ("households/detail.html", "note"): "assessment note, caseworkers only",
    ("households/form.html", "address"): "personal field, encrypted",
    ("households/form.html", "head_name"): "personal field, encrypted",
    ("households/form.html", "id_number"): "personal field, encrypted",
    ("households/form.html", "member_ages"): "numbers",
    ("households/form.html", "phone"): "personal field, encrypted",
    ("households/need.html", "reason"): "withdrawal reason, caseworkers only",
    ("households/refer.html", "contact"): "referral: caseworkers only (referrer sees the state)",
    ("households/refer.html", "text"): "referral: caseworkers only (referrer sees the state)",
    ("households/referral.html", "reason"): "dismissal reason, caseworkers only",
    ("matches/_org.html", "reason"): "decline reason, coordinators only",
    ("matches/_queue.html", "reason"): "rejection reason, coordinators only",
    ("matches/reassign.html", "reason"): "reassignment reason, coordinators only",
    ("organizations/join.html", "code"): "an invitation code",
    ("organizations/profile_form.html", "name"): "the organization's registered legal name",
    ("organizations/profile_form.html", "name_en"): "the organization's registered name",
    ("partner/clients.html", "name"): "API client label, organization admins only",
    ("projects/form.html", "target"): "a number",
    ("resources/claim.html", "quantity"): "a number",
    ("resources/claim_detail.html", "reason"): "release reason, coordinators and caseworkers",
    ("resources/form.html", "capacity"): "a number",
    ("resources/form.html", "max_per_household"): "a number",
    ("resources/form.html", "unit"): "a unit, at most 16 characters",
    ("volunteering/detail.html", "capacity"): "a number",
    ("volunteering/form.html", "capacity"): "a number",
    ("volunteering/hours.html", "minutes"): "a number",
    ("volunteering/hours.html", "note"): "hours note to the organization's reviewers",
}

# String properties of JSON request bodies (component schema or documented free object).
PUBLIC_API_FIELDS = {
    ("NeedIn", "title"),
    ("NeedIn", "body"),
    ("ResourceIn", "title"),
    ("ResourceIn", "description"),
    ("OrganizationIn", "description"),
    ("partner:resource", "title"),
    ("partner:resource", "description"),
}
PRIVATE_API_FIELDS = {
    ("NeedIn", "category"): "a code",
    ("NeedIn", "item_kind"): "an item-kind code",
    ("ResourceIn", "item_kind"): "an item-kind code",
    ("partner:resource", "item_kind"): "an item-kind code",
    ("NeedIn", "unit"): "a unit",
    ("NeedIn", "urgency"): "an enum",
    ("ResourceIn", "kind"): "an enum",
    ("ResourceIn", "category"): "a code",
    ("ResourceIn", "unit"): "a unit",
    ("OrganizationIn", "name"): "registered legal name",
    ("OrganizationIn", "org_type"): "an enum",
    ("OrganizationIn", "uscc"): "a checked code",
    ("OrganizationIn", "region_code"): "a code",
    ("OrganizationIn", "contact_email"): "the organization's own contact address",
    ("HouseholdIn", "*"): "personal fields, encrypted, caseworkers only",
    ("RevealIn", "*"): "reveal purpose, audit only",
    ("ReferralIn", "*"): "referral: caseworkers only",
    ("ReviewIn", "*"): "review note to the organization",
    ("ClaimIn", "*"): "ids and numbers",
    ("ReleaseIn", "*"): "release reason, coordinators and caseworkers",
    ("partner:resource", "kind"): "an enum",
    ("partner:resource", "category"): "a code",
    ("partner:resource", "unit"): "a unit",
    ("partner:resource", "state"): "an enum",
    ("partner:delivery", "*"): "delivery record: household and caseworkers",
    ("oauth:token", "*"): "client credentials",
}
PARTNER_NOT_TEXT = {"capacity", "remaining", "service_area", "available_from", "available_until"}
PARTNER_BODIES = {
    "/api/v1/partner/resources": "partner:resource",
    "/api/v1/partner/resources/{resource_id}": "partner:resource",
    "/api/v1/partner/deliveries": "partner:delivery",
    "/oauth/token": "oauth:token",
}


def form_fields() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in TEMPLATES.rglob("*.html"):
        rel = path.relative_to(TEMPLATES).as_posix()
        for m in FIELD_RE.finditer(path.read_text(encoding="utf-8")):
            found.add((rel, m.group("a") or m.group("b")))
    return found


def api_fields(schema: dict[str, Any]) -> set[tuple[str, str]]:
    from backend.partner.service import RESOURCE_FIELDS

    found: set[tuple[str, str]] = set()
    components = schema.get("components", {}).get("schemas", {})
    for path, item in schema["paths"].items():
        for op in item.values():
            body = op.get("requestBody") if isinstance(op, dict) else None
            if not body:
                continue
            for content in body["content"].values():
                ref = content["schema"].get("$ref")
                if ref is None:
                    name = PARTNER_BODIES[path]  # a documented free object
                    props = (
                        {f: {"type": "string"} for f in RESOURCE_FIELDS - PARTNER_NOT_TEXT}
                        if name == "partner:resource"
                        else {"*": {"type": "string"}}
                    )
                else:
                    name = ref.rsplit("/", 1)[1]
                    props = components[name].get("properties", {})
                for prop, spec in props.items():
                    options = [spec, *spec.get("oneOf", [])]
                    if any(
                        o.get("type") == "string" and o.get("format") not in {"uuid", "date"}
                        for o in options
                    ):
                        found.add((name, prop))
    return found


def test_every_text_field_is_classified() -> None:
    found = form_fields()
    assert found, "no form field found: the pattern is stale"
    unclassified = found - set(PUBLIC_FORM_FIELDS) - set(PRIVATE_FORM_FIELDS)
    assert not unclassified, f"classify these form fields (public → gate): {sorted(unclassified)}"
    stale = (set(PUBLIC_FORM_FIELDS) | set(PRIVATE_FORM_FIELDS)) - found
    assert not stale, f"listed but no longer in a template: {sorted(stale)}"


async def test_every_api_text_field_is_classified(app: Any) -> None:
    found = api_fields(app.openapi_schema.to_schema())
    wildcard = {name for name, prop in PRIVATE_API_FIELDS if prop == "*"}
    unclassified = {
        (name, prop)
        for name, prop in found
        if name not in wildcard
        and (name, prop) not in PUBLIC_API_FIELDS
        and (name, prop) not in PRIVATE_API_FIELDS
    }
    assert not unclassified, f"classify these API fields (public → gate): {sorted(unclassified)}"
    assert found >= PUBLIC_API_FIELDS


def planted(name: str) -> str:
    return f"感谢{name}老人（电话 {MOBILE}，身份证 {ID_NUMBER}，微信：{WECHAT}）收到棉被。"


def assert_refused(exc: PersonalDataFound, field: str, name_kinds: set[str] | None) -> None:
    kinds = {b.kind for b in exc.blocks if b.field == field}
    assert {"id_number", "mobile", "wechat"} <= kinds, kinds
    if name_kinds is not None:
        assert kinds & name_kinds, kinds
    marked = exc.fields[field].marked  # type: ignore[attr-defined]
    assert f'<mark class="pii" data-kind="wechat">{WECHAT}</mark>' in marked
    # id, mobile, WeChat, and the household's name when the organization knows it
    assert marked.count("<mark") >= (3 if name_kinds is None else 4)


Case = Callable[[Any, dict[str, Any], str, str], Awaitable[None]]


async def _charity_name(db: Any, demo: dict[str, Any]) -> str:
    names = await households.claimed_names_provider(db, demo["org:charity"])()
    assert names, "the demo charity has no claims"
    return names[0]


def _slot() -> volunteering.SlotIn:
    start = datetime.now(UTC) + timedelta(days=3)
    return volunteering.SlotIn(starts_at=start, ends_at=start + timedelta(hours=2), capacity=3)


async def case_org_register(db: Any, demo: dict[str, Any], field: str, text: str) -> None:
    from backend.accounts.service import register_organization

    org = await db.get(Organization, demo["org:charity"])
    await register_organization(
        db,
        await user(db, demo["volunteer"]),
        name="新组织",
        org_type=org.org_type.value,
        uscc=org.uscc,
        region_code="330106",
        description=text,
    )


async def case_org_profile(db: Any, demo: dict[str, Any], field: str, text: str) -> None:
    org = await db.get(Organization, demo["org:charity"])
    await organizations.update_profile(
        db,
        await user(db, demo["org_admin"]),
        org.id,
        name=org.name,
        name_en=org.name_en,
        description=text,
        service_area=list(org.service_area),
        contact_email="",
    )


async def case_disbursement(db: Any, demo: dict[str, Any], field: str, text: str) -> None:
    await donations.request_disbursement(
        db,
        await user(db, demo["org_member"]),
        demo["project:warm_nest"],
        amount_fen=100,
        purpose=text,
        receipt=png_bytes(),
        content_type="image/png",
        storage=None,  # type: ignore[arg-type]  # refused before anything is stored
    )


async def case_adjustment(db: Any, demo: dict[str, Any], field: str, text: str) -> None:
    await donations.book_adjustment(
        db,
        await user(db, demo["org_admin"]),
        demo["project:warm_nest"],
        amount_fen=100,
        reason=text,
    )


async def case_project(db: Any, demo: dict[str, Any], field: str, text: str) -> None:
    values = {"title": "冬季送温暖", "goal": "为老人送棉被", field: text[:120]}
    await projects.create_project(
        db,
        await user(db, demo["org_member"]),
        demo["org:charity"],
        title=values["title"],
        goal=values["goal"],
        category="goods",
        region_code="330106",
        target_fen=100_00,
    )


async def case_project_update(db: Any, demo: dict[str, Any], field: str, text: str) -> None:
    await projects.post_update(
        db,
        await user(db, demo["org_member"]),
        None,  # type: ignore[arg-type]  # refused before a photo is stored
        demo["project:warm_nest"],
        body=text,
    )


async def case_resource(db: Any, demo: dict[str, Any], field: str, text: str) -> None:
    values = {"title": "棉被", "description": "", field: text[:120]}
    await resources.create_resource(
        db,
        await user(db, demo["org_member"]),
        demo["org:charity"],
        kind="goods",
        category="goods",
        title=values["title"],
        capacity=5,
        service_area=["330106"],
        description=values["description"],
    )


async def case_task(db: Any, demo: dict[str, Any], field: str, text: str) -> None:
    values = {"title": "探访", "description": "", "place": "社区", field: text[:120]}
    await volunteering.create_task(
        db,
        await user(db, demo["org_member"]),
        demo["org:charity"],
        title=values["title"],
        category=next(iter(volunteering.TASK_CATEGORIES)),
        region_code="330106",
        place=values["place"],
        slot=_slot(),
        description=values["description"],
    )


CASES: dict[str, Case] = {
    "org_register": case_org_register,
    "org_profile": case_org_profile,
    "disbursement": case_disbursement,
    "adjustment": case_adjustment,
    "project": case_project,
    "project_update": case_project_update,
    "resource": case_resource,
    "task": case_task,
}
ORG_CASES = [(t, f) for (t, f), case in PUBLIC_FORM_FIELDS.items() if case in CASES]


@pytest.mark.parametrize(("template", "field"), ORG_CASES)
async def test_organization_text_is_gated(
    db: Any, demo: dict[str, Any], template: str, field: str
) -> None:
    case = CASES[PUBLIC_FORM_FIELDS[(template, field)]]
    name = await _charity_name(db, demo)
    with pytest.raises(PersonalDataFound) as refused:
        await case(db, demo, field, planted(name))
    # a registering organization has no claims yet: no household is known to it
    name_kinds = None if case is case_org_register else {"household_name"}
    assert_refused(refused.value, field, name_kinds)


async def test_project_plan_is_gated_with_the_households_own_values(
    db: Any, demo: dict[str, Any]
) -> None:
    story = await claimed_story(db, demo)
    own = households.own_values(await db.get(households.Household, story.need.household_id))
    project = await projects.create_project(
        db,
        story.member,
        demo["org:charity"],
        title="暖巢",
        goal="改造",
        category=story.need.category,
        region_code=story.need.region_code[:6],
        target_fen=100_00,
    )
    assert own.name
    with pytest.raises(PersonalDataFound) as refused:
        await projects.link_need(db, story.member, project.id, story.need.id, planted(own.name))
    assert_refused(refused.value, "plan", {"own_name", "household_name"})


async def test_feedback_comment_is_gated(db: Any, demo: dict[str, Any], tmp_path: Path) -> None:
    story = await claimed_story(db, demo)
    storage = LocalStorage(tmp_path)
    opened = await fulfilment.open_for_claim(db, story.member, story.claim_id)
    delivery = await fulfilment.record_delivery(
        db,
        story.member,
        opened.id,
        fulfilment.DeliveryIn(
            delivered_on=date.today(),
            description="棉被",
            quantity=opened.promised,
            volunteer_minutes=30,
            notes="",
        ),
        photos=[],
        storage=storage,
    )
    await fulfilment.confirm_with_code(
        db, story.member, delivery.id, story.code, story.pin, client_ip="127.0.0.1"
    )
    own = households.own_values(await db.get(households.Household, story.need.household_id))
    assert own.name
    with pytest.raises(PersonalDataFound) as refused:
        await fulfilment.give_feedback(
            db, delivery.id, 5, planted(own.name), household_id=story.need.household_id
        )
    assert_refused(refused.value, "comment", {"own_name"})


async def test_form_marks_each_span_next_to_the_field(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    """HTML: the project update form comes back 422 with the text marked under the field."""
    from tests.helpers import csrf_token

    await sign_in_as(client, runtime, demo["org_member"])
    token = await csrf_token(client)
    r = await client.post(
        f"/projects/{demo['project:warm_nest']}/updates",
        data={"body": planted("张三丰"), "_csrf_token": token},
        files={"photos": ("", b"", "application/octet-stream")},
    )
    assert r.status_code == 422, r.text[:500]
    html = r.text
    assert 'class="marked-text pii-marked"' in html
    assert f'<mark class="pii" data-kind="wechat">{WECHAT}</mark>' in html
    assert '<mark class="pii" data-kind="id_number">' in html
    assert '<mark class="pii" data-kind="mobile">' in html


async def test_api_refuses_with_spans(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    """JSON: 422 ``{error, message, status, fields, spans}`` on the resource API."""
    async with runtime.transaction() as session:
        name = await _charity_name(session, demo)
    await sign_in_as(client, runtime, demo["org_member"])
    for field in ("title", "description"):
        body = {
            "organization_id": str(demo["org:charity"]),
            "kind": "goods",
            "category": "goods",
            "title": "棉被",
            "capacity": 3,
            "service_area": ["330106"],
            field: planted(name)[:120],
        }
        r = await post_json(client, "/api/v1/resources", body)
        assert r.status_code == 422, r.text
        data = r.json()
        assert data["error"] == "personal_data"
        assert data["fields"] == {field: "personal_data"}
        kinds = {s["kind"] for s in data["spans"] if s["field"] == field}
        assert {"id_number", "mobile", "wechat", "household_name"} <= kinds


async def test_partner_api_is_gated(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    from tests.partner.test_partner_api import _client, _token

    async with runtime.transaction() as session:
        name = await _charity_name(session, demo)
    api_client, secret = await _client(runtime, demo, "charity", ["resources:write"])
    token = await _token(client, api_client, secret)
    body = {
        "kind": "goods",
        "category": "goods",
        "title": "棉被",
        "capacity": 3,
        "service_area": ["330106"],
        "description": planted(name),
    }
    r = await client.post(
        "/api/v1/partner/resources", json=body, headers={"authorization": f"Bearer {token}"}
    )
    assert r.status_code == 422, r.text
    kinds = {s["kind"] for s in r.json()["spans"]}
    assert {"id_number", "mobile", "wechat", "household_name"} <= kinds


async def test_need_publication_is_gated(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    from tests.helpers import post_form

    await sign_in_as(client, runtime, demo["caseworker"])
    head = f"雀{uuid.uuid4().hex[:4]}"
    r = await post_json(
        client,
        "/api/v1/households",
        {
            "head_name": head,
            "id_number": make_fake_id("330106", date(1951, 2, 3), 77),
            "phone": "13905710000",
            "address": "浙江省杭州市西湖区西溪街道学院路5号",
            "region_code": "330106004",
            "category": "dibao",
            "member_ages": [70],
        },
    )
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    for path, form in (
        (f"/households/{hid}/verify", {"basis": "gate"}),
        (f"/households/{hid}/consents", {"purpose": "publish_needs"}),
    ):
        assert (await post_form(client, path, form)).status_code == 303
    for field in ("title", "body"):
        need = {"category": "goods", "title": "棉被", "body": "冬天冷", "quantity": 1}
        need[field] = planted(head)[:120]
        r = await post_json(client, f"/api/v1/households/{hid}/needs", need)
        assert r.status_code == 201, r.text
        r = await post_json(client, f"/api/v1/households/needs/{r.json()['id']}/publish", {})
        assert r.status_code == 422, r.text
        kinds = {s["kind"] for s in r.json()["spans"] if s["field"] == field}
        assert {"id_number", "mobile", "wechat", "own_name"} <= kinds


def test_scanner_contact_kinds_exist() -> None:
    """Guard: every kind the gate relies on is produced by the scanner for the planted text."""
    from backend.privacy.scanner import scan_public_text

    kinds = {f.kind for f in scan_public_text(planted("王秀英"), known_names=["王秀英"])}
    assert {"id_number", "mobile", "wechat", "household_name"} <= kinds


async def test_author_edits_and_withdraws_an_update(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    """Published text stays the author's: corrected through the gate, withdrawn, both audited."""
    from sqlalchemy import select

    from backend.audit.models import AuditEntry
    from backend.core.errors import Forbidden
    from tests.helpers import post_form

    project_id = demo["project:warm_nest"]
    async with runtime.transaction() as session:
        member = await user(session, demo["org_member"])
        update = await projects.post_update(
            session,
            member,
            None,
            project_id,
            body="第一批棉被已送达",  # type: ignore[arg-type]
        )
        update_id = update.id
    async with runtime.transaction() as session:
        admin = await user(session, demo["org_admin"])
        with pytest.raises(Forbidden):  # a colleague is not the author
            await projects.withdraw_update(session, admin, project_id, update_id)
    await sign_in_as(client, runtime, demo["org_member"])
    field = f"body-{update_id}"
    r = await post_form(
        client, f"/projects/{project_id}/updates/{update_id}", {field: f"更正：电话 {MOBILE}"}
    )
    assert r.status_code == 422
    assert '<mark class="pii" data-kind="mobile">' in r.text
    r = await post_form(
        client, f"/projects/{project_id}/updates/{update_id}", {field: "第一批棉被已送达 12 户"}
    )
    assert r.status_code == 303
    client.cookies.clear()
    assert "第一批棉被已送达 12 户" in (await client.get(f"/projects/{project_id}")).text
    await sign_in_as(client, runtime, demo["org_member"])
    r = await post_form(client, f"/projects/{project_id}/updates/{update_id}/withdraw", {})
    assert r.status_code == 303
    client.cookies.clear()
    assert "第一批棉被已送达" not in (await client.get(f"/projects/{project_id}")).text
    async with runtime.sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.object_id == str(project_id))
            )
        ).all()
    assert {"project.update_edited", "project.update_withdrawn"} <= set(actions)
