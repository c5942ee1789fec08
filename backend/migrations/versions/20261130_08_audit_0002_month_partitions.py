# ruff: noqa: S608  -- SQL is built from the constant table names below only
"""Outbox and audit log partitioned by month; signed audit checkpoints.

``outbox`` (by ``created_at``) and ``audit_log`` (by ``occurred_at``) become PostgreSQL
range-partitioned tables with one partition per month plus a default partition; the rows are
copied over. Partitions are created ahead and dropped only through two SECURITY DEFINER
functions owned by the migration role, so the application's role needs no DDL rights and still
cannot UPDATE, DELETE or TRUNCATE audit rows (every new audit partition has those privileges
revoked and its own TRUNCATE trigger; the row trigger is inherited from the parent). An audit
partition younger than six months cannot be dropped, whatever the caller asks.

Revision ID: audit_0002
Revises: audit_0001
Create Date: 2026-11-30 06:05:00
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0002"
down_revision: str | Sequence[str] | None = "audit_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTHS_AHEAD = 3

CREATE_FUNCTION = """
CREATE FUNCTION tongxin_month_partition(parent text, month date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    start date := date_trunc('month', month)::date;
    part text := parent || '_p' || to_char(start, 'YYYYMM');
    r record;
BEGIN
    IF parent NOT IN ('outbox', 'audit_log') THEN
        RAISE EXCEPTION 'not a month-partitioned table: %', parent;
    END IF;
    IF to_regclass(part) IS NOT NULL THEN
        RETURN part;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
        part, parent,
        start::timestamp AT TIME ZONE 'UTC',
        (start + interval '1 month')::timestamp AT TIME ZONE 'UTC'
    );
    IF parent = 'audit_log' THEN
        FOR r IN
            SELECT DISTINCT grantee FROM information_schema.role_table_grants
            WHERE table_schema = 'public' AND table_name = part
              AND privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
              AND grantee <> current_user
        LOOP
            IF r.grantee = 'PUBLIC' THEN
                EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM PUBLIC', part);
            ELSE
                EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM %I', part, r.grantee);
            END IF;
        END LOOP;
        EXECUTE format(
            'CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()', part
        );
    END IF;
    RETURN part;
END;
$$
"""

DROP_FUNCTION = """
CREATE FUNCTION tongxin_drop_month_partition(parent text, month date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    start date := date_trunc('month', month)::date;
    part text := parent || '_p' || to_char(start, 'YYYYMM');
    upper_bound timestamptz := (start + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    busy boolean;
BEGIN
    IF to_regclass(part) IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', part);
    IF parent = 'outbox' THEN
        IF upper_bound > now() - interval '1 day' THEN
            RAISE EXCEPTION 'outbox partition % is not over yet', part;
        END IF;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE state <> %L)', part, 'done')
            INTO busy;
        IF busy THEN
            RETURN false;  -- pending or failed events are kept
        END IF;
    ELSIF parent = 'audit_log' THEN
        IF upper_bound > now() - interval '6 months' THEN
            RAISE EXCEPTION 'audit_log partition % is younger than six months', part;
        END IF;
    ELSE
        RAISE EXCEPTION 'not a month-partitioned table: %', parent;
    END IF;
    EXECUTE format('DROP TABLE %I', part);
    RETURN true;
END;
$$
"""

TABLES = {
    # table: (partition key, primary key, indexes as (name, columns, where))
    "outbox": (
        "created_at",
        ("id", "created_at"),
        [("ix_outbox_pending", "created_at", "state = 'pending'")],
    ),
    "audit_log": (
        "occurred_at",
        ("id", "occurred_at"),
        [
            ("ix_audit_log_action", "action", None),
            ("ix_audit_log_actor_id", "actor_id", None),
            ("ix_audit_log_object_id", "object_id", None),
            ("ix_audit_log_occurred_at", "occurred_at", None),
        ],
    ),
}


def _months(first: date, last: date) -> list[date]:
    out, month = [], date(first.year, first.month, 1)
    while month <= last:
        out.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return out


def _plus_months(day: date, n: int) -> date:
    index = day.year * 12 + day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _append_only_triggers(table: str) -> None:
    op.execute(
        f"CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def upgrade() -> None:
    op.execute(CREATE_FUNCTION)
    op.execute(DROP_FUNCTION)
    bind = op.get_bind()
    today = datetime.now(UTC).date()
    for table, (key, pk, indexes) in TABLES.items():
        old = f"{table}_unpartitioned"
        op.execute(f"ALTER TABLE {table} RENAME TO {old}")
        op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{table} TO pk_{old}")
        for name, _, _ in indexes:
            op.execute(f"ALTER INDEX {name} RENAME TO {name}_unpartitioned")
        op.execute(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            f"PARTITION BY RANGE ({key})"
        )
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(pk)})")
        for name, column, where in indexes:
            op.execute(
                f"CREATE INDEX {name} ON {table} ({column})" + (f" WHERE {where}" if where else "")
            )
        if table == "audit_log":
            _append_only_triggers(table)
        first = bind.execute(sa.text(f"SELECT min({key}) FROM {old}")).scalar()
        start = first.astimezone(UTC).date() if first else today
        for month in _months(start, _plus_months(today, MONTHS_AHEAD)):
            bind.execute(
                sa.text("SELECT tongxin_month_partition(:t, :m)"), {"t": table, "m": month}
            )
        op.execute(f"CREATE TABLE {table}_pdefault PARTITION OF {table} DEFAULT")
        if table == "audit_log":
            op.execute(
                "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log_pdefault "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
            )
        op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
        op.execute(f"DROP TABLE {old}")

    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    for table, (_key, _pk, indexes) in TABLES.items():
        new = f"{table}_partitioned"
        op.execute(f"ALTER TABLE {table} RENAME TO {new}")
        op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT pk_{table} TO pk_{new}")
        for name, _, _ in indexes:
            op.execute(f"ALTER INDEX {name} RENAME TO {name}_partitioned")
        op.execute(f"CREATE TABLE {table} (LIKE {new} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
        for name, column, where in indexes:
            op.execute(
                f"CREATE INDEX {name} ON {table} ({column})" + (f" WHERE {where}" if where else "")
            )
        op.execute(f"INSERT INTO {table} SELECT * FROM {new}")
        op.execute(f"DROP TABLE {new} CASCADE")
        if table == "audit_log":
            _append_only_triggers(table)
    op.execute("DROP FUNCTION tongxin_drop_month_partition(text, date)")
    op.execute("DROP FUNCTION tongxin_month_partition(text, date)")
