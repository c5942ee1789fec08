"""Role × route rows of organizations, resources and claims, projects and volunteering.

Org A is the Xihu charity federation: member_a is an ordinary member there (not its admin);
member_b administers org B and must get 404 for everything of org A.
"""

from __future__ import annotations

from typing import Any

from tests.access import ACTORS, Ctx, Row, everyone, only, signed_in
from tests.organizations import factories as fx


def org_a(
    status: int, *, admin: int | None = None, member_a: int | None = None, anonymous: int = 303
) -> dict[str, int]:
    """member_a and admin get ``status``; everybody else 404 (not their organization)."""
    expect = dict.fromkeys(ACTORS, 404)
    expect["anonymous"] = anonymous
    expect["member_a"] = status if member_a is None else member_a
    expect["admin"] = status if admin is None else admin
    return expect


def demo_url(template: str) -> Any:
    async def build(ctx: Ctx) -> str:
        return template.format(
            **{k.replace(":", "_"): v for k, v in ctx.demo.items() if isinstance(k, str)}
        )

    return build


async def _claim_url(ctx: Ctx) -> str:
    need = await fx.fresh_need(ctx)
    return f"/org/{ctx.demo['org:charity']}/needs/{need.id}/claim"


async def _api_claim(ctx: Ctx) -> dict[str, Any]:
    need = await fx.fresh_need(ctx)
    return {"need_id": str(need.id), "organization_id": str(ctx.demo["org:charity"])}


async def _release_url(ctx: Ctx) -> str:
    return f"/claims/{await fx.fresh_claim(ctx)}/release"


async def _resource_state_url(ctx: Ctx) -> str:
    return f"/resources/{await fx.fresh_resource(ctx)}/state"


async def _project_state_url(ctx: Ctx) -> str:
    return f"/projects/{await fx.fresh_project(ctx)}/state"


async def _close_url(ctx: Ctx) -> str:
    return await fx.fresh_task_url(ctx, "/close")


async def _slots_url(ctx: Ctx) -> str:
    return await fx.fresh_task_url(ctx, "/slots")


async def _signup_url(ctx: Ctx) -> str:
    _, slot, _ = await fx.fresh_slot(ctx)
    return f"/slots/{slot}/signup"


async def _cancel_url(ctx: Ctx) -> str:
    _, slot, _ = await fx.fresh_slot(ctx, sign_up=ctx.user_id if ctx.actor == "volunteer" else None)
    return f"/slots/{slot}/cancel"


async def _attendance_url(ctx: Ctx) -> str:
    _, _, signup = await fx.fresh_slot(ctx, sign_up=ctx.demo["volunteer"])
    return f"/signups/{signup}/attendance"


async def _cert_pdf(ctx: Ctx) -> str:
    cert = await fx.volunteer_certificate(ctx)
    return f"/volunteer/certificates/{cert.id}/pdf"


async def _cert_check(ctx: Ctx) -> str:
    cert = await fx.volunteer_certificate(ctx)
    return f"/certificates/{cert.check_code}"


async def _api_release(ctx: Ctx) -> str:
    return f"/api/v1/claims/{await fx.fresh_claim(ctx)}/release"


async def _resource_body(ctx: Ctx) -> dict[str, Any]:
    return {
        "organization_id": str(ctx.demo["org:charity"]),
        "kind": "goods",
        "category": "goods",
        "title": "",
        "capacity": 0,
        "service_area": ["330106"],
    }


def api(status: int, **kw: int) -> dict[str, int]:
    return org_a(status, anonymous=401, **kw)


VOLUNTEER_ONLY = only(("volunteer", "admin"), 200)

