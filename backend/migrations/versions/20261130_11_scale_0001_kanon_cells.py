"""k-anonymity counters: one row per (location prefix, profile level, profile key).

Revision ID: scale_0001
Revises: privacy_0001
Create Date: 2026-11-30 06:00:00

Existing households are counted into the new table by ``backfill`` (the same Python code that
maintains it afterwards), so an upgraded database publishes from correct counts at once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scale_0001"
down_revision: str | Sequence[str] | None = "privacy_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kanon_cells",
        sa.Column("location", sa.String(length=80), nullable=False),
        sa.Column("profile_level", sa.SmallInteger(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("households", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "location", "profile_level", "profile", name=op.f("pk_kanon_cells")
        ),
    )
    backfill()


def backfill() -> None:
    from collections import Counter

    from backend.privacy.kanon import ProfileInput, cells

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT r.path, h.member_ages, h.flags FROM households h"
            " JOIN regions r ON r.code = h.region_code WHERE h.status = 'active'"
        )
    )
    counts: Counter[tuple[str, int, str]] = Counter()
    for path, ages, flags in rows:
        parts = path.split(".")
        parts += [parts[-1]] * (5 - len(parts))  # as backend.needs.service.profile_input
        target = ProfileInput(tuple(parts[:5]), tuple(ages or ()) or (40,), frozenset(flags or ()))
        counts.update(cells(target))
    if counts:
        bind.execute(
            sa.text(
                "INSERT INTO kanon_cells (location, profile_level, profile, households)"
                " VALUES (:location, :level, :profile, :n)"
            ),
            [{"location": c[0], "level": c[1], "profile": c[2], "n": n} for c, n in counts.items()],
        )


def downgrade() -> None:
    op.drop_table("kanon_cells")
