"""keep dispute totals by trigger

The dashboard summed every disputable result on each request (~219,000 rows at
1,000,000 stored lines, ~650 ms). ``dispute_totals`` holds those sums per (practice,
packet payer, payer name, category, month of payment, status, and for open results
the month of the dispute deadline, so the expired ones are whole months of it plus
the days of one month read from the open-by-deadline index); triggers on
``pricing_results`` keep it equal to the live aggregate whatever writes a result
(COPY and bulk inserts, repricing, reversals, the dispute lifecycle, deleting a file),
and this revision fills it for the results already stored. docs/scaling.md "Dispute
totals" says why it is built this way.

PostgreSQL: one statement-level trigger per event, with transition tables, appends
one delta row per key the statement changed (no row is ever updated, so concurrent
ingests never wait on a shared totals row); ``dispute_totals_compact()`` folds the
deltas into one row per key, skipping rows another transaction is folding. The
trigger calls it each time the delta ids cross a multiple of ``COMPACT_EVERY``.

SQLite (one writer at a time, row triggers only): one row per key, updated in place.

Revision ID: c3d1a7e05b92
Revises: 9b3f1c2d4e5a
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3d1a7e05b92"
down_revision: str | None = "9b3f1c2d4e5a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# fold the deltas about every this many appended rows: the dashboard then sums at
# most this many rows more than one per key
COMPACT_EVERY = 1024

KEY = (
    "practice_key",
    "packet_payer_id",
    "packet_payer_name",
    "category",
    "payment_month",
    "status",
    "deadline_month",
)
SUMS = ("lines", "variance_cents", "recovered_cents")
COLUMNS = ", ".join(KEY + SUMS)
KEY_LIST = ", ".join(KEY)


def _create_table() -> None:
    op.create_table(
        "dispute_totals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("practice_key", sa.String(length=20), nullable=False),
        sa.Column("packet_payer_id", sa.String(length=80), nullable=False),
        sa.Column("packet_payer_name", sa.String(length=120), nullable=True),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("payment_month", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("deadline_month", sa.Date(), nullable=True),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.Column("variance_cents", sa.BigInteger(), nullable=False),
        sa.Column("recovered_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_totals")),
    )
    op.create_index(
        "ix_dispute_totals_key",
        "dispute_totals",
        [
            "practice_key",
            "packet_payer_id",
            "category",
            "status",
            "payment_month",
            "packet_payer_name",
            "deadline_month",
        ],
        unique=False,
    )


# ------------------------------------------------------------------------ PostgreSQL

# a result is counted when disputable and in a packet (app/disputes/repository.py
# _disputable; the category is filtered when the totals are read, so the list of
# disputable categories lives in the application only)
PG_COUNTED = "disputable IS true AND practice_key IS NOT NULL AND packet_payer_id IS NOT NULL"
# the deadline's month is kept for open results only (the expired stage is theirs);
# other statuses keep one key per payment month
PG_KEY = (
    "practice_key, packet_payer_id, packet_payer_name, category, "
    "date_trunc('month', payment_date)::date, status, "
    "CASE WHEN status = 'open' THEN date_trunc('month', dispute_deadline)::date END"
)
PG_VARIANCE = "(coalesce(variance_amount, 0) * 100)::bigint"
PG_RECOVERED = "(coalesce(recovered_amount, 0) * 100)::bigint"


def _pg_delta(source: str, sign: str) -> str:
    return (
        f"SELECT {PG_KEY}, {sign}count(*), {sign}sum({PG_VARIANCE}), {sign}sum({PG_RECOVERED})"
        f" FROM {source} WHERE {PG_COUNTED} GROUP BY {PG_KEY}"
    )


PG_COMPACT = f"""
CREATE FUNCTION dispute_totals_compact() RETURNS bigint LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM dispute_totals
        WHERE id IN (SELECT id FROM dispute_totals FOR UPDATE SKIP LOCKED)
        RETURNING {COLUMNS}
    ), kept AS (
        INSERT INTO dispute_totals ({COLUMNS})
        SELECT {KEY_LIST}, sum(lines), sum(variance_cents), sum(recovered_cents)
        FROM gone
        GROUP BY {KEY_LIST}
        HAVING sum(lines) <> 0 OR sum(variance_cents) <> 0 OR sum(recovered_cents) <> 0
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM kept)
$$
"""

PG_APPLY = f"""
CREATE FUNCTION dispute_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
    last_id bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH delta AS (
            INSERT INTO dispute_totals ({COLUMNS}) {_pg_delta("new_rows", "")}
            RETURNING id
        )
        SELECT count(*), max(id) INTO added, last_id FROM delta;
    ELSIF TG_OP = 'DELETE' THEN
        WITH delta AS (
            INSERT INTO dispute_totals ({COLUMNS}) {_pg_delta("old_rows", "-")}
            RETURNING id
        )
        SELECT count(*), max(id) INTO added, last_id FROM delta;
    ELSE
        WITH delta AS (
            INSERT INTO dispute_totals ({COLUMNS})
            SELECT {KEY_LIST}, sum(lines), sum(variance_cents), sum(recovered_cents)
            FROM (
                {_pg_delta("new_rows", "")}
                UNION ALL
                {_pg_delta("old_rows", "-")}
            ) AS changed ({COLUMNS})
            GROUP BY {KEY_LIST}
            HAVING sum(lines) <> 0 OR sum(variance_cents) <> 0 OR sum(recovered_cents) <> 0
            RETURNING id
        )
        SELECT count(*), max(id) INTO added, last_id FROM delta;
    END IF;
    IF added > 0 AND last_id / {COMPACT_EVERY} <> (last_id - added) / {COMPACT_EVERY} THEN
        PERFORM dispute_totals_compact();
    END IF;
    RETURN NULL;
