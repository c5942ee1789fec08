"""The coordinator match queue maintained per need (``match_queue``), an index of the open
matches per offer and one for the organization's inbox.

Revision ID: queue_0001
Revises: scale2_0001
Create Date: 2026-12-02 09:00:00

Existing proposals are counted in by the statements that ``tongxin seed-scale`` and the
consistency test use (``backend.matches.repository.REBUILD_QUEUE``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "queue_0001"
down_revision: str | Sequence[str] | None = "scale2_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "match_queue",
        sa.Column("need_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("region_path", sa.String(length=80), server_default="", nullable=False),
        sa.Column("category", sa.String(length=32), server_default="", nullable=False),
        sa.Column("urgency_rank", sa.SmallInteger(), server_default="3", nullable=False),
        sa.Column("best_score", sa.Float(), server_default="0", nullable=False),
        sa.Column("proposals", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "organization_ids",
            postgresql.ARRAY(postgresql.UUID(as_uuid=True)),
            server_default="{}",
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("need_id", name=op.f("pk_match_queue")),
    )
    op.create_index(
        "ix_match_queue_order",
        "match_queue",
        ["urgency_rank", sa.text("best_score DESC"), "need_id"],
        postgresql_where=sa.text("proposals > 0"),
    )
    op.create_index(
        "ix_match_queue_path",
        "match_queue",
        ["region_path"],
        postgresql_ops={"region_path": "text_pattern_ops"},
        postgresql_where=sa.text("proposals > 0"),
    )
    op.create_index(
        "ix_matches_open_resource",
        "matches",
        ["resource_id"],
        postgresql_where=sa.text("state IN ('proposed', 'approved')"),
    )
    op.create_index(
        "ix_matches_org_inbox",
        "matches",
        ["organization_id", "state", sa.text("updated_at DESC"), "id"],
    )
    from backend.matches.repository import REBUILD_QUEUE

    bind = op.get_bind()
    for statement in REBUILD_QUEUE:
        bind.execute(sa.text(statement))


def downgrade() -> None:
    op.drop_index("ix_matches_org_inbox", table_name="matches")
    op.drop_index("ix_matches_open_resource", table_name="matches")
    op.drop_index("ix_match_queue_path", table_name="match_queue")
    op.drop_index("ix_match_queue_order", table_name="match_queue")
    op.drop_table("match_queue")
