"""The caseworker's start page (/work): what is waiting, counted and linked to the list where
it is done; and the two lists that exist nowhere else (drafts whose publication was refused,
published needs near their deadline that nobody has claimed).

Every count is caseworker-scoped, read along an index and capped at
``backend.core.pagination.TILE_CAP`` (a tile says "1000+" above it; the lists behind the tiles
count up to COUNT_CAP): a province-wide caseworker's eleven counts read at most a thousand rows
each, whatever the size of the province. The queries
live in the repositories of the domains that own the data and are reached through their
services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import Template

from backend.core.errors import NotFound
from backend.core.http import DB
from backend.core.i18n import N_
from backend.core.pagination import TILE_CAP
from backend.core.security import require_user
from backend.core.templating import page
from backend.fulfilment import service as fulfilment
from backend.households import service as households
from backend.households.views import caseworker_only
from backend.needs import service as needs

LIST_LIMIT = 50
PREVIEW = 5


@dataclass(frozen=True)
class Tile:
    """One count on the start page: what it counts (a msgid), where it is handled."""

    key: str
    label: str
    hint: str
    href: str
    count: int

    @property
    def shown(self) -> str:
        return f"{TILE_CAP}+" if self.count > TILE_CAP else str(self.count)


class WorkViews(Controller):
    path = "/work"
    include_in_schema = False
    guards = [caseworker_only]  # noqa: RUF012 - Litestar API

    @get("/", name="caseworker_start")
    async def start(self, request: Request[Any, Any, Any], db: DB) -> Template:
        user = require_user(request)
        blocked, blocked_n = await needs.blocked_drafts(db, user, limit=PREVIEW, cap=TILE_CAP)
        due, due_n = await needs.needs_due_soon(db, user, limit=PREVIEW, cap=TILE_CAP)
        quarter = fulfilment.quarter_of(fulfilment.today_local())
        count = households.count_households
        tiles = [
            Tile(
                "blocked",
                N_("Drafts not published"),
                N_("Refused by the personal-data check or k-anonymity"),
                "/work/blocked",
                blocked_n,
            ),
            Tile(
                "expiring",
                N_("Verifications expiring"),
                N_("Within 30 days"),
                "/households?verification=expiring",
                await count(
                    db, user, households.HouseholdFilter(verification="expiring"), cap=TILE_CAP
                ),
            ),
            Tile(
                "lapsed",
                N_("Verifications lapsed"),
                N_("Their needs are hidden until verified again"),
                "/households?verification=lapsed",
                await count(
                    db, user, households.HouseholdFilter(verification="lapsed"), cap=TILE_CAP
                ),
            ),
            Tile(
                "consent",
                N_("Households without consent"),
                N_("No consent to publish needs recorded"),
                "/households?consent=none",
                await count(db, user, households.HouseholdFilter(consent="none"), cap=TILE_CAP),
            ),
            Tile(
                "confirm",
                N_("Deliveries waiting for confirmation"),
                N_("Recorded by the organization, not yet confirmed"),
                "/fulfilment/disputes?state=recorded",
                await fulfilment.count_deliveries(db, user, disputed=False, cap=TILE_CAP),
            ),
            Tile(
                "disputes",
                N_("Reported not received"),
                N_("The household says the delivery did not arrive"),
                "/fulfilment/disputes",
                await fulfilment.count_deliveries(db, user, disputed=True, cap=TILE_CAP),
            ),
            Tile(
                "referrals",
                N_("New referrals"),
                N_("Households referred to you, not yet handled"),
                "/households/referrals",
                await households.count_new_referrals(db, user, cap=TILE_CAP),
            ),
            Tile(
                "visits_due",
                N_("Visits due this week"),
                N_("Next visit within 7 days"),
                "/fulfilment/visits/overdue?due=soon",
                await fulfilment.count_visits(db, user, overdue=False, cap=TILE_CAP),
            ),
            Tile(
                "visits_overdue",
                N_("Overdue visits"),
                N_("The planned visit date has passed"),
                "/fulfilment/visits/overdue",
                await fulfilment.count_visits(db, user, overdue=True, cap=TILE_CAP),
            ),
            Tile(
                "lists",
                N_("Lists not handed over"),
                N_("This quarter's 幸福清单 generated but not handed over"),
                f"/fulfilment/quarterly?quarter={quarter}&pending=1",
                await fulfilment.count_lists_pending(db, user, quarter, cap=TILE_CAP),
            ),
            Tile(
                "deadlines",
                N_("Needs near their deadline"),
                N_("Published, unclaimed, deadline within 14 days"),
                "/work/deadlines",
                due_n,
            ),
        ]
        return page(
            request,
            "work/start.html",
            tiles=tiles,
            blocked=blocked,
            due=due,
            quarter=quarter,
        )

    @get("/{section:str}", name="caseworker_work_list")
    async def section(
        self, request: Request[Any, Any, Any], db: DB, section: FromPath[str]
    ) -> Template:
        """The full list behind a start-page count that has no list elsewhere."""
        user = require_user(request)
        if section == "blocked":
            rows, total = await needs.blocked_drafts(db, user, limit=LIST_LIMIT)
        elif section == "deadlines":
            rows, total = await needs.needs_due_soon(db, user, limit=LIST_LIMIT)
        else:
            raise NotFound(N_("Page not found."))
        return page(
            request, "work/list.html", section=section, rows=rows, total=total, limit=LIST_LIMIT
        )
