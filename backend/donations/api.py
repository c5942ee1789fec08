"""Donations JSON API under /api/v1: the public ledger of a project."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery

from backend.core.http import DB
from backend.core.pagination import Page
from backend.core.runtime import runtime_of
from backend.donations import repository as repo
from backend.donations import service
from backend.donations.tasks import provider_of


class EntryOut(msgspec.Struct):
    id: uuid.UUID
    booked_at: datetime
    entry_type: str
    amount_fen: int
    balance_after_fen: int
    donor: str | None
    reason: str


class LedgerOut(msgspec.Struct):
    project_id: uuid.UUID
    target_fen: int
    raised_fen: int
    donated_fen: int
    refunded_fen: int
    disbursed_fen: int
    balance_fen: int
    accepts_donations: bool
    entries: list[EntryOut]
    page: int
    pages: int
    total: int


class DonationsAPI(Controller):
    tags = ["donations"]  # noqa: RUF012 - Litestar API

    @get(
        "/projects/{project_id:uuid}/ledger", summary="A project's public ledger (no personal data)"
    )
    async def ledger(
        self, state: State, db: DB, project_id: FromPath[uuid.UUID], page: FromQuery[int] = 1
    ) -> LedgerOut:
        project = await service.visible_project(db, project_id)
        pager = Page(number=page, size=50)
        rows, total = await repo.entries(db, project.id, offset=pager.offset, limit=pager.size)
        totals = await repo.totals(db, project.id)
        pager = pager.with_total(total)
        return LedgerOut(
            project_id=project.id,
            target_fen=project.target_fen,
            raised_fen=project.raised_fen,
            donated_fen=totals.donated_fen,
            refunded_fen=totals.refunded_fen,
            disbursed_fen=totals.disbursed_fen,
            balance_fen=totals.balance_fen,
            accepts_donations=(
                await service.donation_options(db, project, provider_of(runtime_of(state)))
            ).possible,
            entries=[
                EntryOut(
                    e.id,
                    e.created_at,
                    e.entry_type.value,
                    e.amount_fen,
                    e.balance_after_fen,
                    service.public_name(d),
                    e.reason if b is not None or e.reason else "",
                )
                for e, d, b in rows
            ],
            page=pager.number,
            pages=pager.pages,
            total=total,
        )
