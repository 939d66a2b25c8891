"""Read models shared by the faces: the PricingResult JSON shape of
spec/interfaces.md (``variances --json``, ``GET /v1/variances``, packet items), and
the ingest shapes: ``FileResult`` (``ingest --json``), the File summary, list pages.

Field names are the public contract: add fields, never rename. Money is a string
with two decimals; dates are ISO strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from app.db.models import ClaimPayment, PricingResult, Remittance, ServiceLine
from app.db.types import plain_decimal, to_cents


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{to_cents(value):.2f}"


def percent(value: Decimal | None) -> str | None:
    return None if value is None else f"{to_cents(value):.2f}"


class PricingResultRead(BaseModel):
    id: str
    remittance_id: str
    file_id: str
    payer_id: str | None
    payer_name: str | None
    practice_npi: str | None
    claim_id: str
    payer_claim_number: str | None
    patient_name: str | None
    line_control_number: str | None
    service_date: date | None
    procedure: str | None
    modifiers: list[str]
    units: str | None
    billed_procedure: str | None
    charge: str
    paid: str
    actual_allowed: str
    expected_allowed: str | None
    variance: str | None
    category: str
    disputable: bool
    explanation: str
    payer_reduction_percent: str | None
    contract_id: str | None
    clause: str | None
    payment_date: date | None
    dispute_deadline: date | None
    status: str
    expired: bool
    recovered_amount: str | None
    carc: list[str]
    rarc: list[str]
    trace_number: str | None
    packet_payer_id: str | None
    filed_packet_id: str | None

    @classmethod
    def from_rows(
        cls,
        result: PricingResult,
        line: ServiceLine,
        claim: ClaimPayment,
        remittance: Remittance,
        *,
        as_of: date,
    ) -> PricingResultRead:
        """Build the public shape from a result and its line, claim and remittance.
        ``as_of`` decides ``expired`` (open and past its deadline)."""
        expired = (
            result.status == "open"
            and result.disputable
            and result.dispute_deadline is not None
            and result.dispute_deadline < as_of
        )
        return cls(
            id=str(result.id),
            remittance_id=str(result.remittance_id),
            file_id=str(result.file_id),
            payer_id=result.payer_id,
            payer_name=remittance.payer_name,
            practice_npi=remittance.payee_npi or remittance.practice_key,
            claim_id=claim.claim_id,
            payer_claim_number=claim.payer_claim_number,
            patient_name=claim.patient_name,
            line_control_number=line.line_control_number,
            service_date=result.service_date,
            procedure=line.procedure_code,
            modifiers=list(result.modifiers),
            units=None if result.units is None else str(plain_decimal(result.units)),
            billed_procedure=result.procedure_code,
            charge=f"{line.charge_amount:.2f}",
            paid=f"{line.paid_amount:.2f}",
            actual_allowed=f"{result.actual_amount:.2f}",
            expected_allowed=money(result.expected_amount),
            variance=money(result.variance_amount),
            category=result.category,
            disputable=result.disputable,
            explanation=result.explanation,
            payer_reduction_percent=percent(result.payer_reduction_percent),
            contract_id=result.contract_id,
            clause=result.clause,
            payment_date=result.payment_date,
            dispute_deadline=result.dispute_deadline,
            status=result.status,
            expired=expired,
            recovered_amount=money(result.recovered_amount),
            carc=list(result.carc),
            rarc=list(result.rarc),
            trace_number=remittance.trace_number,
            packet_payer_id=result.packet_payer_id,
            filed_packet_id=None if result.filed_packet_id is None else str(result.filed_packet_id),
        )


# ----------------------------------------------------------------------------- ingest

FileStatus = Literal["processed", "duplicate", "rejected"]


class PayerRef(BaseModel):
    id: str | None
    name: str | None


class PayeeRef(BaseModel):
    npi: str | None
    name: str | None


class PaymentRef(BaseModel):
    amount: str
    date: date | None
    trace: str | None


class RemittanceSummary(BaseModel):
    """One 835 transaction of a file, as the File summary of interfaces.md shows it."""

    id: str
    payer: PayerRef
    payee: PayeeRef
    payment: PaymentRef
    claims: int
    underpaid_total: str


class FileSummary(BaseModel):
    """The File summary of interfaces.md (answer to ``POST /v1/remittances`` and
    ``GET /v1/remittances/{id}``'s head). ``duplicate`` is true when the answer is the
    summary of the file first stored with the same content."""

    id: str
    duplicate: bool = False
    filename: str | None = None
    received_at: datetime | None = None
    claims: int
    duplicates: int
    lines: int
    underpaid_total: str
    categories: dict[str, str] = Field(default_factory=dict)
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    validation_status: str | None = None
    remittances: list[RemittanceSummary] = Field(default_factory=list)


class FileResult(BaseModel):
    """One item of ``ingest --json`` (interfaces.md): what became of one file.

    ``summary`` is the File summary of the stored file — for a duplicate, the
    original's (with ``duplicate`` true) when it can be found."""

    file: str | None
    status: FileStatus
    file_id: str | None = None
    remittance_ids: list[str] = Field(default_factory=list)
    claims: int = 0
    duplicates: int = 0
    lines: int = 0
    underpaid_total: str = "0.00"
    errors: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    summary: FileSummary | None = None

    def public(self) -> dict[str, Any]:
        """The ``ingest --json`` item: the documented fields plus ``file_id``."""
        return self.model_dump(mode="json", exclude={"summary"})


class FileListItem(BaseModel):
    """A row of ``GET /v1/remittances``."""

    id: str
    filename: str | None
    received_at: datetime
    claims: int
    duplicates: int
    lines: int
    remittances: int
    payers: list[str]
    underpaid_total: str
    warnings: int
    validation_status: str


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list: ``next_cursor`` is opaque; None on the last page."""

    items: list[ItemT]
    next_cursor: str | None = None


class RepriceReport(BaseModel):
    """What ``era-recon reprice`` changed."""

    claims: int = 0
    results: int = 0
    updated: int = 0
    unchanged: int = 0
    frozen: int = 0
    reversed: int = 0


class ValidationReport(BaseModel):
    """pyx12's full validation of one file (``era-recon validate``)."""

    file: str | None
    status: Literal["done", "rejected"]
    findings: list[dict[str, Any]] = Field(default_factory=list)


def merge_warnings(
    warnings: list[dict[str, Any]], more: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``warnings`` followed by those of ``more`` it does not hold yet, in order."""
    merged = list(warnings)
    for item in more:
        if item not in merged:
            merged.append(item)
    return merged
