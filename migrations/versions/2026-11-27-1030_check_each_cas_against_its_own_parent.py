"""check each CAS against its own parent

Every adjustment carried two foreign keys, to its claim payment and (a line's CAS) to
its line: PostgreSQL checked both per inserted row, ~0.15 s of its CPU per
10,000-claim file for the claim-payment check of line-level CAS alone, and neither
tied a line's CAS to the line's own claim payment.

Now each row is checked once, against the parent it belongs to, and more strictly:

- a line's CAS: (claim_payment_id, service_line_id) must be a stored line of that
  claim payment — a foreign key to the new unique (claim_payment_id, id) of
  ``service_lines``, which replaces the index on ``service_lines.claim_payment_id``;
  a foreign key skips a row whose key has a null, so claim-level CAS pass it;
- a claim-level CAS: ``claim_level_payment_id``, a stored generated column that
  holds the claim payment id when ``service_line_id`` is null (and null otherwise),
  must be a stored claim payment.

Both cascade on delete as before (a deleted line takes its CAS, a deleted claim
payment its lines and their CAS and its claim-level CAS). The cascade to a line's CAS
finds them through ``ix_adjustments_claim_payment_id``, so the index on
``adjustments.service_line_id`` goes; the one to claim-level CAS has a partial index
of the generated column. Adding the stored column rewrites ``adjustments``, and the
new foreign keys check the stored rows.

Revision ID: e5f9c2a3b7d4
Revises: d4e8b1f2a6c3
Create Date: 2026-11-27 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5f9c2a3b7d4"
down_revision: str | None = "d4e8b1f2a6c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIM_LEVEL_PAYMENT_ID = "CASE WHEN service_line_id IS NULL THEN claim_payment_id END"


def upgrade() -> None:
    with op.batch_alter_table("service_lines") as batch:
        batch.create_unique_constraint(
            "uq_service_lines_claim_payment_id_id", ["claim_payment_id", "id"]
        )
        batch.drop_index("ix_service_lines_claim_payment_id")
    with op.batch_alter_table("adjustments") as batch:
        batch.add_column(
            sa.Column(
                "claim_level_payment_id",
                sa.Uuid(),
                sa.Computed(CLAIM_LEVEL_PAYMENT_ID, persisted=True),
                nullable=True,
            )
        )
        batch.drop_constraint("fk_adjustments_claim_payment_id_claim_payments", type_="foreignkey")
        batch.drop_constraint("fk_adjustments_service_line_id_service_lines", type_="foreignkey")
        batch.drop_index("ix_adjustments_service_line_id")
        batch.create_foreign_key(
            "fk_adjustments_claim_payment_id_service_lines",
            "service_lines",
            ["claim_payment_id", "service_line_id"],
            ["claim_payment_id", "id"],
            ondelete="CASCADE",
        )
        batch.create_foreign_key(
            "fk_adjustments_claim_level_payment_id_claim_payments",
            "claim_payments",
            ["claim_level_payment_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(
            "ix_adjustments_claim_level_payment_id",
            ["claim_level_payment_id"],
            unique=False,
            postgresql_where=sa.text("claim_level_payment_id IS NOT NULL"),
            sqlite_where=sa.text("claim_level_payment_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("adjustments") as batch:
        batch.drop_index("ix_adjustments_claim_level_payment_id")
        batch.drop_constraint(
            "fk_adjustments_claim_level_payment_id_claim_payments", type_="foreignkey"
        )
        batch.drop_constraint("fk_adjustments_claim_payment_id_service_lines", type_="foreignkey")
        batch.create_index("ix_adjustments_service_line_id", ["service_line_id"], unique=False)
        batch.create_foreign_key(
            "fk_adjustments_service_line_id_service_lines",
            "service_lines",
            ["service_line_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_foreign_key(
            "fk_adjustments_claim_payment_id_claim_payments",
            "claim_payments",
            ["claim_payment_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.drop_column("claim_level_payment_id")
    with op.batch_alter_table("service_lines") as batch:
        batch.create_index("ix_service_lines_claim_payment_id", ["claim_payment_id"], unique=False)
        batch.drop_constraint("uq_service_lines_claim_payment_id_id", type_="unique")
