"""Test data for fulfilment: a published demo need of region X claimed by org A, with a 幸福码."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.service import load_current_user
from backend.households import code as household_code
from backend.households import service as households
from backend.needs.models import Need, NeedState
from backend.resources import service as resources


async def user(session: AsyncSession, user_id: uuid.UUID) -> CurrentUser:
    found = await load_current_user(session, user_id)
    assert found is not None
    return found


@dataclass
class Story:
    need: Need
    claim_id: uuid.UUID
    code: str  # the printed form, ABCD-EFGH-JKLM-X
    pin: str
    member: CurrentUser
    caseworker: CurrentUser


async def published_need(
    session: AsyncSession,
    *,
    county: str = "330106",
    quantity: bool = True,
    not_household: uuid.UUID | None = None,
) -> Need:
    query = select(Need).where(
        Need.state == NeedState.PUBLISHED,
        Need.hidden_reason.is_(None),
        Need.region_code.like(f"{county}%"),
        Need.pledged == 0,
    )
    query = (
        query.where(Need.quantity.is_not(None))
        if quantity
        else query.where(Need.amount_fen.is_not(None))
    )
    if not_household:
        query = query.where(Need.household_id != not_household)
    need = (
        await session.scalars(
            query.order_by(Need.created_at).limit(1).with_for_update(skip_locked=True)
        )
    ).first()
    assert need is not None, "the demo data has no open need left"
    return need


async def claimed_story(
    session: AsyncSession,
    demo: dict[str, Any],
    *,
    quantity: bool = True,
    not_household: uuid.UUID | None = None,
) -> Story:
    member = await user(session, demo["org_member"])
    caseworker = await user(session, demo["caseworker"])
    need = await published_need(session, quantity=quantity, not_household=not_household)
    claim = await resources.claim_need(
        session, member, need_id=need.id, organization_id=demo["org:charity"]
    )
    issued = await households.issue_code(session, caseworker, need.household_id)
    return Story(
        need, claim.id, household_code.display(issued.code), issued.pin, member, caseworker
    )


def png_bytes(size: tuple[int, int] = (64, 48), *, gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 40, 40))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "CanaryCam"  # Make
        exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0)}  # GPS IFD
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="PNG")
    return out.getvalue()
