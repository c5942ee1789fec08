"""Role × route rows of OIDC sign-in and pending-account approval.

The matrix app has no identity provider configured: starting or finishing a sign-in with an
unknown provider is 404 for everyone (tests/oidc/test_oidc_flow.py covers real providers), and
an organization's reviewers find no account of its (absent) providers to review.
"""

from __future__ import annotations

import uuid

from backend.accounts.models import OIDCLink, User, UserStatus
from tests.access import ACTORS, Ctx, Row, everyone, only


async def _pending_user(ctx: Ctx) -> uuid.UUID:
    async with ctx.runtime.transaction() as session:
        user = User(
            id=uuid.uuid4(),
            email=f"oidc-{uuid.uuid4().hex}@oidc.invalid",
            display_name="待审核",
            password_hash=None,
            status=UserStatus.PENDING,
        )
        session.add(user)
        await session.flush()
        session.add(
            OIDCLink(user_id=user.id, issuer="http://idp.invalid", subject=uuid.uuid4().hex)
        )
    return user.id


async def _admin_review(ctx: Ctx) -> str:
    return f"/admin/users/{await _pending_user(ctx)}/review"


async def _org_a_pending(ctx: Ctx) -> str:
    return f"/organizations/{ctx.demo['org:charity']}/pending-users"


async def _org_a_review(ctx: Ctx) -> str:
    return (
        f"/organizations/{ctx.demo['org:charity']}/pending-users/{await _pending_user(ctx)}/review"
    )


def _org_a_admins(ok: int) -> dict[str, int]:
    """Org A (member_a is a plain member there: 403); outsiders 404; platform admin passes."""
    expect = dict.fromkeys(ACTORS, 404)
    expect.update(anonymous=303, member_a=403, admin=ok)
    return expect


ROWS = [
    Row("GET", "/oidc/signin", everyone(200)),
    Row(
        "GET",
        "/oidc/{name:str}/start",
        everyone(404),
        url="/oidc/nope/start",
        note="unknown provider",
    ),
    Row(
        "GET",
        "/oidc/{name:str}/callback",
        everyone(404),
        url="/oidc/nope/callback?code=x&state=y",
        note="unknown provider",
    ),
    Row("POST", "/oidc/signout", everyone(303)),
    Row("GET", "/admin/users/pending", only(("admin",), 200)),
    Row(
        "POST",
        "/admin/users/{user_id:uuid}/review",
        only(("admin",), 303),
        url=_admin_review,
        data={"decision": "approve"},
    ),
    Row(
        "GET", "/organizations/{org_id:uuid}/pending-users", _org_a_admins(200), url=_org_a_pending
    ),
    Row(
        "POST",
        "/organizations/{org_id:uuid}/pending-users/{user_id:uuid}/review",
        _org_a_admins(404),
        url=_org_a_review,
        data={"decision": "approve"},
        note="account of another provider: 404 even for reviewers",
    ),
]
