"""index payment dates with the deadline order

``ix_pricing_results_payment_date`` held the payment date alone. The variance list
filtered by a payment-date range walked the deadline order past every earlier
payment's results, or read the whole range and sorted it: at 1,000,000 lines a
9-month range took 156–384 ms. With (payment_date, dispute_deadline, id) each day's
results come in deadline order, and PostgreSQL reads a page day by day
(``repository.page_variances_by_day``): ~40 ms for the same range.

Revision ID: d1f7b3c5a9e2
Revises: c9e5a1b3d7f2
Create Date: 2026-11-27 19:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d1f7b3c5a9e2"
down_revision: str | None = "c9e5a1b3d7f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_pricing_results_payment_date"


def upgrade() -> None:
    op.drop_index(INDEX, table_name="pricing_results")
    op.create_index(INDEX, "pricing_results", ["payment_date", "dispute_deadline", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="pricing_results")
    op.create_index(INDEX, "pricing_results", ["payment_date"])
