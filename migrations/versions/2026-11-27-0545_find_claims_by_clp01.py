"""find claims by CLP01

Reversal matching looks up each ingest batch's claim payments by CLP01 (and payer);
the index on (payer_id, practice_key, claim_id, …) cannot serve that without the
practice, so every batch scanned all the payer's stored claims.

Revision ID: 5e2c0b7d91a4
Revises: 45bb9f35aefc
Create Date: 2026-11-27 05:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5e2c0b7d91a4"
down_revision: str | None = "45bb9f35aefc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_claim_payments_claim_id", "claim_payments", ["claim_id", "payer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_claim_payments_claim_id", table_name="claim_payments")
