"""Role × route rows of the accounts and site pages."""

from __future__ import annotations

import uuid
from typing import Any

from backend.accounts.models import Organization, OrgStatus, OrgType
from backend.privacy.uscc import make_fake_uscc
from tests.access import Ctx, Row, everyone, only, signed_in


async def _pending_org(ctx: Ctx) -> str:
    async with ctx.runtime.transaction() as session:
        org = Organization(
            id=uuid.uuid4(),
            name="待审核组织",
            org_type=OrgType.CHARITY,
            uscc=make_fake_uscc(
                "5333010"
                + uuid.uuid4()
                .hex[:10]
                .upper()
                .replace("I", "1")
                .replace("O", "0")
                .replace("S", "5")
                .replace("V", "7")
                .replace("Z", "2")
            ),
            status=OrgStatus.PENDING,
            region_code="330106",
            service_area=["330106"],
        )
        session.add(org)
    return f"/admin/organizations/{org.id}/review"


async def _approve(_: Ctx) -> dict[str, Any]:
    return {"decision": "approve"}


async def _bad_signin(_: Ctx) -> dict[str, Any]:
    return {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "password": "wrong-password"}


async def _api_review(ctx: Ctx) -> str:
    url = await _pending_org(ctx)
    return "/api/v1" + url


ROWS = [
    Row("GET", "/", everyone(200)),
    Row("GET", "/healthz", everyone(200)),
    Row("POST", "/lang", everyone(303), data={"locale": "en", "next": "/"}),
    Row("GET", "/signin", everyone(200)),
    Row("POST", "/signin", everyone(422), data=_bad_signin, note="bad credentials"),
    Row("GET", "/signup", everyone(200)),
    Row(
        "POST",
        "/signup",
        everyone(422),
        data={"email": "not-an-email", "display_name": "", "password": "x"},
        note="invalid form",
    ),
    Row("POST", "/signout", everyone(303)),
    Row("GET", "/profile", signed_in(200)),
    Row(
        "POST",
        "/profile",
        signed_in(422),
        data={"display_name": "", "locale": "zh_CN"},
        note="invalid",
    ),
    Row(
        "POST",
        "/profile/password",
        signed_in(422),
        data={"current_password": "wrong", "new_password": "x"},
        note="wrong current password",
    ),
    Row("GET", "/organizations/register", signed_in(200)),
    Row(
        "POST",
        "/organizations/register",
        signed_in(422),
        data={"name": "x", "org_type": "charity", "uscc": "123", "region_code": "330106"},
        note="bad USCC",
    ),
    Row("GET", "/admin/organizations", only(("admin",), 200)),
    Row(
        "POST",
        "/admin/organizations/{org_id:uuid}/review",
        only(("admin",), 303),
        url=_pending_org,
        data=_approve,
    ),
    Row("GET", "/api/v1/me", signed_in(200, anonymous=401), json=True),
    Row(
        "POST",
        "/api/v1/organizations",
        signed_in(422, anonymous=401),
        json=True,
        data={"name": "x", "org_type": "charity", "uscc": "123", "region_code": "330106"},
        note="bad USCC",
    ),
    Row("GET", "/api/v1/admin/organizations", only(("admin",), 200, anonymous=401), json=True),
    Row(
        "POST",
        "/api/v1/admin/organizations/{org_id:uuid}/review",
        only(("admin",), 201, anonymous=401),
        url=_api_review,
        data={"approve": True},
        json=True,
    ),
]
