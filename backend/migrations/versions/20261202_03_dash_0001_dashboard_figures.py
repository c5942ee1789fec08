"""Dashboard figures maintained by the outbox handlers: cells per (county, metric, time bucket,
key) and each need's and household's current contribution.

Revision ID: dash_0001
Revises: figs_0001
Create Date: 2026-12-02 09:00:00

Existing needs, claims, deliveries, matches and households are counted in by the same statements
that ``tongxin seed-scale``, the demo seeders and the consistency test use
(``backend.dashboard.repository.REBUILD_DASHBOARD``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "dash_0001"
down_revision: str | Sequence[str] | None = "figs_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_cells",
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "county_code", "metric", "at", "key", name=op.f("pk_dashboard_cells")
        ),
    )
    op.create_table(
        "dashboard_needs",
        sa.Column("need_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=True),
        sa.Column(
            "cells", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.PrimaryKeyConstraint("need_id", name=op.f("pk_dashboard_needs")),
    )
    op.create_table(
        "dashboard_households",
        sa.Column("household_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=True),
        sa.Column("latest_help", sa.Date(), nullable=True),
        sa.Column("second_help", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_dashboard_households")),
    )
    from backend.dashboard.repository import REBUILD_DASHBOARD

    bind = op.get_bind()
    for statement in REBUILD_DASHBOARD:
        bind.execute(sa.text(statement))


def downgrade() -> None:
    op.drop_table("dashboard_households")
    op.drop_table("dashboard_needs")
    op.drop_table("dashboard_cells")
