"""Shapes of the dispute workflow (spec/disputes.md, spec/interfaces.md "Packet").

``Packet`` is the public JSON object of interfaces.md (field names are a contract:
add, never rename). The ``Letter*`` dataclasses are what the exports render: they
hold plain values so the PDF, XLSX and CSV writers stay free of the database.
Money is a string with two decimals in the JSON shapes and ``Decimal`` elsewhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, NamedTuple

from pydantic import BaseModel

from app.contracts.schemas import Letterhead
from app.reconciliation.schemas import PricingResultRead

# repricing.md §5: the categories a practice disputes (the rest never enter a packet)
DISPUTABLE_CATEGORIES: tuple[str, ...] = (
    "code_changed",
    "bundled_incorrectly",
    "units_reduced",
    "exempt_reduced",
    "mpr_overapplied",
    "bilateral_underpaid",
    "fee_schedule_underpaid",
)

# what a billing manager calls each category in a letter
CATEGORY_LABELS: dict[str, str] = {
    "fee_schedule_underpaid": "Paid below the contracted fee schedule",
    "code_changed": "Procedure code changed by the payer",
    "units_reduced": "Billed units reduced",
    "mpr_overapplied": "Multiple-procedure reduction over-applied",
    "exempt_reduced": "Multiple-procedure reduction applied to an exempt code",
    "bilateral_underpaid": "Bilateral procedure underpaid",
    "bundled_incorrectly": "Denied as bundled, separately payable under the contract",
}

# contracts.md "Clauses": which clause a letter cites for each category
CATEGORY_CLAUSE: dict[str, str] = {
    "fee_schedule_underpaid": "fee_schedule",
    "code_changed": "fee_schedule",
    "units_reduced": "fee_schedule",
    "mpr_overapplied": "multiple_procedure_reduction",
    "exempt_reduced": "multiple_procedure_reduction",
    "bilateral_underpaid": "bilateral",
    "bundled_incorrectly": "bundling",
}

# fixed namespace of open-packet ids: uuid5(namespace, "open:{practice}:{payer}") keeps a
# link to a practice's open packet for a payer working while its lines come and go
OPEN_PACKET_NAMESPACE = uuid.UUID("5d0c4c8e-2f51-4f7a-9a57-0d5b1c2e6a10")

# a filed packet with lines still disputed this long after filing needs a follow-up
FOLLOW_UP_DAYS = 30

Outcome = Literal["recovered", "upheld", "written_off"]
PacketFormat = Literal["json", "pdf", "xlsx", "csv"]
BundleFormat = Literal["zip", "csv", "xlsx"]
PacketStatus = Literal["open", "filed", "closed"]


def open_packet_id(practice_key: str, payer_id: str) -> uuid.UUID:
    """The stable id of the open packet of a (practice, payer)."""
    return uuid.uuid5(OPEN_PACKET_NAMESPACE, f"open:{practice_key}:{payer_id}")


class Packet(BaseModel):
    """A dispute packet, open (computed) or filed (stored, frozen). The list answer
    leaves ``items`` null; ``recovered`` and ``disputed_lines`` follow the lines'
    current status, everything else of a filed packet is as filed."""

    id: str
    payer_id: str
    payer_name: str | None
    practice_npi: str
    lines: int
    total: str
    earliest_deadline: date | None
    urgent: bool
    status: PacketStatus
    filed_at: datetime | None
    follow_up_due: bool
    by_category: dict[str, str]
    items: list[PricingResultRead] | None = None
    next_cursor: str | None = None
    filed_date: date | None = None
    filed_by: str | None = None
    open_packet_id: str
    disputed_lines: int = 0
    recovered: str = "0.00"


class ExpiredSummary(BaseModel):
    lines: int
    total: str


class PacketList(BaseModel):
    """``GET /v1/disputes``: packet summaries (no items) and the expired total. The
    first page holds every open packet and the first filed ones; ``next_cursor`` (None
    on the last page) pages on through the filed packets."""

    as_of: date
    packets: list[Packet]
    expired: ExpiredSummary
    next_cursor: str | None = None


class ResultPage(BaseModel):
    """A page of pricing results (``GET /v1/disputes/expired``); ``lines`` and
    ``total`` describe every result of the list, not just this page."""

    items: list[PricingResultRead]
    next_cursor: str | None
    lines: int
    total: str


class PayerRecovery(BaseModel):
    payer_id: str
    payer_name: str | None
    lines: int
    disputed: str  # the variances of those lines
    recovered: str


# --------------------------------------------------------------------------- reports


class AmountRow(BaseModel):
    key: str
    label: str
    lines: int
    amount: str


class OverpaymentReport(BaseModel):
    """``overpaid`` results: the practice may owe refunds. ``total`` is the amount
    overpaid (a positive number: −variance)."""

    lines: int
    total: str
    by_payer: list[AmountRow]
    items: list[PricingResultRead]


class DenialGroup(BaseModel):
    carc: str  # the line's CARCs as on the 835, e.g. "CO-97" or "CO-16, PR-96"
    lines: int
    charge: str
    items: list[PricingResultRead]


class DenialReport(BaseModel):
    lines: int
    charge: str
    groups: list[DenialGroup]


class SubTolerancePattern(BaseModel):
    """Matched lines whose variance is not zero, per payer and billed code. ``flagged``
    when ``PATTERN_MIN_LINES`` or more of them are on the same side of zero."""

    payer_id: str
    payer_name: str | None
    procedure: str
    lines: int
    underpaid_lines: int
    overpaid_lines: int
    total: str
    flagged: bool
    direction: Literal["underpaid", "overpaid"] | None


class PipelineStage(BaseModel):
    lines: int
    amount: str


class Pipeline(BaseModel):
    """Where the disputable money is: ``open`` (still within its window), ``disputed``
    (filed), ``recovered`` (amounts paid back), ``upheld`` and ``written_off`` (given
    up), ``expired`` (lost to the window)."""

    open: PipelineStage
    disputed: PipelineStage
    recovered: PipelineStage
    upheld: PipelineStage
    written_off: PipelineStage
    expired: PipelineStage


class ExpiringRow(BaseModel):
    packet_id: str
    payer_id: str
    payer_name: str | None
    practice_npi: str
    deadline: date | None
    days_left: int | None
    lines: int
    amount: str


class Dashboard(BaseModel):
    as_of: date
    underpaid_total: str
    underpaid_by_payer: list[AmountRow]
    underpaid_by_category: list[AmountRow]
    underpaid_by_month: list[AmountRow]  # key "YYYY-MM" of the payment date
    pipeline: Pipeline
    expiring_next: list[ExpiringRow]
    expiring_within_30_days: str
    overpaid_total: str
    denied_lines: int
    sub_tolerance_flags: int


# --------------------------------------------------------------------------- letters


@dataclass(slots=True, frozen=True)
class Addressee:
    """Who a letter is to: the contract's payer (name, address), else the 835's N1*PR."""

    name: str
    address_lines: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class ContractCitation:
    """A contract a packet's lines were priced under, with the clause per category
    present. A missing clause is cited as the contract's name and date."""

    contract_id: str
    name: str
    effective_from: date | None
    effective_to: date | None
    clauses: dict[str, str] = field(default_factory=dict)  # category → clause text
    dispute_window: str = ""


@dataclass(slots=True, frozen=True)
class ContextLine:
    """Another result of a claim in the packet, shown beside its lines and not netted
    (disputes.md: an overpaid line of the same claim)."""

    claim_payment_id: str
    procedure: str
    service_date: date | None
    variance: Decimal
    category: str


@dataclass(slots=True, frozen=True)
class PacketDocument:
    """Everything an export renders: the packet, its lines in order, and the letter's
    parties and citations. ``letter_date`` is the filing date of a filed packet (so its
    export never changes), else the ``as_of`` date."""

    packet: Packet
    items: list[PricingResultRead]
    claim_payment_ids: list[str]  # one per item, to group lines by claim payment
    letterhead: Letterhead
    addressee: Addressee
    citations: list[ContractCitation]
    letter_date: date
    context: list[ContextLine] = field(default_factory=list)
    stamp: datetime | None = None  # document metadata time (filed_at, else midnight of as_of)


class Export(NamedTuple):
    """An export's bytes, media type and file name (a tuple, so it unpacks)."""

    content: bytes
    media_type: str
    filename: str
