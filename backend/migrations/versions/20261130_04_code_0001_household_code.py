"""The typeable 幸福码: keyed code hash, and how a delivery was confirmed.

Revision ID: code_0001
Revises: donations_0001
Create Date: 2026-11-30

households: ``code_token_hash`` (SHA-256 of the old 32-character QR token) becomes
``code_hash`` (HMAC of the new 13-character code); the unused ``pin_failures`` and
``pin_locked_until`` go (wrong PINs are counted in Redis). An old token cannot be turned into a
typeable code, and the old card printed the PIN beside the QR, so every existing code and PIN
stops working here: ``pin_hash`` and ``code_issued_at`` are cleared, the household page says
"No code issued yet", and the caseworker issues a new card and PIN slip (docs/household-code.md).
Demo databases get new codes when they are seeded again.

deliveries: the confirmation method ``own_phone`` (the household on its self-service page),
and for a caseworker's confirmation its reason and note.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "code_0001"
down_revision: str | Sequence[str] | None = "donations_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METHODS_OLD = ("code_and_pin", "caseworker")
METHODS_NEW = ("code_and_pin", "own_phone", "caseworker")
REASONS = ("cannot_use_pin", "no_card", "told_in_person", "told_by_phone", "other")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.drop_constraint(op.f("uq_households_code_token_hash"), "households", type_="unique")
    op.drop_column("households", "code_token_hash")
    op.drop_column("households", "pin_failures")
    op.drop_column("households", "pin_locked_until")
    op.add_column("households", sa.Column("code_hash", sa.String(length=64), nullable=True))
    op.create_unique_constraint(op.f("uq_households_code_hash"), "households", ["code_hash"])
    op.execute("UPDATE households SET pin_hash = NULL, code_issued_at = NULL")

    op.drop_constraint(op.f("ck_deliveries_confirmationmethod"), "deliveries", type_="check")
    op.create_check_constraint(
        op.f("ck_deliveries_confirmationmethod"),
        "deliveries",
        _in("confirmation_method", METHODS_NEW),
    )
    op.add_column(
        "deliveries", sa.Column("confirmation_reason", sa.String(length=32), nullable=True)
    )
    op.create_check_constraint(
        op.f("ck_deliveries_caseworkerreason"), "deliveries", _in("confirmation_reason", REASONS)
    )
    op.add_column(
        "deliveries",
        sa.Column("confirmation_note", sa.Text(), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("deliveries", "confirmation_note")
    op.drop_constraint(op.f("ck_deliveries_caseworkerreason"), "deliveries", type_="check")
    op.drop_column("deliveries", "confirmation_reason")
    op.execute(
        "UPDATE deliveries SET confirmation_method = 'code_and_pin' "
        "WHERE confirmation_method = 'own_phone'"
    )
    op.drop_constraint(op.f("ck_deliveries_confirmationmethod"), "deliveries", type_="check")
    op.create_check_constraint(
        op.f("ck_deliveries_confirmationmethod"),
        "deliveries",
        _in("confirmation_method", METHODS_OLD),
    )

    op.drop_constraint(op.f("uq_households_code_hash"), "households", type_="unique")
    op.drop_column("households", "code_hash")
    op.add_column(
        "households",
        sa.Column("pin_locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "households",
        sa.Column("pin_failures", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("households", sa.Column("code_token_hash", sa.String(length=64), nullable=True))
    op.create_unique_constraint(
        op.f("uq_households_code_token_hash"), "households", ["code_token_hash"]
    )
    op.execute("UPDATE households SET pin_hash = NULL, code_issued_at = NULL")
