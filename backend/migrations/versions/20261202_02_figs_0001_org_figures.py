"""Organizations' verified figures maintained by the outbox handlers: totals per organization,
each part's current contribution (a fulfilled need, an approved hours log, a project's
disbursements) and the fulfilled needs per (organization, household); an index of regions by
level (the directory's city and county menu scanned every region before).

Revision ID: figs_0001
Revises: queue_0001
Create Date: 2026-12-02 09:00:00

Existing deliveries, hours and ledger entries are counted in by the same statements that
``tongxin seed-scale``, the demo seeders and the consistency test use
(``backend.organizations.repository.REBUILD_ORG_FIGURES``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "figs_0001"
down_revision: str | Sequence[str] | None = "queue_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_figures",
        sa.Column("organization_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("needs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("households", sa.Integer(), server_default="0", nullable=False),
        sa.Column("minutes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("funds_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_org_figures_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_org_figures")),
    )
    op.create_table(
        "org_figure_parts",
        sa.Column("organization_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("part_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("household_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("needs", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("minutes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("funds_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id", "kind", "part_id", name=op.f("pk_org_figure_parts")
        ),
    )
    op.create_table(
        "org_figure_households",
        sa.Column("organization_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("household_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("needs", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id", "household_id", name=op.f("pk_org_figure_households")
        ),
    )
    op.create_index("ix_regions_level_path", "regions", ["level", "path"])
    from backend.organizations.repository import REBUILD_ORG_FIGURES

    bind = op.get_bind()
    for statement in REBUILD_ORG_FIGURES:
        bind.execute(sa.text(statement))


def downgrade() -> None:
    op.drop_index("ix_regions_level_path", table_name="regions")
    op.drop_table("org_figure_households")
    op.drop_table("org_figure_parts")
    op.drop_table("org_figures")