ROWS = [
    # Directory, public profiles, CSR ranking.
    Row("GET", "/organizations", everyone(200)),
    Row("GET", "/organizations/ranking", everyone(200)),
    Row(
        "GET",
        "/organizations/{org_id:uuid}",
        everyone(200),
        url=demo_url("/organizations/{org_charity}"),
    ),
    Row("GET", "/api/v1/directory/organizations", everyone(200), json=True),
    Row(
        "GET",
        "/api/v1/directory/organizations/{org_id:uuid}",
        everyone(200),
        json=True,
        url=demo_url("/api/v1/directory/organizations/{org_charity}"),
    ),
    Row("GET", "/api/v1/csr-ranking", everyone(200), json=True),
    # Portal.
    Row("GET", "/org", only(("member_a", "member_b"), 303), note="to the dashboard"),
    Row("GET", "/org/{org_id:uuid}", org_a(200), url=fx.org_url("")),
    Row("GET", "/org/{org_id:uuid}/profile", org_a(200, member_a=403), url=fx.org_url("/profile")),
    Row(
        "POST",
        "/org/{org_id:uuid}/profile",
        org_a(422, member_a=403),
        url=fx.org_url("/profile"),
        data={"name": "", "service_area": "330106"},
        note="invalid",
    ),
    Row("GET", "/org/{org_id:uuid}/members", org_a(200, member_a=403), url=fx.org_url("/members")),
    Row(
        "POST",
        "/org/{org_id:uuid}/invitations",
        org_a(201, member_a=403),
        url=fx.org_url("/invitations"),
        data={"kind": "code", "role": "member"},
    ),
    Row("GET", "/join", signed_in(200)),
    Row("POST", "/join", signed_in(422), data={"code": "WRONGCODE"}, note="unknown code"),
    # Resources.
    Row("GET", "/resources", everyone(200)),
    Row(
        "GET",
        "/resources/{resource_id:uuid}",
        everyone(200),
        url=demo_url("/resources/{resource_blankets}"),
    ),
    Row("GET", "/org/{org_id:uuid}/resources/new", org_a(200), url=fx.org_url("/resources/new")),
    Row(
        "POST",
        "/org/{org_id:uuid}/resources",
        org_a(422),
        url=fx.org_url("/resources"),
        data={"title": "", "kind": "goods"},
        note="invalid",
    ),
    Row(
        "POST",
        "/resources/{resource_id:uuid}/state",
        org_a(303),
        url=_resource_state_url,
        data={"action": "pause"},
    ),
    Row("GET", "/api/v1/resources", everyone(200), json=True),
    Row(
        "GET",
        "/api/v1/resources/{resource_id:uuid}",
        everyone(200),
        json=True,
        url=demo_url("/api/v1/resources/{resource_blankets}"),
    ),
    Row(
        "POST",
        "/api/v1/resources",
        api(422),
        json=True,
        note="invalid",
        data=_resource_body,
    ),
    # Claims.
    Row("GET", "/org/{org_id:uuid}/needs", org_a(200), url=fx.org_url("/needs")),
    Row("GET", "/org/{org_id:uuid}/needs/{need_id:uuid}/claim", org_a(200), url=_claim_url),
    Row(
        "POST",
        "/org/{org_id:uuid}/needs/{need_id:uuid}/claim",
        org_a(303),
        url=_claim_url,
        data={"resource_id": ""},
    ),
    Row("GET", "/claims/{claim_id:uuid}", org_a(200), url=demo_url("/claims/{claim_blankets}")),
    Row(
        "GET",
        "/claims/{claim_id:uuid}/contact",
        org_a(200, admin=404),
        url=demo_url("/claims/{claim_blankets}/contact"),
        note="claiming members only, audited",
    ),
    Row(
        "POST",
        "/claims/{claim_id:uuid}/release",
        org_a(303),
        url=_release_url,
        data={"reason": "无法配送"},
    ),
    Row("POST", "/api/v1/claims", api(201), json=True, data=_api_claim),
    Row(
        "POST",
        "/api/v1/claims/{claim_id:uuid}/release",
        api(201),
        json=True,
        url=_api_release,
        data={"reason": "无法配送"},
    ),
    # Projects.
    Row("GET", "/projects", everyone(200)),
    Row(
        "GET",
        "/projects/{project_id:uuid}",
        everyone(200),
        url=demo_url("/projects/{project_nest}"),
    ),
    Row("GET", "/photos/{name:str}", everyone(200), url=fx.public_photo),
    Row("GET", "/org/{org_id:uuid}/projects/new", org_a(200), url=fx.org_url("/projects/new")),
    Row(
        "POST",
        "/org/{org_id:uuid}/projects",
        org_a(422),
        url=fx.org_url("/projects"),
        data={"title": ""},
        note="invalid",
    ),
    Row(
        "POST",
        "/projects/{project_id:uuid}/state",
        org_a(303),
        url=_project_state_url,
        data={"target": "fundraising"},
    ),
    Row(
        "POST",
        "/projects/{project_id:uuid}/updates",
        org_a(303),
        url=demo_url("/projects/{project_nest}/updates"),
        data={"body": "本月完成两户屋顶修缮"},
    ),
    Row(
        "POST",
        "/projects/{project_id:uuid}/needs",
        org_a(422),
        url=demo_url("/projects/{project_nest}/needs"),
        data={"need_id": "not-an-id", "plan": "x"},
        note="invalid need",
    ),
    Row(
        "POST",
        "/projects/{project_id:uuid}/needs/{link_id:uuid}/evidence",
        org_a(422),
        url=fx.nest_link,
        data={"kind": "before"},
        note="no photo",
    ),
    Row("GET", "/api/v1/projects", everyone(200), json=True),
    Row(
        "GET",
        "/api/v1/projects/{project_id:uuid}",
        everyone(200),
        json=True,
        url=demo_url("/api/v1/projects/{project_nest}"),
    ),
    # Volunteer tasks.
    Row("GET", "/tasks", everyone(200)),
    Row("GET", "/tasks/{task_id:uuid}", everyone(200), url=demo_url("/tasks/{task_visit}")),
    Row("GET", "/org/{org_id:uuid}/tasks/new", org_a(200), url=fx.org_url("/tasks/new")),
    Row(
        "POST",
        "/org/{org_id:uuid}/tasks",
        org_a(422),
        url=fx.org_url("/tasks"),
        data={"title": ""},
        note="invalid",
    ),
    Row(
        "POST",
        "/tasks/{task_id:uuid}/slots",
        org_a(422),
        url=_slots_url,
        data={"capacity": "0"},
        note="invalid",
    ),
    Row("POST", "/tasks/{task_id:uuid}/close", org_a(303), url=_close_url),
    Row(
        "GET",
        "/tasks/{task_id:uuid}/roster",
        org_a(200),
        url=demo_url("/tasks/{task_visit}/roster"),
    ),
    Row("POST", "/slots/{slot_id:uuid}/signup", only(("volunteer", "admin"), 303), url=_signup_url),
    Row(
        "POST",
        "/slots/{slot_id:uuid}/cancel",
        {**dict.fromkeys(ACTORS, 404), "anonymous": 303, "volunteer": 303},
        url=_cancel_url,
        note="own sign-up only",
    ),
    Row(
        "POST",
        "/signups/{signup_id:uuid}/attendance",
        org_a(303),
        url=_attendance_url,
        data={"attended": "yes", "minutes": "90"},
    ),
    Row("GET", "/org/{org_id:uuid}/hours", org_a(200), url=fx.org_url("/hours")),
    Row(
        "POST",
        "/hours/{hours_id:uuid}/review",
        org_a(303),
        url=fx.pending_hours,
        data={"decision": "approve"},
    ),
    Row("GET", "/volunteer/hours", VOLUNTEER_ONLY),
    Row(
        "POST",
        "/volunteer/hours",
        only(("volunteer", "admin"), 422),
        data={"minutes": "x"},
        note="invalid",
    ),
    Row(
        "POST",
        "/volunteer/certificates",
        {**only(("volunteer",), 303), "admin": 409},
        note="admin has no verified hours",
    ),
    Row(
        "GET",
        "/volunteer/certificates/{cert_id:uuid}/pdf",
        {**only(("volunteer",), 200), "admin": 404},
        url=_cert_pdf,
        note="own certificate only",
    ),
    Row("GET", "/certificates/{check_code:str}", everyone(200), url=_cert_check),
    Row("GET", "/api/v1/tasks", everyone(200), json=True),
    Row(
        "GET",
        "/api/v1/tasks/{task_id:uuid}",
        everyone(200),
        json=True,
        url=demo_url("/api/v1/tasks/{task_visit}"),
    ),
]
