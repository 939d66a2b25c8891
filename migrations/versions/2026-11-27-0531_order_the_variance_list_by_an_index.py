"""order the variance list by an index

The variance list pages earliest dispute deadline first, undated last; with an index
on (dispute_deadline, id) PostgreSQL reads a page off it instead of sorting every
result (benchmarks/queries.py).

Revision ID: 45bb9f35aefc
Revises: e9c434752904
Create Date: 2026-11-27 05:31:49.256821
"""

from collections.abc import Sequence

from alembic import op

revision: str = "45bb9f35aefc"
down_revision: str | None = "e9c434752904"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_pricing_results_deadline_order",
        "pricing_results",
        ["dispute_deadline", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_pricing_results_deadline_order", table_name="pricing_results")
