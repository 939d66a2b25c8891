"""check the parents of bulk-written rows once per statement (PostgreSQL)

A foreign key checks each inserted row on its own: PostgreSQL runs one small query
per row (executor start, an index probe, a row lock, executor end). The ingest of a
10,000-claim file inserts ~125,000 rows under the six foreign keys below, and those
checks were about a quarter of the server's CPU for the file.

On PostgreSQL these six are now kept by triggers that do the same work once per
statement, over all of its rows:

- insert into the child (statement level, its new rows as a transition table): the
  distinct non-null keys are looked up in the parent's unique index, each parent row
  locked ``FOR KEY SHARE`` as a foreign key locks it (so a parent cannot be deleted
  by another transaction before this one ends); a key without a parent raises
  ``foreign_key_violation`` (SQLSTATE 23503) with the message and detail PostgreSQL
  gives for a foreign key;
- update of the child's key columns (row level, only where the key changed): the
  same check for that row;
- delete from the parent (statement level, its deleted rows as a transition table):
  the children are deleted (``ON DELETE CASCADE``) or their key set to null (``ON
  DELETE SET NULL``), as before;
- update of the parent's key columns (row level, only where the key changed): refused
  while a child still refers to the old key (``NO ACTION``).

A key with a null in it is not checked (``MATCH SIMPLE``), as before. What a
foreign key did that these do not: refuse ``TRUNCATE`` of the parent alone (era-recon
never truncates these tables). SQLite keeps its foreign keys: it has no statement
triggers with transition tables, and each row's check is cheap there.

Revision ID: a7c3e9f1d2b4
Revises: e5f9c2a3b7d4
Create Date: 2026-11-27 14:00:00.000000
"""

from collections.abc import Sequence
from dataclasses import dataclass

from alembic import op

revision: str = "a7c3e9f1d2b4"
down_revision: str | None = "e5f9c2a3b7d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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


# the six foreign keys of the rows the ingest writes in bulk (their names as
# app.db.models.PER_STATEMENT_FOREIGN_KEYS lists them)
KEYS = (
    Key(
        "fk_claim_payments_remittance_id_remittances",
        "claim_payments",
        ("remittance_id",),
        "remittances",
        ("id",),
        "CASCADE",
    ),
    Key(
        "fk_service_lines_claim_payment_id_claim_payments",
        "service_lines",
        ("claim_payment_id",),
        "claim_payments",
        ("id",),
        "CASCADE",
    ),
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
    Key(
        "fk_pricing_results_service_line_id_service_lines",
        "pricing_results",
        ("service_line_id",),
        "service_lines",
        ("id",),
        "CASCADE",
    ),
    Key(
        "fk_pricing_results_contract_version_id_contract_versions",
        "pricing_results",
        ("contract_version_id",),
        "contract_versions",
        ("id",),
        "SET NULL",
    ),
)


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
        # inserted children: the distinct keys, each parent found by its unique index
        # (LATERAL: one probe per key, whatever the sizes) and locked as a foreign key
        # locks it; a key short of its parent is looked for only on failure
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
        # a child whose key changed: the same check, for that row
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
        # deleted parents: their children deleted, or their key set to null; planned
        # for each statement (EXECUTE), so a large delete joins and a small one probes
        # the child's index
        f"""CREATE FUNCTION {key.name}_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE '{action} WHERE ({", ".join(f"c.{c}" for c in key.columns)}) IN '
        '(SELECT {parent_columns} FROM old_rows)';
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {key.name}_gone AFTER DELETE ON {key.parent} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {key.name}_gone()",
        # a parent's key changed: refused while a child refers to the old one
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


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for key in KEYS:
        op.drop_constraint(key.name, key.child, type_="foreignkey")
        for statement in _statements(key):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for key in reversed(KEYS):
        for table, suffix in (
            (key.parent, "moved"),
            (key.parent, "gone"),
            (key.child, "set"),
            (key.child, "new"),
        ):
            op.execute(f"DROP TRIGGER {key.name}_{suffix} ON {table}")
            op.execute(f"DROP FUNCTION {key.name}_{suffix}()")
        op.create_foreign_key(
            key.name,
            key.child,
            key.parent,
            list(key.columns),
            list(key.parent_columns),
            ondelete=key.on_delete,
        )
