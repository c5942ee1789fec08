"""The public needs list filtered by category, in index order.

Revision ID: scale_0004
Revises: scale_0003
Create Date: 2026-11-30 06:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scale_0004"
down_revision: str | Sequence[str] | None = "scale_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC_WHERE = (
    "state IN ('published', 'reserved', 'in_progress', 'delivered', 'confirmed', 'closed')"
    " AND hidden_reason IS NULL AND public_region_code IS NOT NULL"
)


def upgrade() -> None:
    op.create_index(
        "ix_needs_public_category_order",
        "needs",
        ["category", "urgency_rank", sa.text("published_at DESC NULLS LAST"), "id"],
        postgresql_where=sa.text(PUBLIC_WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_needs_public_category_order", table_name="needs")
