"""The whole data model, in one module so imports stay acyclic (STYLE.md).

Identifiers are UUIDs made by the application (``new_id``), so the ingest path can
write parents and children in bulk without asking the database for generated keys.
Money columns are ``*_amount`` ``NUMERIC(12, 2)`` (``Money``); dates end in ``_date``;
timestamps end in ``_at`` and carry a time zone.

CAS triples (claim adjustments) live in the row they belong to: ``adjustments`` of a
claim payment holds its claim-level CAS, that of a service line the line's own, each a
JSON array in file order of ``[group_code, reason_code, amount, quantity]`` — the codes
cut to 2 and 5 characters, ``amount`` the text of the value as a ``Money`` column
stores it (half-up to cents: ``"12.00"``, ``"-3.50"``), ``quantity`` the text of the
value to 0.001 half-up as a ``Quantity`` column stores it (``"2.000"``), or null.
Texts, not JSON numbers, so no reader ever sees a float. Nothing queries a CAS on its
own: re-pricing and the file detail read them with their claim and lines, and they go
with their row when it is deleted. As a table of their own (one row per CAS, ~46,000
for a 10,000-claim file) they cost PostgreSQL ~0.2 s of its ~1.05 s of COPY work for
such a file (heap rows, primary key, index, two per-statement parent checks) and the
reading process ~2 µs per CAS (migration ``2026-11-27-1500``).

Tables, by domain:

- intake: ``era_files`` (raw bytes and hash) → ``remittances`` (one per ST/SE) →
  ``claim_payments`` (2100) → ``service_lines`` (2110), each with its CAS (above);
  ``provider_adjustments`` (PLB).
- contracts: ``contract_versions`` → ``fee_schedule_rows``.
- repricing: ``pricing_results`` (one per service line).
- dashboard: ``dispute_totals`` (sums of the disputable results, kept by triggers).
- disputes: ``dispute_packets`` (filed packets) → ``dispute_packet_items`` (frozen
  lines); ``result_events`` (status history of each result).
- access: ``api_keys``, ``audit_log``, ``idempotency_records``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base
from app.db.types import JSONDoc, Money, Quantity, UTCDateTime


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utcnow() -> datetime:
    return datetime.now(UTC)


# On PostgreSQL these foreign keys are kept by triggers that check a statement's rows
# all at once (migration a7c3e9f1d2b4: one small query per inserted row cost about a
# quarter of the server's CPU for a large file); SQLite keeps them as foreign keys.
# The models declare them as foreign keys either way (the ORM and SQLite use them);
# the migrations' drift check leaves them out on PostgreSQL.
PER_STATEMENT_FOREIGN_KEYS = frozenset(
    {
        "fk_claim_payments_remittance_id_remittances",
        "fk_service_lines_claim_payment_id_claim_payments",
        "fk_pricing_results_service_line_id_service_lines",
        "fk_pricing_results_contract_version_id_contract_versions",
    }
)


# --------------------------------------------------------------------------- intake


class EraFile(Base):
    """One uploaded 835 file, kept byte for byte. ``content_hash`` (SHA-256) makes a
    second upload of the same bytes a duplicate (repricing.md §7)."""

    __tablename__ = "era_files"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # loaded only when read (validation): a file's summary or listing never needs
    # the bytes, and a 45 MB file would otherwise be read back after every ingest
    raw_bytes: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # processed | duplicate (kept only as a pointer to the original's summary)
    status: Mapped[str] = mapped_column(String(20), default="processed")
    claims_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicates_count: Mapped[int] = mapped_column(Integer, default=0)
    lines_count: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    # pyx12's full implementation-guide validation: not_needed | pending | done | failed
    validation_status: Mapped[str] = mapped_column(String(20), default="pending")
    validation_findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploaded_by_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # payee NPI (else TIN) of every remittance in the file, for practice-scoped access
    practice_keys: Mapped[list[str]] = mapped_column(JSONDoc, default=list)

    remittances: Mapped[list[Remittance]] = relationship(
        back_populates="file", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_era_files_received_at", "received_at"),)


class Remittance(Base):
    """One 835 transaction set (ST/SE): one payment from one payer to one payee."""

    __tablename__ = "remittances"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("era_files.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # order of the ST in the file
    control_number: Mapped[str | None] = mapped_column(String(20))  # ST02
    version: Mapped[str | None] = mapped_column(String(20))  # GS08
    handling_code: Mapped[str | None] = mapped_column(String(2))  # BPR01
    payment_amount: Mapped[Decimal] = mapped_column(Money)  # BPR02
    credit_debit: Mapped[str | None] = mapped_column(String(1))  # BPR03
    payment_method: Mapped[str | None] = mapped_column(String(3))  # BPR04
    payment_date: Mapped[date | None] = mapped_column(Date)  # BPR16, else DTM*405
    production_date: Mapped[date | None] = mapped_column(Date)  # DTM*405
    trace_number: Mapped[str | None] = mapped_column(String(50))  # TRN02
    trace_originator: Mapped[str | None] = mapped_column(String(20))  # TRN03
    # payer_id = REF*2U, else N1*PR N104, else TRN03 (repricing.md "Where results appear")
    payer_id: Mapped[str | None] = mapped_column(String(80))
    payer_name: Mapped[str | None] = mapped_column(String(120))  # N1*PR N102
    payer_identifiers: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    payer_address: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)  # N3/N4
    payee_name: Mapped[str | None] = mapped_column(String(120))  # N1*PE N102
    payee_npi: Mapped[str | None] = mapped_column(String(20))  # N1*PE N104, N103=XX
    payee_tin: Mapped[str | None] = mapped_column(String(20))  # N103=FI or REF*TJ
    payee_address: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    # payee NPI, else TIN: the practice a packet belongs to (disputes.md)
    practice_key: Mapped[str | None] = mapped_column(String(20), index=True)
    claims_count: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)

    file: Mapped[EraFile] = relationship(back_populates="remittances", lazy="raise")

    __table_args__ = (
        Index("ix_remittances_payer_trace", "payer_id", "trace_number"),
        Index("ix_remittances_payment_date", "payment_date"),
    )


class ClaimPayment(Base):
    """Loop 2100 (CLP). ``identity`` is the duplicate key of repricing.md §7: payer id,
    TRN02, CLP01, CLP07, CLP02, CLP04. ``adjustments``: its claim-level CAS (see the
    module's text)."""

    __tablename__ = "claim_payments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    remittance_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("remittances.id", ondelete="CASCADE"), index=True
    )
    # the remittance's file, copied for look-ups by file; no foreign key of its own
    # (checked per row on every ingest): the remittance's cascades already cover it
    file_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    position: Mapped[int] = mapped_column(Integer)  # order in the transaction
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    claim_id: Mapped[str] = mapped_column(String(50))  # CLP01 patient control number
    status_code: Mapped[str] = mapped_column(String(2))  # CLP02
    charge_amount: Mapped[Decimal] = mapped_column(Money)  # CLP03
    paid_amount: Mapped[Decimal] = mapped_column(Money)  # CLP04
    patient_responsibility_amount: Mapped[Decimal | None] = mapped_column(Money)  # CLP05
    filing_indicator: Mapped[str | None] = mapped_column(String(2))  # CLP06
    payer_claim_number: Mapped[str | None] = mapped_column(String(50))  # CLP07
    place_of_service: Mapped[str | None] = mapped_column(String(4))  # CLP08
    frequency_code: Mapped[str | None] = mapped_column(String(2))  # CLP09
    patient_name: Mapped[str | None] = mapped_column(String(160))  # NM1*QC
    patient_member_id: Mapped[str | None] = mapped_column(String(80))  # NM1*QC NM109
    insured_name: Mapped[str | None] = mapped_column(String(160))  # NM1*IL
    insured_member_id: Mapped[str | None] = mapped_column(String(80))  # NM1*IL NM109
    statement_from_date: Mapped[date | None] = mapped_column(Date)  # DTM*232
    statement_to_date: Mapped[date | None] = mapped_column(Date)  # DTM*233
    remark_codes: Mapped[list[str]] = mapped_column(JSONDoc, default=list)  # MOA/MIA
    # claim-level CAS: [[group, reason, amount, quantity], ...] as texts, file order
    adjustments: Mapped[list[list[str | None]]] = mapped_column(
        JSONDoc, default=list, server_default=text("'[]'")
    )
    # denormalised for the queries of the variance and dispute lists
    payer_id: Mapped[str | None] = mapped_column(String(80))
    practice_key: Mapped[str | None] = mapped_column(String(20))
    payment_date: Mapped[date | None] = mapped_column(Date)
    # reversals (repricing.md §6): a CLP02=22 payment points at what it reverses
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("claim_payments.id", ondelete="SET NULL")
    )
    reversed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("claim_payments.id", ondelete="SET NULL")
    )

    __table_args__ = (
        # reversal matching and recovery look claims up by CLP01 among the payer's
        # (repository.related_claims, stored_claims): without it every ingest batch
        # scans all the payer's stored claims
        Index("ix_claim_payments_claim_id", "claim_id", "payer_id"),
    )


