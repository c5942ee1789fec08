"""Access rows of the routes added by the privacy hardening: correcting and withdrawing a
project update (its author only)."""

from __future__ import annotations

from typing import Any

from tests.access import Ctx, Row
from tests.organizations.access_rows import org_a


async def _update_url(ctx: Ctx, suffix: str = "") -> str:
    """A fresh update on the demo project, written by member A (the demo org_member)."""
    from backend.projects import service
    from tests.fulfilment.factories import user

    project_id = ctx.demo["project:warm_nest"]
    async with ctx.runtime.transaction() as session:
        author = await user(session, ctx.demo["org_member"])
        update = await service.post_update(
            session,
            author,
            None,  # type: ignore[arg-type]  # no photo
            project_id,
            body="本月完成两户屋顶修缮",
        )
    ctx.extra["update_id"] = update.id
    return f"/projects/{project_id}/updates/{update.id}{suffix}"


async def _withdraw_url(ctx: Ctx) -> str:
    return await _update_url(ctx, "/withdraw")


async def _edit_body(ctx: Ctx) -> dict[str, Any]:
    return {f"body-{ctx.extra['update_id']}": "本月完成三户屋顶修缮"}


# member A wrote the update: 303; the admin sees the project but is not the author: 403.
ROWS = [
    Row(
        "POST",
        "/projects/{project_id:uuid}/updates/{update_id:uuid}",
        org_a(303, admin=403),
        url=_update_url,
        data=_edit_body,
    ),
    Row(
        "POST",
        "/projects/{project_id:uuid}/updates/{update_id:uuid}/withdraw",
        org_a(303, admin=403),
        url=_withdraw_url,
    ),
]
