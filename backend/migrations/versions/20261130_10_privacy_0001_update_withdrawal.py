"""Project updates can be edited and withdrawn by their author.

Revision ID: privacy_0001
Revises: items_0001
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "privacy_0001"
down_revision: str | Sequence[str] | None = "items_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("project_updates", sa.Column("edited_at", sa.DateTime(timezone=True)))
    op.add_column("project_updates", sa.Column("withdrawn_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("project_updates", "withdrawn_at")
    op.drop_column("project_updates", "edited_at")
