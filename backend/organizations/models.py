"""The organizations' verified figures, maintained by the outbox handlers (``figures.py``).

``org_figures`` holds one row per organization with the totals the directory, the profile, the
dashboard and the CSR ranking show. ``org_figure_parts`` remembers what each *part* counts in
now: a need the organization delivered to (``kind = 'need'``: one fulfilled need, its household,
the money the household confirmed), an approved hours log (``'hours'``: its minutes) and a
project (``'project'``: its approved disbursements). ``org_figure_households`` counts, per
(organization, household), the organization's fulfilled needs of that household, so that
"households helped" stays a count of distinct households. A part belongs to one organization
for ever (a fulfilment's, an hours log's and a project's organization never change).
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.dialects.postgresql import UUID as PGUUID
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base


class OrgFigures(Base):
    """An organization's verified totals (see ``repository.Figures``)."""

    __tablename__ = "org_figures"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    needs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    households: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    minutes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    funds_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class OrgFigurePart(Base):
    """What one need, hours log or project adds to its organization's totals now (absent when
    it adds nothing); the handler diffs the part's recount against it."""

    __tablename__ = "org_figure_parts"

    organization_id: Mapped[uuid.UUID] = mapped_column(PGUUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # need | hours | project
    part_id: Mapped[uuid.UUID] = mapped_column(PGUUID(as_uuid=True), primary_key=True)
    household_id: Mapped[uuid.UUID | None] = mapped_column(PGUUID(as_uuid=True))
    needs: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    minutes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    funds_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class OrgFigureHousehold(Base):
    """How many of a household's needs the organization fulfilled (row absent at zero)."""

    __tablename__ = "org_figure_households"

    organization_id: Mapped[uuid.UUID] = mapped_column(PGUUID(as_uuid=True), primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(PGUUID(as_uuid=True), primary_key=True)
    needs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
