"""Fairness figures maintained by the outbox handlers: cells per (county, metric, day) and each
household's and need's current contribution; a partial index of published emergencies.

Revision ID: scale2_0001
Revises: work_0001
Create Date: 2026-12-01 09:00:00

Existing households, needs and matches are counted in by the same statements that
``tongxin seed-scale`` and the consistency test use (``backend.matches.repository``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "scale2_0001"
down_revision: str | Sequence[str] | None = "work_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fairness_cells",
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("county_code", "metric", "day", name=op.f("pk_fairness_cells")),
    )
    op.create_table(
        "fairness_households",
        sa.Column("household_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=True),
        sa.Column("latest_help", sa.Date(), nullable=True),
        sa.Column("second_help", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_fairness_households")),
    )
    op.create_table(
        "fairness_needs",
        sa.Column("need_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=True),
        sa.Column("published_day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("need_id", name=op.f("pk_fairness_needs")),
    )
    op.create_index(
        "ix_needs_published_emergencies",
        "needs",
        ["region_code", "published_at"],
        postgresql_where=sa.text("state = 'published' AND urgency = 'emergency'"),
    )
    from backend.matches.repository import REBUILD_FAIRNESS

    bind = op.get_bind()
    for statement in REBUILD_FAIRNESS:
        bind.execute(sa.text(statement))


def downgrade() -> None:
    op.drop_index("ix_needs_published_emergencies", table_name="needs")
    op.drop_table("fairness_needs")
    op.drop_table("fairness_households")
    op.drop_table("fairness_cells")
