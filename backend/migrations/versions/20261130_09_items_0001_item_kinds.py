"""Item kinds: needs and resources carry one; county extensions; match quantities per side.

Adds ``item_kind`` and ``item_kind_source`` to needs and resources, ``offer_quantity`` to
matches, the ``county_item_kinds`` table and the ``services`` need category (everyday services:
助浴, 理发, 家电维修 …). Existing needs and resources get a kind inferred from their title (and
text) with the packaged taxonomy; rows where the inference is not sure are marked ``unsure``
and listed for a caseworker (needs) or the organization (resources) to confirm.

Revision ID: items_0001
Revises: audit_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "items_0001"
down_revision: str | Sequence[str] | None = "audit_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _infer_rows(table: str, text_column: str) -> None:
    from matching.items import load_taxonomy

    taxonomy = load_taxonomy()
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(f"SELECT id, category, title, {text_column} AS body FROM {table}")  # noqa: S608
    ).all()
    for row in rows:
        found = taxonomy.infer(row.title, row.category, strict=True)
        if found.kind is None:
            found = taxonomy.infer(f"{row.title} {row.body or ''}", row.category, strict=True)
        source = "inferred" if found.kind is not None and found.sure else "unsure"
        bind.execute(
            sa.text(
                f"UPDATE {table} SET item_kind = :kind, item_kind_source = :source "  # noqa: S608
                "WHERE id = :id"
            ).bindparams(kind=found.kind, source=source, id=row.id)
        )


def upgrade() -> None:
    op.execute(
        "INSERT INTO need_categories (code, name_zh, name_en, measure, sort_order) "
        "VALUES ('services', '生活服务', 'Everyday services', 'quantity', 110) "
        "ON CONFLICT (code) DO NOTHING"
    )
    for table in ("needs", "resources"):
        op.add_column(table, sa.Column("item_kind", sa.String(length=64), nullable=True))
        op.add_column(
            table,
            sa.Column(
                "item_kind_source",
                sa.String(length=16),
                server_default="inferred",
                nullable=False,
            ),
        )
    op.add_column("matches", sa.Column("offer_quantity", sa.BigInteger(), nullable=True))
    op.create_table(
        "county_item_kinds",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.Column("synonyms", sa.Text(), nullable=False),
        sa.Column("units", sa.String(length=200), nullable=False),
        sa.Column("substitutes", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
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
            ["category"],
            ["need_categories.code"],
            name=op.f("fk_county_item_kinds_category_need_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["county_code"],
            ["regions.code"],
            name=op.f("fk_county_item_kinds_county_code_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_county_item_kinds_created_by_users")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_county_item_kinds")),
    )
    op.create_index(op.f("ix_county_item_kinds_county_code"), "county_item_kinds", ["county_code"])
    _infer_rows("needs", "body")
    _infer_rows("resources", "description")


def downgrade() -> None:
    op.drop_index(op.f("ix_county_item_kinds_county_code"), table_name="county_item_kinds")
    op.drop_table("county_item_kinds")
    op.drop_column("matches", "offer_quantity")
    for table in ("resources", "needs"):
        op.drop_column(table, "item_kind_source")
        op.drop_column(table, "item_kind")
    op.execute(
        "DELETE FROM need_categories WHERE code = 'services' "
        "AND NOT EXISTS (SELECT 1 FROM needs WHERE category = 'services') "
        "AND NOT EXISTS (SELECT 1 FROM resources WHERE category = 'services') "
        "AND NOT EXISTS (SELECT 1 FROM projects WHERE category = 'services')"
    )
