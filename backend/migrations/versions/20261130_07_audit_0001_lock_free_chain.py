"""Audit log: entries written lock-free, chained afterwards by a single sealer (audit_chain).

The existing chain moves as it is into ``audit_chain`` (same seq, prev_hash, hash: it still
verifies); ``audit_log`` keeps the entries, gains ``row_mac`` and loses its chain columns;
``audit_pending`` is the sealer's queue of entries not chained yet.
Both tables are append-only for every role (triggers), as audit_log was.

Revision ID: audit_0001
Revises: notify_0001
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "audit_0001"
down_revision: str | Sequence[str] | None = "notify_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_audit_chain_entry_id")),
    )
    op.create_table(
        "audit_pending",
        sa.Column("entry_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_audit_pending")),
    )
    op.create_index(
        op.f("ix_audit_pending_occurred_at"), "audit_pending", ["occurred_at"], unique=False
    )
    op.execute(
        "INSERT INTO audit_chain (seq, entry_id, sealed_at, prev_hash, hash) "
        "SELECT seq, id, occurred_at, prev_hash, hash FROM audit_log"
    )
    op.drop_constraint("pk_audit_log", "audit_log", type_="primary")
    op.drop_constraint("uq_audit_log_id", "audit_log", type_="unique")
    op.drop_column("audit_log", "seq")
    op.drop_column("audit_log", "prev_hash")
    op.drop_column("audit_log", "hash")
    op.create_primary_key("pk_audit_log", "audit_log", ["id"])
    op.add_column("audit_log", sa.Column("row_mac", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_audit_log_occurred_at"), "audit_log", ["occurred_at"], unique=False)
    op.execute(
        """
        CREATE FUNCTION audit_chain_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_chain is append-only';
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain "
        "FOR EACH ROW EXECUTE FUNCTION audit_chain_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_append_only()"
    )


def downgrade() -> None:
    # Entries not sealed yet have no place in the old single-table chain: run
    # `tongxin verify-audit` (which seals first) before downgrading, or they are dropped.
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    op.execute(
        "DELETE FROM audit_log a WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = a.id)"
    )
    op.drop_index(op.f("ix_audit_log_occurred_at"), table_name="audit_log")
    op.drop_column("audit_log", "row_mac")
    op.drop_constraint("pk_audit_log", "audit_log", type_="primary")
    op.add_column("audit_log", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("hash", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE audit_log a SET seq = c.seq, prev_hash = c.prev_hash, hash = c.hash "
        "FROM audit_chain c WHERE c.entry_id = a.id"
    )
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    for column in ("seq", "prev_hash", "hash"):
        op.alter_column("audit_log", column, nullable=False)
    op.create_primary_key("pk_audit_log", "audit_log", ["seq"])
    op.create_unique_constraint("uq_audit_log_id", "audit_log", ["id"])
    op.execute("DROP TRIGGER IF EXISTS audit_chain_no_truncate ON audit_chain")
    op.execute("DROP TRIGGER IF EXISTS audit_chain_append_only ON audit_chain")
    op.execute("DROP FUNCTION IF EXISTS audit_chain_append_only()")
    op.drop_table("audit_chain")
    op.drop_index(op.f("ix_audit_pending_occurred_at"), table_name="audit_pending")
    op.drop_table("audit_pending")
