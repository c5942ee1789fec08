"""Donations: pending ledger effects, one credit per donation, signed amounts, append-only ledger.

Revision ID: donations_0001
Revises: households_0001
Create Date: 2026-11-23 09:01:07.529608
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "donations_0001"
down_revision: str | Sequence[str] | None = "households_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGN_CHECK = (
    "(entry_type = 'donation' AND amount_fen > 0)"
    " OR (entry_type IN ('refund', 'disbursement', 'dispute') AND amount_fen < 0)"
    " OR (entry_type = 'adjustment' AND reason <> '')"
)


def upgrade() -> None:
    op.create_table(
        "ledger_pending_effects",
        sa.Column("payment_intent_id", sa.String(length=255), nullable=False),
        sa.Column(
            "entry_type",
            sa.Enum(
                "donation",
                "refund",
                "disbursement",
                "adjustment",
                "dispute",
                name="entrytype",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("external_event_id", sa.UUID(), nullable=True),
        sa.Column("ledger_entry_id", sa.UUID(), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "amount_fen > 0", name=op.f("ck_ledger_pending_effects_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["external_event_id"],
            ["external_events.id"],
            name=op.f("fk_ledger_pending_effects_external_event_id_external_events"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_pending_effects_ledger_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_pending_effects")),
        sa.UniqueConstraint(
            "payment_intent_id",
            "entry_type",
            name=op.f("uq_ledger_pending_effects_payment_intent_id_entry_type"),
        ),
    )
    op.create_index(
        "uq_ledger_entries_donation_credit",
        "ledger_entries",
        ["donation_id"],
        unique=True,
        postgresql_where="entry_type = 'donation'",
    )
    op.create_check_constraint(
        op.f("ck_ledger_entries_sign_matches_type"), "ledger_entries", SIGN_CHECK
    )
    # The ledger is append-only: a correction is a new adjustment entry, never an edit.
    op.execute(
        """
        CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger_entries is append-only';
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
        "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries")
    op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
    op.drop_constraint(op.f("ck_ledger_entries_sign_matches_type"), "ledger_entries", type_="check")
    op.drop_index(
        "uq_ledger_entries_donation_credit",
        table_name="ledger_entries",
        postgresql_where="entry_type = 'donation'",
    )
    op.drop_table("ledger_pending_effects")
