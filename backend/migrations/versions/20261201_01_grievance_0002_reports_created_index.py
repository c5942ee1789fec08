"""Reports by the day they arrived: the public transparency page's monthly counts and the
newest-first lists read a range of ``created_at``.

Revision ID: grievance_0002
Revises: scale_0004
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "grievance_0002"
down_revision: str | Sequence[str] | None = "scale_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reports_created_at", "reports", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_created_at", table_name="reports")
