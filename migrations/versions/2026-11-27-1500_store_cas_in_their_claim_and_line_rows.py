"""store CAS in their claim payment and service line rows

Each CAS triple was a row of ``adjustments`` (~46,000 for a 10,000-claim file). No
query reads one on its own: re-pricing and the file detail read a claim's with the
claim and its lines. As rows they cost PostgreSQL ~0.2 s of its ~1.05 s of COPY work
for such a file (heap rows, ``pk_adjustments``, ``ix_adjustments_claim_payment_id``,
the two per-statement parent checks of migration a7c3e9f1d2b4) and the reading
process ~2 µs per CAS.

Now ``claim_payments.adjustments`` holds a claim's claim-level CAS and
``service_lines.adjustments`` a line's, as a JSON array in file order (the old rows'
``id`` order) of ``[group_code, reason_code, amount, quantity]``: the amount as the
text of its NUMERIC(12, 2) value (``"12.00"``, ``"-3.50"``), the quantity as that of
its NUMERIC(12, 3) value (``"2.000"``) or null, as the application writes them. The
table goes, with its indexes, its computed column and, on PostgreSQL, the triggers and
functions of its two parent checks.

``downgrade()`` makes the table again as it was at b8d4f0a2c6e1 and its rows from the
arrays, with new ids that keep each owner's file order.

Revision ID: c9e5a1b3d7f2
Revises: b8d4f0a2c6e1
Create Date: 2026-11-27 15:00:00.000000
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c9e5a1b3d7f2"
down_revision: str | None = "b8d4f0a2c6e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIM_LEVEL_PAYMENT_ID = "CASE WHEN service_line_id IS NULL THEN claim_payment_id END"

# each owner's CAS as the application writes them (app.reconciliation.prepare): texts
# of the stored NUMERIC values, null for a missing quantity. PostgreSQL's numeric has
# no negative zero; SQLite's NUMERIC columns hold an integer or a float, printed to
# the column's scale (a zero as 0.00, whatever its sign)
_PG_ITEM = "jsonb_build_array(group_code, reason_code, amount::text, quantity::text)"
_SQLITE_ITEM = (
    "json_array(group_code, reason_code, "
    "CASE WHEN amount = 0 THEN '0.00' ELSE printf('%.2f', amount) END, "
    "CASE WHEN quantity IS NULL THEN NULL WHEN quantity = 0 THEN '0.000' "
    "ELSE printf('%.3f', quantity) END)"
)


def upgrade() -> None:
    bind = op.get_bind()
    on_postgresql = bind.dialect.name == "postgresql"
    for table in ("claim_payments", "service_lines"):
        op.add_column(
            table,
            sa.Column(
                "adjustments",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            ),
        )
    for table, owner, level in (
        ("claim_payments", "claim_payment_id", "service_line_id IS NULL"),
        ("service_lines", "service_line_id", "service_line_id IS NOT NULL"),
    ):
        if on_postgresql:
            op.execute(
                f"UPDATE {table} t SET adjustments = a.items FROM ("
                f"SELECT {owner} AS owner, jsonb_agg({_PG_ITEM} ORDER BY id) AS items "
                f"FROM adjustments WHERE {level} GROUP BY {owner}"
                ") a WHERE t.id = a.owner"
            )
        else:
            # json_group_array in the order of the rows it is given (ordered by owner,
            # then id); json() keeps each item an array, not the text of one
            op.execute(
                f"UPDATE {table} SET adjustments = a.items FROM ("
                "SELECT owner, json_group_array(json(item)) AS items FROM ("
                f"SELECT {owner} AS owner, {_SQLITE_ITEM} AS item FROM adjustments "
                f"WHERE {level} ORDER BY {owner}, id"
                ") GROUP BY owner"
                f") AS a WHERE {table}.id = a.owner"
            )
    if on_postgresql:
        for key in reversed(KEYS):
            _drop_triggers(key)
    op.drop_table("adjustments")


def downgrade() -> None:
    bind = op.get_bind()
    on_postgresql = bind.dialect.name == "postgresql"
    # the table as at b8d4f0a2c6e1 (the initial schema, then e5f9c2a3b7d4); on
    # PostgreSQL its two foreign keys are triggers (a7c3e9f1d2b4)
    keys = [] if on_postgresql else [sa.ForeignKeyConstraint(
        list(key.columns),
        [f"{key.parent}.{column}" for column in key.parent_columns],
        name=key.name,
        ondelete=key.on_delete,
    ) for key in KEYS]
    op.create_table(
        "adjustments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("claim_payment_id", sa.Uuid(), nullable=False),
        sa.Column("service_line_id", sa.Uuid(), nullable=True),
        sa.Column("group_code", sa.String(length=2), nullable=False),
        sa.Column("reason_code", sa.String(length=5), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column(
            "claim_level_payment_id",
            sa.Uuid(),
            sa.Computed(CLAIM_LEVEL_PAYMENT_ID, persisted=True),
            nullable=True,
        ),
        *keys,
        sa.PrimaryKeyConstraint("id", name="pk_adjustments"),
    )
    op.create_index("ix_adjustments_claim_payment_id", "adjustments", ["claim_payment_id"])
    op.create_index(
        "ix_adjustments_claim_level_payment_id",
        "adjustments",
        ["claim_level_payment_id"],
        postgresql_where=sa.text("claim_level_payment_id IS NOT NULL"),
        sqlite_where=sa.text("claim_level_payment_id IS NOT NULL"),
    )
    if on_postgresql:
        for key in KEYS:
            for statement in _statements(key):
                op.execute(statement)
    # the rows, with new ids ascending in each owner's order: a prefix of this
    # downgrade's own, then a counter over (claim payment, its claim-level CAS
    # first, then each line's, by line id: ingest's ids ascend in file order),
    # then the place in the array
    prefix = uuid.uuid4().hex[:16]
    if on_postgresql:
        op.execute(
            sa.text(
                "INSERT INTO adjustments (id, claim_payment_id, service_line_id, group_code, "
                "reason_code, amount, quantity) "
                "SELECT (:prefix || lpad(to_hex(row_number() OVER (ORDER BY claim_payment_id, "
                "service_line_id NULLS FIRST, n)), 16, '0'))::uuid, claim_payment_id, "
                "service_line_id, item->>0, item->>1, (item->>2)::numeric, "
                "(item->>3)::numeric FROM ("
                "SELECT c.id AS claim_payment_id, NULL::uuid AS service_line_id, e.item, e.n "
                "FROM claim_payments c, jsonb_array_elements(c.adjustments) "
                "WITH ORDINALITY AS e(item, n) "
                "UNION ALL "
                "SELECT s.claim_payment_id, s.id, e.item, e.n FROM service_lines s, "
                "jsonb_array_elements(s.adjustments) WITH ORDINALITY AS e(item, n)"
                ") cas"
            ).bindparams(prefix=prefix)
        )
    else:
        # Uuid is CHAR(32) hex on SQLite; the NUMERIC columns take the texts as the
        # Money and Quantity types hand them over
        op.execute(
            sa.text(
                "INSERT INTO adjustments (id, claim_payment_id, service_line_id, group_code, "
                "reason_code, amount, quantity) "
                "SELECT :prefix || printf('%016x', row_number() OVER (ORDER BY "
                "claim_payment_id, service_line_id IS NOT NULL, service_line_id, n)), "
                "claim_payment_id, service_line_id, json_extract(item, '$[0]'), "
                "json_extract(item, '$[1]'), json_extract(item, '$[2]'), "
                "json_extract(item, '$[3]') FROM ("
                "SELECT c.id AS claim_payment_id, NULL AS service_line_id, e.value AS item, "
                "e.key AS n FROM claim_payments c, json_each(c.adjustments) e "
                "UNION ALL "
                "SELECT s.claim_payment_id, s.id, e.value, e.key FROM service_lines s, "
                "json_each(s.adjustments) e"
                ")"
            ).bindparams(prefix=prefix)
        )
    with op.batch_alter_table("service_lines") as batch:
        batch.drop_column("adjustments")
    with op.batch_alter_table("claim_payments") as batch:
        batch.drop_column("adjustments")


# ------------------------------------------------- the parent checks of a7c3e9f1d2b4
# (copied from that revision: revisions do not import each other)


@dataclass(frozen=True)
class Key:
    name: str
    child: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    on_delete: str  # CASCADE or SET NULL

    def pairs(self, child: str, parent: str) -> str:
        """True when the child row ``child`` (an alias, or NEW) refers to the parent
        row ``parent`` (an alias, or OLD)."""
        return " AND ".join(
            f"{parent}.{p} = {child}.{c}"
            for c, p in zip(self.columns, self.parent_columns, strict=True)
        )

    def complete(self, row: str) -> str:
        """True when no column of ``row``'s key is null (MATCH SIMPLE checks only those)."""
        return " AND ".join(f"{row}.{c} IS NOT NULL" for c in self.columns)

    def shown(self, row: str) -> str:
        """``Key (a, b)=(x, y) is not present in table "p".``, as PostgreSQL says it."""
        values = ", ".join(f"{row}.{c}" for c in self.columns)
        return (
            f"format('Key ({', '.join(self.columns)})=(%s) is not present in table "
            f'"{self.parent}".\', concat_ws(\', \', {values}))'
        )


