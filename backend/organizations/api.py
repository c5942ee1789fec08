"""Directory and CSR ranking JSON API under /api/v1 (verified figures only)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, get
from litestar.params import FromPath, FromQuery

from backend.accounts.models import Organization, OrgType
from backend.core.bounds import OptionalQueryCode, QueryPage
from backend.core.errors import Invalid
from backend.core.http import DB
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.organizations import repository as repo
from backend.organizations import service
from backend.organizations.repository import Figures


class FiguresOut(msgspec.Struct):
    needs_fulfilled: int
    households_helped: int
    volunteer_minutes: int
    funds_delivered_fen: int
    score: float  # two decimals: volunteer hours count to the minute
    volunteer_hours: float


class PublicOrganization(msgspec.Struct):
    id: uuid.UUID
    name: str
    name_en: str
    org_type: str
    region_code: str
    service_area: list[str]
    description: str
    figures: FiguresOut


class DirectoryPage(msgspec.Struct):
    items: list[PublicOrganization]
    page: int
    pages: int
    total: int


class RankOut(msgspec.Struct):
    rank: int
    organization: PublicOrganization
    tied: bool  # shares its rank: same score as another listed organization


def _figures(f: Figures) -> FiguresOut:
    return FiguresOut(
        f.needs_fulfilled,
        f.households_helped,
        f.volunteer_minutes,
        f.funds_delivered_fen,
        float(f.score),
        float(f.volunteer_hours),
    )


def _public(org: Organization, f: Figures) -> PublicOrganization:
    return PublicOrganization(
        org.id,
        org.name,
        org.name_en,
        org.org_type.value,
        org.region_code,
        list(org.service_area),
        org.description,
        _figures(f),
    )


class DirectoryAPI(Controller):
    tags = ["organizations"]  # noqa: RUF012 - Litestar API

    @get("/directory/organizations", summary="Approved organizations with verified figures")
    async def directory(
        self, db: DB, org_type: FromQuery[OrgType | None] = None, page: QueryPage = 1
    ) -> DirectoryPage:
        pager = Page(number=page)
        rows, total = await repo.directory(
            db, org_type=org_type.value if org_type else None, offset=pager.offset, limit=pager.size
        )
        figs = await repo.figures(db, [o.id for o in rows])
        pager = pager.with_total(total)
        return DirectoryPage(
            [_public(o, figs[o.id]) for o in rows], pager.number, pager.pages, total
        )

    @get("/directory/organizations/{org_id:uuid}", summary="One organization's public profile")
    async def organization(self, db: DB, org_id: FromPath[uuid.UUID]) -> PublicOrganization:
        org = await service.public_organization(db, org_id)
        return _public(org, (await repo.figures(db, [org.id]))[org.id])

    @get("/csr-ranking", summary="企业社会责任榜单: ranked by verified records")
    async def ranking(self, db: DB, org_type: OptionalQueryCode = "company") -> list[RankOut]:
        if org_type and org_type not in {t.value for t in OrgType}:
            raise Invalid(N_("Choose a type from the list."), fields={"org_type": "invalid"})
        rows = await service.csr_ranking(db, org_type=org_type or None)
        return [RankOut(r.rank, _public(r.organization, r.figures), r.tied) for r in rows]
