"""The auditor's log viewer: one index per filter, in page order (newest first by time, id).

The single-column indexes on ``action`` and ``actor_id`` are prefixes of the new ones and go.
Indexes created on the partitioned parent are created on every month partition (and on the
partitions made later by ``tongxin_month_partition``).

Revision ID: auditor_0001
Revises: donate_0001
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "auditor_0001"
down_revision: str | Sequence[str] | None = "donate_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_audit_log_action_time": ["action", "occurred_at", "id"],
    "ix_audit_log_actor_time": ["actor_id", "occurred_at", "id"],
    "ix_audit_log_object_type_time": ["object_type", "occurred_at", "id"],
    "ix_audit_log_region_time": ["region_code", "occurred_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_log", columns)
    op.drop_index("ix_audit_log_action", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_id", table_name="audit_log")


def downgrade() -> None:
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor_id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="audit_log")
