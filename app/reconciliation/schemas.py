"""Read models shared by the faces: the PricingResult JSON shape of
spec/interfaces.md (``variances --json``, ``GET /v1/variances``, packet items).

Field names are the public contract: add fields, never rename. Money is a string
with two decimals; dates are ISO strings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel

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
