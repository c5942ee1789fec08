"""The caseworker's household list: the referral inbox count and the region filter."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from backend.households import service
from backend.households.enums import ReferralState
from backend.households.models import Referral
from backend.regions.models import Region
from tests.helpers import sign_in_as
from tests.matches import factories as fx


async def _new_referrals(runtime: Any, user: Any) -> int:
    async with runtime.sessionmaker() as s:
        paths = service.caseworker_paths(user)
        codes = select(Region.code).where(
            *[Region.path.startswith(p) for p in paths[:1]]  # one subtree for the demo caseworker
        )
        return int(
            await s.scalar(
                select(func.count())
                .select_from(Referral)
                .where(Referral.state == ReferralState.NEW, Referral.region_code.in_(codes))
            )
            or 0
        )


async def test_list_counts_new_referrals_and_offers_the_scope_regions(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.transaction() as s:
        caseworker = await fx.user(s, demo["caseworker"])
    assert len(service.caseworker_paths(caseworker)) == 1
    await sign_in_as(client, runtime, demo["caseworker"])
    before = await _new_referrals(runtime, caseworker)
    async with runtime.transaction() as s:
        await service.refer(s, caseworker, region_code="330106004053", text="独居老人需要帮助")
    page = await client.get("/households/")
    assert page.status_code == 200
    shown = re.search(
        r'href="/households/referrals">[^<]*<span class="badge">(\d+)</span>', page.text
    )
    assert shown is not None
    assert int(shown.group(1)) == before + 1 == await _new_referrals(runtime, caseworker)
    # the filter offers the communities under the caseworker's county, the same on every load
    assert 'value="330106004053"' in page.text
    again = await client.get("/households/")
    assert again.text.count("<option") == page.text.count("<option")
