"""Lists flat in the size of the data: the public needs indexes answer the region and state
filters of their count by themselves, and published needs are indexed by region and deadline.

Revision ID: lists_0001
Revises: dash_0001
Create Date: 2026-12-02 09:00:00

- ``ix_needs_public_order`` and ``ix_needs_public_category_order`` gain ``INCLUDE
  (public_region_code, state)``: the public list's capped count (filtered by city, by state)
  is an index-only scan, and the page's region filter is checked on the index entry.
- ``ix_needs_published_region`` (region_code, deadline) over published needs: an
  organization's claimable needs and the caseworker start page's needs near their deadline
  probe it for their area's region codes.
- ``ix_households_verified_until`` gains ``INCLUDE (region_code)``: the lapsed and expiring
  counts (registry banner, start page) are index-only scans.

Indexes only: nothing to backfill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "lists_0001"
down_revision: str | Sequence[str] | None = "dash_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC_WHERE = (
    "state IN ('published', 'reserved', 'in_progress', 'delivered', 'confirmed', 'closed')"
    " AND hidden_reason IS NULL AND public_region_code IS NOT NULL"
)


def _public_indexes(include: list[str] | None) -> None:
    order = ["urgency_rank", sa.text("published_at DESC NULLS LAST"), "id"]
    op.drop_index("ix_needs_public_order", table_name="needs")
    op.drop_index("ix_needs_public_category_order", table_name="needs")
    op.create_index(
        "ix_needs_public_order",
        "needs",
        order,
        postgresql_where=sa.text(PUBLIC_WHERE),
        postgresql_include=include or [],
    )
    op.create_index(
        "ix_needs_public_category_order",
        "needs",
        ["category", *order],
        postgresql_where=sa.text(PUBLIC_WHERE),
        postgresql_include=include or [],
    )


def _verified_index(include: list[str] | None) -> None:
    op.drop_index("ix_households_verified_until", table_name="households")
    op.create_index(
        "ix_households_verified_until",
        "households",
        ["verified_until"],
        postgresql_include=include or [],
    )


def upgrade() -> None:
    _public_indexes(["public_region_code", "state"])
    _verified_index(["region_code"])
    op.create_index(
        "ix_needs_published_region",
        "needs",
        ["region_code", "deadline"],
        postgresql_where=sa.text("state = 'published'"),
    )


def downgrade() -> None:
    _verified_index(None)
    op.drop_index("ix_needs_published_region", table_name="needs")
    _public_indexes(None)
