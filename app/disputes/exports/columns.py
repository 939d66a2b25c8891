"""The columns of a packet's lines in the CSV and XLSX exports (spec/disputes.md
"Exports"): patient, patient account (CLP01), payer claim number (CLP07), date of
service, code and modifiers, units, charge, expected, actual allowed, paid, variance,
category, CARC/RARC, check/EFT trace (TRN02), payment date, deadline.

Each column says what kind of value it holds so the CSV writes money with two
decimals and the XLSX writes typed numeric and date cells.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from app.disputes.schemas import Packet
from app.reconciliation.schemas import PricingResultRead

Kind = Literal["text", "money", "number", "date"]
Value = str | Decimal | date | None


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: Kind
    get: Callable[[PricingResultRead], Value]
    width: int = 12  # XLSX column width, in characters


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def code_with_modifiers(item: PricingResultRead) -> str:
    """The billed code (SVC06, else SVC01) and its modifiers: ``64483-RT``."""
    code = item.billed_procedure or item.procedure or ""
    return "-".join([code, *item.modifiers]) if item.modifiers else code


def adjustment_codes(item: PricingResultRead) -> str:
    return " ".join([*item.carc, *item.rarc])


LINE_COLUMNS: tuple[Column, ...] = (
    Column("Patient", "text", lambda i: i.patient_name, 24),
    Column("Patient account (CLP01)", "text", lambda i: i.claim_id, 18),
    Column("Payer claim number (CLP07)", "text", lambda i: i.payer_claim_number, 20),
    Column("Line control (REF*6R)", "text", lambda i: i.line_control_number, 14),
    Column("Date of service", "date", lambda i: i.service_date, 12),
    Column("Code", "text", code_with_modifiers, 12),
    Column("Paid as", "text", lambda i: i.procedure, 9),
    Column("Units", "number", lambda i: _decimal(i.units), 7),
    Column("Charge", "money", lambda i: _decimal(i.charge), 12),
    Column("Expected allowed", "money", lambda i: _decimal(i.expected_allowed), 12),
    Column("Actual allowed", "money", lambda i: _decimal(i.actual_allowed), 12),
    Column("Paid", "money", lambda i: _decimal(i.paid), 12),
    Column("Variance", "money", lambda i: _decimal(i.variance), 12),
    Column("Category", "text", lambda i: i.category, 22),
    Column("CARC/RARC", "text", adjustment_codes, 14),
    Column("Trace (TRN02)", "text", lambda i: i.trace_number, 16),
    Column("Payment date", "date", lambda i: i.payment_date, 12),
    Column("Dispute deadline", "date", lambda i: i.dispute_deadline, 12),
)

# the all-packets exports lead with where each line belongs
PACKET_COLUMNS: tuple[tuple[str, Callable[[Packet], str | None], int], ...] = (
    ("Packet", lambda p: p.id, 38),
    ("Packet status", lambda p: p.status, 10),
    ("Payer ID", lambda p: p.payer_id, 12),
    ("Payer", lambda p: p.payer_name, 24),
    ("Practice NPI", lambda p: p.practice_npi, 13),
)

VARIANCE_INDEX = next(i for i, c in enumerate(LINE_COLUMNS) if c.header == "Variance")