class ServiceLine(Base):
    """Loop 2110 (SVC) with its dates, REF*6R, AMT*B6, LQ remarks and CAS
    (``adjustments``: see the module's text)."""

    __tablename__ = "service_lines"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    # indexed by the unique (claim_payment_id, id) below
    claim_payment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("claim_payments.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)  # order on the claim
    procedure_qualifier: Mapped[str | None] = mapped_column(String(4))  # SVC01-1
    procedure_code: Mapped[str | None] = mapped_column(String(48))  # SVC01-2
    modifiers: Mapped[list[str]] = mapped_column(JSONDoc, default=list)  # SVC01-3..6
    charge_amount: Mapped[Decimal] = mapped_column(Money)  # SVC02
    paid_amount: Mapped[Decimal] = mapped_column(Money)  # SVC03
    revenue_code: Mapped[str | None] = mapped_column(String(48))  # SVC04
    units: Mapped[Decimal | None] = mapped_column(Quantity)  # SVC05
    original_qualifier: Mapped[str | None] = mapped_column(String(4))  # SVC06-1
    original_procedure_code: Mapped[str | None] = mapped_column(String(48))  # SVC06-2
    original_modifiers: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    original_units: Mapped[Decimal | None] = mapped_column(Quantity)  # SVC07
    service_date: Mapped[date | None] = mapped_column(Date)  # DTM*472 / DTM*150
    service_end_date: Mapped[date | None] = mapped_column(Date)  # DTM*151
    line_control_number: Mapped[str | None] = mapped_column(String(50))  # REF*6R
    allowed_amount: Mapped[Decimal | None] = mapped_column(Money)  # AMT*B6
    remark_codes: Mapped[list[str]] = mapped_column(JSONDoc, default=list)  # LQ02
    # the line's CAS: [[group, reason, amount, quantity], ...] as texts, file order
    adjustments: Mapped[list[list[str | None]]] = mapped_column(
        JSONDoc, default=list, server_default=text("'[]'")
    )

    __table_args__ = (
        # a line's claim payment and its lines (file detail, deleting a file, the
        # cascade from a claim payment)
        UniqueConstraint("claim_payment_id", "id"),
    )


class ProviderAdjustment(Base):
    """One PLB adjustment (reason code, reference and amount pair)."""

    __tablename__ = "provider_adjustments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    remittance_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("remittances.id", ondelete="CASCADE"), index=True
    )
    provider_id: Mapped[str | None] = mapped_column(String(50))  # PLB01
    fiscal_period_date: Mapped[date | None] = mapped_column(Date)  # PLB02
    reason_code: Mapped[str] = mapped_column(String(4))  # PLB03-1
    reference_id: Mapped[str | None] = mapped_column(String(80))  # PLB03-2
    amount: Mapped[Decimal] = mapped_column(Money)  # PLB04


