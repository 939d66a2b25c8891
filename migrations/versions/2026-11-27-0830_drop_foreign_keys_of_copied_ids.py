"""drop the foreign keys of copied ids

``pricing_results.claim_payment_id``, ``remittance_id`` and ``file_id`` and
``claim_payments.file_id`` copy what the row's parent already links to (the service
line, the remittance). PostgreSQL checked each of them per inserted row — about
70,000 look-ups for a 10,000-claim file — for nothing the parent's foreign key and
cascade do not already guarantee. Their indexes stay.

Revision ID: 9b3f1c2d4e5a
Revises: 7448cda1537d
Create Date: 2026-11-27 08:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9b3f1c2d4e5a"
down_revision: str | None = "7448cda1537d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referred table)
COPIED = (
    ("pricing_results", "claim_payment_id", "claim_payments"),
    ("pricing_results", "remittance_id", "remittances"),
    ("pricing_results", "file_id", "era_files"),
    ("claim_payments", "file_id", "era_files"),
)


def upgrade() -> None:
    for table in ("pricing_results", "claim_payments"):
        with op.batch_alter_table(table) as batch:
            for name, column, referred in COPIED:
                if name == table:
                    batch.drop_constraint(f"fk_{name}_{column}_{referred}", type_="foreignkey")


def downgrade() -> None:
    for table in ("pricing_results", "claim_payments"):
        with op.batch_alter_table(table) as batch:
            for name, column, referred in COPIED:
                if name == table:
                    batch.create_foreign_key(
                        f"fk_{name}_{column}_{referred}",
                        referred,
                        [column],
                        ["id"],
                        ondelete="CASCADE",
                    )
