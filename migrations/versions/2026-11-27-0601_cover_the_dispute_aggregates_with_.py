"""cover the dispute aggregates with partial indexes

The packet list, a packet's page and the dashboard sum disputable results; with
these partial covering indexes PostgreSQL reads only the rows counted, from the index
(index-only scans), instead of every result (benchmarks/queries.py, RESULTS.md
"Queries"). Their predicates are written as app/disputes/repository.py writes its
conditions, so the planner can prove them.

Revision ID: 7448cda1537d
Revises: 5e2c0b7d91a4
Create Date: 2026-11-27 06:01:34.013257
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7448cda1537d"
down_revision: str | None = "5e2c0b7d91a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_pricing_results_disputable",
        "pricing_results",
        ["practice_key", "packet_payer_id", "packet_payer_name"],
        unique=False,
        postgresql_include=[
            "category",
            "status",
            "payment_date",
            "dispute_deadline",
            "variance_amount",
            "recovered_amount",
        ],
        postgresql_where=sa.text("disputable IS true"),
        sqlite_where=sa.text("disputable IS 1"),
    )
    op.create_index(
        "ix_pricing_results_open_by_deadline",
        "pricing_results",
        ["dispute_deadline", "practice_key", "packet_payer_id"],
        unique=False,
        postgresql_include=["category", "variance_amount", "packet_payer_name"],
        postgresql_where=sa.text("disputable IS true AND status = 'open'"),
        sqlite_where=sa.text("disputable IS 1 AND status = 'open'"),
    )
    op.create_index(
        "ix_pricing_results_overpaid_denied",
        "pricing_results",
        ["category", "practice_key"],
        unique=False,
        postgresql_include=["variance_amount"],
        postgresql_where=sa.text("category IN ('overpaid', 'denied')"),
        sqlite_where=sa.text("category IN ('overpaid', 'denied')"),
    )
    op.create_index(
        "ix_pricing_results_sub_tolerance",
        "pricing_results",
        ["packet_payer_id", "payer_id", "procedure_code"],
        unique=False,
        postgresql_include=["packet_payer_name", "variance_amount", "practice_key"],
        postgresql_where=sa.text("category = 'matched' AND variance_amount <> 0"),
        sqlite_where=sa.text("category = 'matched' AND variance_amount <> 0"),
    )


def downgrade() -> None:
    for name in (
        "ix_pricing_results_sub_tolerance",
        "ix_pricing_results_overpaid_denied",
        "ix_pricing_results_open_by_deadline",
        "ix_pricing_results_disputable",
    ):
        op.drop_index(name, table_name="pricing_results")