# ------------------------------------------------------------------------ contracts


class ContractVersion(Base):
    """One stored version of a contract file. Loading the same id with other content
    adds a version; the highest version of an id is the one in force."""

    __tablename__ = "contract_versions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    contract_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    name: Mapped[str] = mapped_column(String(200))
    payer_name: Mapped[str] = mapped_column(String(120))
    payer_ids: Mapped[list[str]] = mapped_column(JSONDoc)
    practice_npi: Mapped[str | None] = mapped_column(String(20))
    practice_tin: Mapped[str | None] = mapped_column(String(20))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    content_hash: Mapped[str] = mapped_column(String(64))
    # the validated contract (schemas.Contract) without its fee rows, as JSON
    document: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    source_path: Mapped[str | None] = mapped_column(String(500))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("contract_id", "version"),
        Index("ix_contract_versions_current", "is_current", "contract_id"),
    )


class FeeScheduleRow(Base):
    """A row of a contract's fee schedule CSV. ``schedule`` is ``fee_schedule`` or
    ``percent_of`` (the referenced schedule of a percent-of contract)."""

    __tablename__ = "fee_schedule_rows"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    contract_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract_versions.id", ondelete="CASCADE"), index=True
    )
    schedule: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(5))
    modifier: Mapped[str] = mapped_column(String(2), default="")
    non_facility_amount: Mapped[Decimal] = mapped_column(Money)
    facility_amount: Mapped[Decimal | None] = mapped_column(Money)