END
$$
"""

PG_TRIGGERS = (
    "CREATE TRIGGER dispute_totals_insert AFTER INSERT ON pricing_results"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION dispute_totals_apply()",
    "CREATE TRIGGER dispute_totals_update AFTER UPDATE ON pricing_results"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION dispute_totals_apply()",
    "CREATE TRIGGER dispute_totals_delete AFTER DELETE ON pricing_results"
    " REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION dispute_totals_apply()",
    # TRUNCATE has no transition table; it empties every result, so every total
    "CREATE FUNCTION dispute_totals_truncate() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN DELETE FROM dispute_totals; RETURN NULL; END $$",
    "CREATE TRIGGER dispute_totals_truncate AFTER TRUNCATE ON pricing_results"
    " FOR EACH STATEMENT EXECUTE FUNCTION dispute_totals_truncate()",
)

PG_FILL = f"INSERT INTO dispute_totals ({COLUMNS}) {_pg_delta('pricing_results', '')}"


# ---------------------------------------------------------------------------- SQLite


def _lite_counted(row: str) -> str:
    return (
        f"{row}.disputable = 1 AND {row}.practice_key IS NOT NULL"
        f" AND {row}.packet_payer_id IS NOT NULL"
    )


def _lite_month(column: str) -> str:
    # Date columns hold ISO text on SQLite: the first day of the month, or NULL
    return f"date({column}, 'start of month')"


def _lite_cents(column: str) -> str:
    # the amount is stored as a float with two decimals: round to whole cents
    return f"CAST(round(coalesce({column}, 0) * 100) AS INTEGER)"


def _lite_deadline_month(row: str) -> str:
    return f"CASE WHEN {row}.status = 'open' THEN {_lite_month(row + '.dispute_deadline')} END"


def _lite_match(row: str) -> str:
    return (
        f"practice_key = {row}.practice_key AND packet_payer_id = {row}.packet_payer_id"
        f" AND category = {row}.category AND status = {row}.status"
        f" AND payment_month IS {_lite_month(row + '.payment_date')}"
        f" AND packet_payer_name IS {row}.packet_payer_name"
        f" AND deadline_month IS {_lite_deadline_month(row)}"
    )


def _lite_add(row: str) -> str:
    return (
        f"INSERT INTO dispute_totals ({COLUMNS})"
        f" SELECT {row}.practice_key, {row}.packet_payer_id, {row}.packet_payer_name,"
        f" {row}.category, {_lite_month(row + '.payment_date')}, {row}.status,"
        f" {_lite_deadline_month(row)}, 0, 0, 0"
        f" WHERE {_lite_counted(row)}"
        f" AND NOT EXISTS (SELECT 1 FROM dispute_totals WHERE {_lite_match(row)});\n"
        f"UPDATE dispute_totals SET lines = lines + 1,"
        f" variance_cents = variance_cents + {_lite_cents(row + '.variance_amount')},"
        f" recovered_cents = recovered_cents + {_lite_cents(row + '.recovered_amount')}"
        f" WHERE {_lite_counted(row)} AND {_lite_match(row)};\n"
    )


def _lite_remove(row: str) -> str:
    return (
        f"UPDATE dispute_totals SET lines = lines - 1,"
        f" variance_cents = variance_cents - {_lite_cents(row + '.variance_amount')},"
        f" recovered_cents = recovered_cents - {_lite_cents(row + '.recovered_amount')}"
        f" WHERE {_lite_counted(row)} AND {_lite_match(row)};\n"
        f"DELETE FROM dispute_totals WHERE {_lite_counted(row)} AND {_lite_match(row)}"
        " AND lines = 0 AND variance_cents = 0 AND recovered_cents = 0;\n"
    )


LITE_WATCHED = (
    "disputable",
    "practice_key",
    "packet_payer_id",
    "packet_payer_name",
    "category",
    "payment_date",
    "status",
    "dispute_deadline",
    "variance_amount",
    "recovered_amount",
)

LITE_TRIGGERS = (
    "CREATE TRIGGER dispute_totals_insert AFTER INSERT ON pricing_results"
    f" FOR EACH ROW WHEN {_lite_counted('NEW')} BEGIN\n{_lite_add('NEW')}END",
    "CREATE TRIGGER dispute_totals_update AFTER UPDATE ON pricing_results FOR EACH ROW"
    f" WHEN ({_lite_counted('OLD')} OR {_lite_counted('NEW')}) AND ("
    + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in LITE_WATCHED)
    + f") BEGIN\n{_lite_add('NEW')}{_lite_remove('OLD')}END",
    "CREATE TRIGGER dispute_totals_delete AFTER DELETE ON pricing_results"
    f" FOR EACH ROW WHEN {_lite_counted('OLD')} BEGIN\n{_lite_remove('OLD')}END",
)

LITE_FILL = (
    f"INSERT INTO dispute_totals ({COLUMNS})"
    " SELECT practice_key, packet_payer_id, packet_payer_name, category,"
    f" {_lite_month('payment_date')}, status, {_lite_deadline_month('r')}, count(*),"
    f" sum({_lite_cents('variance_amount')}), sum({_lite_cents('recovered_amount')})"
    f" FROM pricing_results AS r WHERE {_lite_counted('r')}"
    " GROUP BY practice_key, packet_payer_id, packet_payer_name, category,"
    f" {_lite_month('payment_date')}, status, {_lite_deadline_month('r')}"
)


def upgrade() -> None:
    _create_table()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_COMPACT)
        op.execute(PG_APPLY)
        # the triggers first: creating them waits for writers of pricing_results and
        # then holds them off, so the fill below misses no committed or later row
        for statement in PG_TRIGGERS:
            op.execute(statement)
        op.execute(PG_FILL)
        op.execute("ANALYZE dispute_totals")  # the dashboard's first plans know its size
    else:
        for statement in LITE_TRIGGERS:
            op.execute(statement)
        op.execute(LITE_FILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER dispute_totals_{name} ON pricing_results")
        for function in ("apply", "truncate", "compact"):
            op.execute(f"DROP FUNCTION dispute_totals_{function}()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER dispute_totals_{name}")
    op.drop_index("ix_dispute_totals_key", table_name="dispute_totals")
    op.drop_table("dispute_totals")
