"""drop the indexes no query reads

Every index of ``pricing_results`` costs each ingested line an insert, and PostgreSQL
spent ~1.8 s of CPU storing a 10,000-claim file. Each index left serves a query
(docs/scaling.md "Indexes of the results"); these served none, or one another index
already serves:

- ``ix_pricing_results_disputable``: no longer read since ``dispute_totals`` holds
  the dashboard's sums;
- ``ix_pricing_results_packet``: a packet's lines are read from
  ``ix_pricing_results_open_by_deadline``, which the packet list reads already;
- ``ix_pricing_results_payer_category_status``: the variance list's payer filter
  (``payer_id`` or ``packet_payer_id``) cannot use it; it pages off the deadline order;
- ``ix_pricing_results_remittance_id``: a file's summary finds its results by file;
- ``ix_pricing_results_contract_version_id``: nothing looks results up by contract
  version, and contract versions are never deleted;
- ``ix_claim_payments_reversal_match``: reversal matching reads
  ``ix_claim_payments_claim_id`` since revision 5e2c0b7d91a4.

``ix_pricing_results_filed_packet_id`` becomes partial (``filed_packet_id IS NOT
NULL``): a deleted packet's SET NULL still finds its results, and ingest, which files
nothing, adds no entry.

Revision ID: d4e8b1f2a6c3
Revises: c3d1a7e05b92
Create Date: 2026-11-27 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4e8b1f2a6c3"
down_revision: str | None = "c3d1a7e05b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = (
    "ix_pricing_results_disputable",
    "ix_pricing_results_packet",
    "ix_pricing_results_payer_category_status",
    "ix_pricing_results_remittance_id",
    "ix_pricing_results_contract_version_id",
)


def upgrade() -> None:
    for name in DROPPED:
        op.drop_index(name, table_name="pricing_results")
    op.drop_index("ix_claim_payments_reversal_match", table_name="claim_payments")
    op.drop_index("ix_pricing_results_filed_packet_id", table_name="pricing_results")
    op.create_index(
        "ix_pricing_results_filed_packet_id",
        "pricing_results",
        ["filed_packet_id"],
        unique=False,
        postgresql_where=sa.text("filed_packet_id IS NOT NULL"),
        sqlite_where=sa.text("filed_packet_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_pricing_results_filed_packet_id", table_name="pricing_results")
    op.create_index(
        "ix_pricing_results_filed_packet_id", "pricing_results", ["filed_packet_id"], unique=False
    )
    op.create_index(
        "ix_claim_payments_reversal_match",
        "claim_payments",
        ["payer_id", "practice_key", "claim_id", "payer_claim_number"],
        unique=False,
    )
    op.create_index(
        "ix_pricing_results_contract_version_id",
        "pricing_results",
        ["contract_version_id"],
        unique=False,
    )
    op.create_index(
        "ix_pricing_results_remittance_id", "pricing_results", ["remittance_id"], unique=False
    )
    op.create_index(
        "ix_pricing_results_payer_category_status",
        "pricing_results",
        ["payer_id", "category", "status", "dispute_deadline"],
        unique=False,
    )
    op.create_index(
        "ix_pricing_results_packet",
        "pricing_results",
        ["disputable", "status", "practice_key", "packet_payer_id", "dispute_deadline"],
        unique=False,
    )
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
