"""Registry search and the caseworker start page: the phone's and the name's blind indexes,
the 幸福码's last four characters, and why a draft's publication was refused.

Revision ID: work_0001
Revises: auditor_0001
Create Date: 2026-12-01 09:00:00

Existing households get their phone hash and name tokens from ``backfill`` (the households
service's own helpers, under the deployment's keys). Codes issued before this revision have no
stored tail (only the code's hash was ever kept): reissuing the code prints it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "work_0001"
down_revision: str | Sequence[str] | None = "auditor_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("households", sa.Column("phone_hash", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_households_phone_hash"), "households", ["phone_hash"])
    op.add_column("households", sa.Column("code_tail", sa.String(length=4), nullable=True))
    op.create_table(
        "household_name_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_household_name_tokens_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "token_hash", "household_id", name=op.f("pk_household_name_tokens")
        ),
    )
    op.create_index(
        op.f("ix_household_name_tokens_household_id"), "household_name_tokens", ["household_id"]
    )
    op.add_column("needs", sa.Column("publish_blocked", sa.String(length=16), nullable=True))
    op.create_index(
        "ix_needs_publish_blocked_region",
        "needs",
        ["region_code"],
        postgresql_where=sa.text("publish_blocked IS NOT NULL"),
    )
    backfill()


def backfill(batch: int = 1000) -> None:
    bind = op.get_bind()
    if not bind.execute(sa.text("SELECT EXISTS (SELECT 1 FROM households)")).scalar():
        return  # a fresh database: nothing to index, and no key needed
    from backend.households.service import blind_index_of

    first = sa.text("SELECT id, head_name_enc, phone_enc FROM households ORDER BY id LIMIT :n")
    after = sa.text(
        "SELECT id, head_name_enc, phone_enc FROM households WHERE id > :last ORDER BY id LIMIT :n"
    )
    last = None
    while True:
        rows = bind.execute(
            after if last else first, {"last": last, "n": batch} if last else {"n": batch}
        ).all()
        if not rows:
            return
        for household_id, name_enc, phone_enc in rows:
            phone, tokens = blind_index_of(name_enc, phone_enc)
            bind.execute(
                sa.text("UPDATE households SET phone_hash = :h WHERE id = :id"),
                {"h": phone or None, "id": household_id},
            )
            if tokens:
                bind.execute(
                    sa.text(
                        "INSERT INTO household_name_tokens (token_hash, household_id) "
                        "VALUES (:t, :id) ON CONFLICT DO NOTHING"
                    ),
                    [{"t": t, "id": household_id} for t in tokens],
                )
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_needs_publish_blocked_region", table_name="needs")
    op.drop_column("needs", "publish_blocked")
    op.drop_index(op.f("ix_household_name_tokens_household_id"), table_name="household_name_tokens")
    op.drop_table("household_name_tokens")
    op.drop_column("households", "code_tail")
    op.drop_index(op.f("ix_households_phone_hash"), table_name="households")
    op.drop_column("households", "phone_hash")