# the two foreign keys of adjustments, in the order a7c3e9f1d2b4 made them
KEYS = (
    Key(
        "fk_adjustments_claim_payment_id_service_lines",
        "adjustments",
        ("claim_payment_id", "service_line_id"),
        "service_lines",
        ("claim_payment_id", "id"),
        "CASCADE",
    ),
    Key(
        "fk_adjustments_claim_level_payment_id_claim_payments",
        "adjustments",
        ("claim_level_payment_id",),
        "claim_payments",
        ("id",),
        "CASCADE",
    ),
)


def _drop_triggers(key: Key) -> None:
    for table, suffix in (
        (key.parent, "moved"),
        (key.parent, "gone"),
        (key.child, "set"),
        (key.child, "new"),
    ):
        op.execute(f"DROP TRIGGER {key.name}_{suffix} ON {table}")
        op.execute(f"DROP FUNCTION {key.name}_{suffix}()")


def _violation(key: Key, detail: str) -> str:
    return (
        "RAISE foreign_key_violation USING "
        f"MESSAGE = 'insert or update on table \"{key.child}\" violates foreign key "
        f"constraint \"{key.name}\"', DETAIL = {detail}, "
        f"SCHEMA = TG_TABLE_SCHEMA, TABLE = '{key.child}', CONSTRAINT = '{key.name}';"
    )


