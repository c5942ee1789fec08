"""The need taxonomy as data: the ten categories caseworkers draft needs in.

Revision ID: households_0001
Revises: 0001
Create Date: 2026-11-23

No schema change: the ``need_categories`` table exists since 0001. Rows are inserted with
ON CONFLICT DO NOTHING so a database where another branch seeded some of them upgrades too.
Admins may rename or reorder categories later; downgrade removes only the codes added here
that no need, resource or project uses.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "households_0001"
down_revision = "0001"
branch_labels = None
depends_on = None

# code, name_zh, name_en, measure (quantity | amount), sort order
CATEGORIES = [
    ("goods", "物资", "Goods", "quantity", 10),
    ("meals", "助餐", "Meals", "quantity", 20),
    ("education", "助学", "Education", "amount", 30),
    ("medical", "医疗", "Medical care", "amount", 40),
    ("housing_repair", "住房修缮", "Housing repair", "amount", 50),
    ("employment", "就业帮扶", "Employment", "quantity", 60),
    ("companionship", "陪伴探访", "Companionship and visits", "quantity", 70),
    ("legal_aid", "法律援助", "Legal aid", "quantity", 80),
    ("micro_wish", "微心愿", "Micro-wish", "quantity", 90),
    ("cash", "现金救助", "Cash", "amount", 100),
]


def upgrade() -> None:
    for code, zh, en, measure, order in CATEGORIES:
        op.execute(
            sa.text(
                "INSERT INTO need_categories (code, name_zh, name_en, measure, sort_order) "
                "VALUES (:code, :zh, :en, :measure, :order) ON CONFLICT (code) DO NOTHING"
            ).bindparams(code=code, zh=zh, en=en, measure=measure, order=order)
        )


def downgrade() -> None:
    for code, *_ in CATEGORIES:
        op.execute(
            sa.text(
                "DELETE FROM need_categories WHERE code = :code "
                "AND NOT EXISTS (SELECT 1 FROM needs WHERE category = :code) "
                "AND NOT EXISTS (SELECT 1 FROM resources WHERE category = :code) "
                "AND NOT EXISTS (SELECT 1 FROM projects WHERE category = :code)"
            ).bindparams(code=code)
        )