# ------------------------------------------------------------------------ repricing


class PricingResult(Base):
    """The repricing of one service line (repricing.md): expected, actual, variance,
    category and explanation, plus the dispute status of the line (disputes.md)."""

    __tablename__ = "pricing_results"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    service_line_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_lines.id", ondelete="CASCADE"), unique=True
    )
    # the line's claim, remittance and file, copied for queries and packets without
    # joins; no foreign keys of their own (each checked per row on every ingest): the
    # service line's cascade covers them. Results are looked up by claim (reversals,
    # re-pricing, a packet's overpaid lines) and by file (its summary, deleting it);
    # by remittance only within a file, so that id has no index (each index costs
    # every ingested line an insert)
    claim_payment_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    remittance_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    file_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    # no index: nothing looks results up by contract version, and contract versions
    # are never deleted (deleting one by hand would read the table once for the SET
    # NULL)
    contract_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contract_versions.id", ondelete="SET NULL")
    )
    contract_id: Mapped[str | None] = mapped_column(String(80))
    payer_id: Mapped[str | None] = mapped_column(String(80))  # the remittance's payer id
    # packet payer: the contract's first payer id (else the remittance's) and name
    packet_payer_id: Mapped[str | None] = mapped_column(String(80))
    packet_payer_name: Mapped[str | None] = mapped_column(String(120))
    practice_key: Mapped[str | None] = mapped_column(String(20))
    payment_date: Mapped[date | None] = mapped_column(Date)
    service_date: Mapped[date | None] = mapped_column(Date)
    procedure_code: Mapped[str | None] = mapped_column(String(48))  # billed (SVC06 or SVC01)
    modifiers: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    units: Mapped[Decimal | None] = mapped_column(Quantity)
    base_amount: Mapped[Decimal | None] = mapped_column(Money)
    bundled_into: Mapped[str | None] = mapped_column(String(48))
    bilateral_percent: Mapped[Decimal | None] = mapped_column(Quantity)
    mpr_rank: Mapped[int | None] = mapped_column(Integer)
    mpr_percent: Mapped[Decimal | None] = mapped_column(Quantity)
    amount_before_mpr: Mapped[Decimal | None] = mapped_column(Money)
    expected_amount: Mapped[Decimal | None] = mapped_column(Money)  # expected_allowed
    actual_amount: Mapped[Decimal] = mapped_column(Money)  # actual_allowed
    variance_amount: Mapped[Decimal | None] = mapped_column(Money)
    category: Mapped[str] = mapped_column(String(30))
    disputable: Mapped[bool] = mapped_column(Boolean, default=False)
    payer_reduction_percent: Mapped[Decimal | None] = mapped_column(Quantity)
    clause: Mapped[str | None] = mapped_column(String(200))
    explanation: Mapped[str] = mapped_column(Text, default="")
    carc: Mapped[list[str]] = mapped_column(JSONDoc, default=list)  # "CO-59"
    rarc: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    dispute_deadline: Mapped[date | None] = mapped_column(Date)
    # open | disputed | recovered | upheld | written_off (expired is derived)
    status: Mapped[str] = mapped_column(String(20), default="open")
    recovered_amount: Mapped[Decimal | None] = mapped_column(Money)
    filed_packet_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dispute_packets.id", ondelete="SET NULL")
    )
    priced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Every index here costs each ingested line an insert (docs/scaling.md "Indexes of
    # the results"): each one serves a query named beside it.
    __table_args__ = (
        # the variance list filtered by a category (a rare one is found here rather
        # than by reading the deadline order until enough match)
        Index("ix_pricing_results_category_status", "category", "status", "dispute_deadline"),
        # the variance list filtered by payment dates: on PostgreSQL read day by day,
        # each day's results in deadline order (repository.page_variances_by_day);
        # elsewhere the range counted, and read when small
        Index("ix_pricing_results_payment_date", "payment_date", "dispute_deadline", "id"),
        # the variance list's order (earliest deadline first, undated last): a page is
        # read off this index instead of sorting every result (reconciliation
        # repository.page_variances)
        Index("ix_pricing_results_deadline_order", "dispute_deadline", "id"),
        # the SET NULL of a deleted packet; only results in a filed packet have one,
        # so ingest (which writes none) adds no entry
        Index(
            "ix_pricing_results_filed_packet_id",
            "filed_packet_id",
            postgresql_where=text("filed_packet_id IS NOT NULL"),
            sqlite_where=text("filed_packet_id IS NOT NULL"),
        ),
        # partial covering indexes: the dispute aggregates (app/disputes/repository.py)
        # are index-only scans of the rows they count, not passes over every result.
        # Each predicate is written as the queries write it, so PostgreSQL proves it.
        # Open disputable results by deadline: the open packets (on or after as_of,
        # undated) and one packet's lines, the expired lines (before), the next
        # deadlines.
        Index(
            "ix_pricing_results_open_by_deadline",
            "dispute_deadline",
            "practice_key",
            "packet_payer_id",
            postgresql_include=["category", "variance_amount", "packet_payer_name"],
            postgresql_where=text("disputable IS true AND status = 'open'"),
            sqlite_where=text("disputable IS 1 AND status = 'open'"),
        ),
        # The dashboard's overpaid total and denied count.
        Index(
            "ix_pricing_results_overpaid_denied",
            "category",
            "practice_key",
            postgresql_include=["variance_amount"],
            postgresql_where=text("category IN ('overpaid', 'denied')"),
            sqlite_where=text("category IN ('overpaid', 'denied')"),
        ),
        # Matched lines that still differ (within tolerance): the sub-tolerance report.
        Index(
            "ix_pricing_results_sub_tolerance",
            "packet_payer_id",
            "payer_id",
            "procedure_code",
            postgresql_include=["packet_payer_name", "variance_amount", "practice_key"],
            postgresql_where=text("category = 'matched' AND variance_amount <> 0"),
            sqlite_where=text("category = 'matched' AND variance_amount <> 0"),
        ),
    )


# ------------------------------------------------------------------------- disputes


class DisputePacket(Base):
    """A filed packet: its lines and totals frozen at filing (disputes.md). Open
    packets are computed, not stored; their id derives from practice and payer."""

    __tablename__ = "dispute_packets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    practice_key: Mapped[str] = mapped_column(String(20))
    payer_id: Mapped[str] = mapped_column(String(80))
    payer_name: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="filed")  # filed | closed
    filed_date: Mapped[date] = mapped_column(Date)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    filed_by_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    filed_by_name: Mapped[str | None] = mapped_column(String(120))
    lines_count: Mapped[int] = mapped_column(Integer)
    total_amount: Mapped[Decimal] = mapped_column(Money)
    by_category: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    earliest_deadline: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_dispute_packets_practice_payer", "practice_key", "payer_id"),)


