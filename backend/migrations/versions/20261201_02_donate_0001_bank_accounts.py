"""Organizations' bank accounts (checked by a platform administrator); cancelled pledges.

Revision ID: donate_0001
Revises: grievance_0002
Create Date: 2026-12-01

org_bank_accounts: one account per organization for offline donations, ``submitted`` →
``verified`` / ``rejected`` by an administrator; donors see only a verified one.
donations: the state ``cancelled`` (the donor withdrew an unpaid offline pledge).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "donate_0001"
down_revision: str | Sequence[str] | None = "grievance_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES_OLD = ("pending", "paid", "failed", "expired", "refunded", "disputed")
STATES_NEW = ("pending", "paid", "failed", "expired", "refunded", "disputed", "cancelled")
ACCOUNT_STATES = ("submitted", "verified", "rejected")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "org_bank_accounts",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("account_name", sa.String(length=100), nullable=False),
        sa.Column("bank_name", sa.String(length=100), nullable=False),
        sa.Column("account_number", sa.String(length=40), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                *ACCOUNT_STATES,
                name="bankaccountstate",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("review_note", sa.Text(), server_default="", nullable=False),
        sa.Column("submitted_by", sa.UUID(), nullable=False),
        sa.Column("reviewed_by", sa.UUID(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
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
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_org_bank_accounts_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"], ["users.id"], name=op.f("fk_org_bank_accounts_submitted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_org_bank_accounts_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_bank_accounts")),
        sa.UniqueConstraint("organization_id", name=op.f("uq_org_bank_accounts_organization_id")),
    )
    op.create_index(
        "ix_org_bank_accounts_waiting",
        "org_bank_accounts",
        ["updated_at"],
        postgresql_where=sa.text("state = 'submitted'"),
    )
    op.drop_constraint(op.f("ck_donations_donationstate"), "donations", type_="check")
    op.create_check_constraint(
        op.f("ck_donations_donationstate"), "donations", _in("state", STATES_NEW)
    )


def downgrade() -> None:
    op.execute("UPDATE donations SET state = 'expired' WHERE state = 'cancelled'")
    op.drop_constraint(op.f("ck_donations_donationstate"), "donations", type_="check")
    op.create_check_constraint(
        op.f("ck_donations_donationstate"), "donations", _in("state", STATES_OLD)
    )
    op.drop_index("ix_org_bank_accounts_waiting", table_name="org_bank_accounts")
    op.drop_table("org_bank_accounts")
