"""Role × route rows of the notification pages and the account lifecycle (issue 18)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from backend.accounts.models import Invitation, OrgRole
from backend.core.db import utcnow
from tests.access import Ctx, Row, everyone, only, signed_in


async def _someone_elses_invitation(ctx: Ctx) -> str:
    async with ctx.runtime.transaction() as session:
        invitation = Invitation(
            id=uuid.uuid4(),
            organization_id=ctx.demo["org:charity"],
            email=f"other-{uuid.uuid4().hex[:6]}@example.org",
            token_hash=uuid.uuid4().hex,
            role=OrgRole.MEMBER,
            invited_by=ctx.demo["org_admin"],
            expires_at=utcnow() + timedelta(days=3),
        )
        session.add(invitation)
    return f"/invitations/{invitation.id}/accept"


async def _forgot(ctx: Ctx) -> dict[str, Any]:
    """An unknown address; the per-IP allowance is reset so the matrix never reaches it."""
    redis = ctx.runtime.queue.pool
    async for key in redis.scan_iter(match="rl:pwreset_ip:*"):
        await redis.delete(key)
    return {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.org"}


ROWS = [
    Row("GET", "/notifications/count", signed_in(200)),
    Row("GET", "/notifications/sla", signed_in(200)),
    Row("GET", "/notifications/settings", signed_in(200)),
    Row(
        "POST",
        "/notifications/settings",
        signed_in(422),
        data={"sms_phone": "123"},
        note="bad phone: nothing saved",
    ),
    Row("GET", "/dev/mailbox", only(("admin",), 200)),
    Row("GET", "/account/email", signed_in(200)),
    Row("POST", "/account/email/verify", signed_in(409), note="demo addresses are confirmed"),
    Row("POST", "/account/email/change", signed_in(422), data={"new_email": "not-an-address"}),
    Row("GET", "/account/verify/{token:str}", everyone(410), url="/account/verify/not-a-token"),
    Row("POST", "/account/verify/{token:str}", everyone(422), url="/account/verify/not-a-token"),
    Row("GET", "/password/forgot", everyone(200)),
    Row("POST", "/password/forgot", everyone(200), data=_forgot, note="same answer for all"),
    Row("GET", "/password/reset/{token:str}", everyone(410), url="/password/reset/not-a-token"),
    Row(
        "POST",
        "/password/reset/{token:str}",
        everyone(422),
        url="/password/reset/not-a-token",
        data={"password": "a-long-password-1"},
    ),
    Row("GET", "/invitations", signed_in(200)),
    Row(
        "POST",
        "/invitations/{invitation_id:uuid}/accept",
        signed_in(404),
        url=_someone_elses_invitation,
        note="addressed to someone else",
    ),
]
