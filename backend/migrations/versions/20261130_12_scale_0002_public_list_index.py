"""The public needs list in index order: a stored urgency rank and a partial index.

Revision ID: scale_0002
Revises: scale_0001
Create Date: 2026-11-30 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scale_0002"
down_revision: str | Sequence[str] | None = "scale_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC_WHERE = (
    "state IN ('published', 'reserved', 'in_progress', 'delivered', 'confirmed', 'closed')"
    " AND hidden_reason IS NULL AND public_region_code IS NOT NULL"
)


def upgrade() -> None:
    op.add_column(
        "needs",
        sa.Column(
            "urgency_rank",
            sa.SmallInteger(),
            sa.Computed(
                "CASE urgency WHEN 'emergency' THEN 1 WHEN 'high' THEN 2 ELSE 3 END",
                persisted=True,
            ),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_needs_public_order",
        "needs",
        ["urgency_rank", sa.text("published_at DESC NULLS LAST"), "id"],
        postgresql_where=sa.text(PUBLIC_WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_needs_public_order", table_name="needs")
    op.drop_column("needs", "urgency_rank")