def _statements(key: Key) -> list[str]:
    columns = ", ".join(key.columns)
    parent_columns = ", ".join(key.parent_columns)
    new_key = ", ".join(f"NEW.{c}" for c in key.columns)
    old_key = ", ".join(f"OLD.{c}" for c in key.columns)
    old_parent = ", ".join(f"OLD.{p}" for p in key.parent_columns)
    new_parent = ", ".join(f"NEW.{p}" for p in key.parent_columns)
    same_key = " AND ".join(f"p.{p} = OLD.{p}" for p in key.parent_columns)
    if key.on_delete == "CASCADE":
        action = f"DELETE FROM ONLY {key.child} c"
    else:
        action = f"UPDATE ONLY {key.child} c SET " + ", ".join(f"{c} = NULL" for c in key.columns)
    return [
        f"""CREATE FUNCTION {key.name}_new() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    found bigint;
    detail text;
BEGIN
    WITH keys AS (SELECT DISTINCT {columns} FROM new_rows k WHERE {key.complete("k")})
    SELECT count(*), count(l.one) INTO wanted, found
    FROM keys k LEFT JOIN LATERAL (
        SELECT 1 AS one FROM ONLY {key.parent} p WHERE {key.pairs("k", "p")}
        FOR KEY SHARE OF p
    ) l ON true;
    IF found < wanted THEN
        SELECT {key.shown("k")} INTO detail FROM new_rows k
        WHERE {key.complete("k")} AND NOT EXISTS (
            SELECT FROM ONLY {key.parent} p WHERE {key.pairs("k", "p")}
        )
        LIMIT 1;
        {_violation(key, "detail")}
    END IF;
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {key.name}_new AFTER INSERT ON {key.child} "
        f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {key.name}_new()",
        f"""CREATE FUNCTION {key.name}_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {key.complete("NEW")} THEN
        PERFORM FROM ONLY {key.parent} p WHERE {key.pairs("NEW", "p")} FOR KEY SHARE OF p;
        IF NOT FOUND THEN
            {_violation(key, key.shown("NEW"))}
        END IF;
    END IF;
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {key.name}_set AFTER UPDATE OF {columns} ON {key.child} FOR EACH ROW "
        f"WHEN (ROW({new_key}) IS DISTINCT FROM ROW({old_key})) "
        f"EXECUTE FUNCTION {key.name}_set()",
        f"""CREATE FUNCTION {key.name}_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE '{action} WHERE ({", ".join(f"c.{c}" for c in key.columns)}) IN '
        '(SELECT {parent_columns} FROM old_rows)';
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {key.name}_gone AFTER DELETE ON {key.parent} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {key.name}_gone()",
        f"""CREATE FUNCTION {key.name}_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM ONLY {key.child} c WHERE {key.pairs("c", "OLD")})
       AND NOT EXISTS (SELECT FROM ONLY {key.parent} p WHERE {same_key}) THEN
        RAISE foreign_key_violation USING
            MESSAGE = 'update or delete on table "{key.parent}" violates foreign key '
                'constraint "{key.name}" on table "{key.child}"',
            DETAIL = format('Key ({parent_columns})=(%s) is still referenced from table '
                '"{key.child}".', concat_ws(', ', {old_parent})),
            SCHEMA = TG_TABLE_SCHEMA, TABLE = '{key.parent}', CONSTRAINT = '{key.name}';
    END IF;
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {key.name}_moved AFTER UPDATE OF {parent_columns} ON {key.parent} "
        f"FOR EACH ROW WHEN (ROW({old_parent}) IS DISTINCT FROM ROW({new_parent})) "
        f"EXECUTE FUNCTION {key.name}_moved()",
    ]
