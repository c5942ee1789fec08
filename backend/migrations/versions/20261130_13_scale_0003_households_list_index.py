"""The caseworker list in index order (newest households first).

Revision ID: scale_0003
Revises: scale_0002
Create Date: 2026-11-30 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "scale_0003"
down_revision: str | Sequence[str] | None = "scale_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_households_created_at_id", "households", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_households_created_at_id", table_name="households")
