"""Pages of issue 18: preferences, the development mailbox, the unread badge, e-mail change,
e-mailed invitations, the lockout notice, and the daily digest."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select

from backend.accounts import service as accounts
from backend.accounts.models import Membership, Role, User
from backend.accounts.service import load_current_user
from backend.core.db import utcnow
from backend.notifications.delivery import build_digests
from backend.notifications.models import Channel, Message, MessageState, Preference
from backend.notifications.tasks import send_digests
from backend.organizations import service as organizations
from backend.outbox.models import Notification
from tests.helpers import drain_outbox, post_form, sign_in_as


async def _new_user(runtime: Any, *, verified: bool = True, locale: str = "zh_CN") -> User:
    async with runtime.transaction() as session:
        user = await accounts.sign_up(
            session,
            email=f"u-{uuid.uuid4().hex[:8]}@example.org",
            display_name="测试用户",
            password="a-long-password-1",
            role=Role.VOLUNTEER,
            locale=locale,
        )
        if verified:
            user.email_verified_at = utcnow()
    return user


async def test_preferences_are_saved_and_checked(client: Any, runtime: Any) -> None:
    user = await _new_user(runtime)
    await sign_in_as(client, runtime, user.id)
    page = await client.get("/notifications/settings")
    assert page.status_code == 200
    assert 'name="funds:email" aria-label' in page.text and "checked" in page.text
    bad = await post_form(client, "/notifications/settings", {"sms_phone": "12345"})
    assert bad.status_code == 422 and "11" in bad.text
    ok = await post_form(
        client,
        "/notifications/settings",
        {
            "funds:inapp": "on",
            "funds:email": "on",
            "funds:digest": "on",
            "sms_phone": "13912345678",
        },
    )
    assert ok.status_code == 303
    async with runtime.sessionmaker() as session:
        prefs = {
            (p.group, p.channel): (p.enabled, p.digest)
            for p in await session.scalars(select(Preference).where(Preference.user_id == user.id))
        }
    assert prefs[("funds", Channel.EMAIL)] == (True, True)
    assert prefs[("funds", Channel.SMS)] == (False, False)
    assert prefs[("needs", Channel.EMAIL)] == (False, False)
    assert prefs[("account", Channel.INAPP)] == (False, False)  # urgent ones still arrive


async def test_dev_mailbox_is_for_admins_and_marked(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    user = await _new_user(runtime, verified=False)
    await drain_outbox(runtime)  # the verification mail is written (transport: dev)
    async with runtime.transaction() as session:
        row = (await session.scalars(select(Message).where(Message.address == user.email))).one()
        from backend.notifications.delivery import deliver

        assert await deliver(session, row.id, runtime.services) == "sent"
    await sign_in_as(client, runtime, demo["volunteer"])
    assert (await client.get("/dev/mailbox")).status_code == 403
    await sign_in_as(client, runtime, demo["admin"])
    page = await client.get("/dev/mailbox")
    assert page.status_code == 200
    assert "开发邮箱" in page.text and "并未发出" in page.text
    assert user.email in page.text


async def test_unread_badge_counts(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    user = await _new_user(runtime)
    async with runtime.transaction() as session:
        for _ in range(3):
            session.add(
                Notification(
                    id=uuid.uuid4(), user_id=user.id, event_id=uuid.uuid4(), kind="user.locked"
                )
            )
    await sign_in_as(client, runtime, user.id)
    assert 'hx-get="/notifications/count"' in (await client.get("/notifications")).text
    assert ">3<" in (await client.get("/notifications/count")).text
    await post_form(client, "/notifications/read", {})
    assert "badge" not in (await client.get("/notifications/count")).text


async def test_changing_the_email_verifies_the_new_one(client: Any, runtime: Any) -> None:
    user = await _new_user(runtime)
    await sign_in_as(client, runtime, user.id)
    new = f"moved-{uuid.uuid4().hex[:6]}@example.org"
    wrong = await post_form(client, "/account/email/change", {"new_email": new, "password": "nope"})
    assert wrong.status_code == 422
    r = await post_form(
        client, "/account/email/change", {"new_email": new, "password": "a-long-password-1"}
    )
    assert r.status_code == 200
    await drain_outbox(runtime)
    async with runtime.sessionmaker() as session:
        mail = (await session.scalars(select(Message).where(Message.address == new))).one()
        still = await session.get(User, user.id)
        assert still is not None and still.email == user.email  # not before the link
    path = re.search(r"(/account/verify/[A-Za-z0-9_\-]+)", mail.body_text)
    assert path
    assert (await post_form(client, path.group(1), {})).status_code == 200
    async with runtime.sessionmaker() as session:
        moved = await session.get(User, user.id)
        assert moved is not None and moved.email == new and moved.email_verified_at


async def test_an_invitation_is_emailed_and_accepted(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    invitee = await _new_user(runtime)
    async with runtime.transaction() as session:
        admin = await load_current_user(session, demo["org_admin"])
        assert admin is not None
        shown = await organizations.invite(
            session, admin, demo["org:charity"], kind="link", email=invitee.email
        )
        assert shown.secret  # still shown to the inviter as a link
    await drain_outbox(runtime)
    async with runtime.sessionmaker() as session:
        mail = (
            await session.scalars(select(Message).where(Message.address == invitee.email))
        ).one()
    assert "/invitations" in mail.body_text and "加入" in mail.body_text
    await sign_in_as(client, runtime, invitee.id)
    page = await client.get("/invitations")
    assert page.status_code == 200 and "加入该机构" in page.text
    r = await post_form(client, f"/invitations/{shown.invitation.id}/accept", {})
    assert r.status_code == 303
    again = await post_form(client, f"/invitations/{shown.invitation.id}/accept", {})
    assert again.status_code == 409
    async with runtime.sessionmaker() as session:
        member = await session.scalar(
            select(Membership).where(
                Membership.user_id == invitee.id,
                Membership.organization_id == demo["org:charity"],
            )
        )
    assert member is not None


async def test_a_lockout_tells_the_account_holder(client: Any, runtime: Any) -> None:
    user = await _new_user(runtime)
    statuses = [
        (await post_form(client, "/signin", {"email": user.email, "password": "wrong"})).status_code
        for _ in range(5)
    ]
    assert statuses[-1] == 429
    await drain_outbox(runtime)
    async with runtime.sessionmaker() as session:
        told = list(
            await session.scalars(select(Notification.kind).where(Notification.user_id == user.id))
        )
        mails = list(
            await session.scalars(
                select(Message.kind).where(
                    Message.user_id == user.id, Message.kind == "user.locked"
                )
            )
        )
    assert told == ["user.locked"] and mails == ["user.locked"]


async def test_low_priority_mail_waits_for_the_daily_digest(
    runtime: Any, demo: dict[str, Any], tmp_path: Any
) -> None:
    from backend.notifications.repository import save_preference
    from tests.notifications.causes import CAUSES, Ctx

    volunteer = demo["volunteer"]
    await drain_outbox(runtime)
    async with runtime.transaction() as session:
        await save_preference(
            session, volunteer, "volunteering", Channel.EMAIL, enabled=True, digest=True
        )
    try:
        since = utcnow()
        for name in ("hours.approved", "hours.rejected"):
            async with runtime.transaction() as session:
                await CAUSES[name](session, demo, Ctx(name, tmp_path))
        await drain_outbox(runtime)
        async with runtime.sessionmaker() as session:
            waiting = list(
                await session.scalars(
                    select(Message).where(Message.user_id == volunteer, Message.created_at >= since)
                )
            )
        assert {m.state for m in waiting} == {MessageState.DIGEST}
        assert len(waiting) == 2
        assert await send_digests({"runtime": runtime}) >= 1
        async with runtime.sessionmaker() as session:
            digest = (
                await session.scalars(
                    select(Message).where(
                        Message.user_id == volunteer,
                        Message.kind == "digest",
                        Message.created_at >= since,
                    )
                )
            ).one()
            states = {
                (await session.get(Message, m.id)).state  # type: ignore[union-attr]
                for m in waiting
            }
        assert states == {MessageState.DIGESTED}
        assert digest.state == MessageState.SENT
        assert "审核通过" in digest.body_text and "未通过审核" in digest.body_text
        async with runtime.transaction() as session:  # nothing of hers is left to bundle
            again = await build_digests(session)
        async with runtime.sessionmaker() as session:
            mine = [m for m in again if (await session.get(Message, m)).user_id == volunteer]  # type: ignore[union-attr]
        assert mine == []
    finally:
        async with runtime.transaction() as session:
            await save_preference(
                session, volunteer, "volunteering", Channel.EMAIL, enabled=True, digest=False
            )