class DisputePacketItem(Base):
    """One frozen line of a filed packet: the PricingResult as it was at filing."""

    __tablename__ = "dispute_packet_items"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    packet_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dispute_packets.id", ondelete="CASCADE"), index=True
    )
    pricing_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pricing_results.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    variance_amount: Mapped[Decimal] = mapped_column(Money)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONDoc)


class DisputeTotals(Base):
    """Sums of the disputable results (``disputable`` true, with a practice and a packet
    payer) per practice, packet payer and name, category, month of payment, status and
    (open results only) month of the dispute deadline:
    the dashboard reads these few thousand rows instead of summing every result
    (docs/scaling.md "Dispute totals").

    Written only by database triggers on ``pricing_results`` (migration
    ``2026-11-28-0900``), so every path that changes a result — ingest's COPY and bulk
    inserts, repricing, reversals, the dispute lifecycle, deleting a file — keeps them
    equal to the live aggregate. On PostgreSQL a row is a delta (a statement trigger
    appends one row per key it changed, so concurrent ingests never wait on a shared
    row) and a key's totals are the sum of its rows; ``dispute_totals_compact()`` folds
    them now and then. On SQLite (one writer at a time) row triggers keep one row per
    key. Amounts are integer cents: SQLite's NUMERIC is a float, and running sums of
    floats would drift."""

    __tablename__ = "dispute_totals"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    practice_key: Mapped[str] = mapped_column(String(20))
    packet_payer_id: Mapped[str] = mapped_column(String(80))
    packet_payer_name: Mapped[str | None] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(30))
    payment_month: Mapped[date | None] = mapped_column(Date)  # first day; None: undated
    status: Mapped[str] = mapped_column(String(20))  # the stored status (never expired)
    # open results only: the first day of the dispute deadline's month (None: undated);
    # the expired ones are then whole months of these plus one month's days
    deadline_month: Mapped[date | None] = mapped_column(Date)
    lines: Mapped[int] = mapped_column(BigInteger)
    variance_cents: Mapped[int] = mapped_column(BigInteger)
    recovered_cents: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        # SQLite's row triggers find a key's row through it; PostgreSQL's reads and
        # folds are whole-table passes, the practice scope a range of it
        Index(
            "ix_dispute_totals_key",
            "practice_key",
            "packet_payer_id",
            "category",
            "status",
            "payment_month",
            "packet_payer_name",
            "deadline_month",
        ),
    )


class ResultEvent(Base):
    """Status history of a pricing result: who changed what, when (audit trail)."""

    __tablename__ = "result_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    pricing_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pricing_results.id", ondelete="CASCADE"), index=True
    )
    packet_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dispute_packets.id", ondelete="SET NULL")
    )
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(Text)
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_name: Mapped[str | None] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --------------------------------------------------------------------------- access


class ApiKey(Base):
    """An API key. Only a keyed hash of the secret is stored; ``prefix`` (the public
    first characters) finds the row, the hash is compared in constant time."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))  # admin | finance | poster | clearinghouse
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    practices: Mapped[list[str]] = mapped_column(JSONDoc, default=list)  # empty = all
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who did or read what, when. Holds ids and counts, never PHI."""

    __tablename__ = "audit_log"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    actor_name: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)


class IdempotencyRecord(Base):
    """The first answer to a POST carrying an ``Idempotency-Key``, per API key."""

    __tablename__ = "idempotency_records"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("api_key_id", "idempotency_key"),)
