"""Typed builders of stored rows for tests (STYLE.md "Tests").

Each ``make_*`` adds one row with sensible defaults, flushes, and returns it;
keyword overrides set any column. Parents are created when not given, so
``make_pricing_result(session, variance_amount=Decimal("31.00"))`` is enough to get a
whole file → remittance → claim → line → result chain.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import (
    ClaimPayment,
    ContractVersion,
    EraFile,
    PricingResult,
    Remittance,
    ServiceLine,
)

PRACTICE_NPI = "1326048597"
PAYER_ID = "55123"
PAYER_NAME = "PRAIRIE HEALTH PLAN"


def _flush(session: Session, row: Any) -> Any:
    session.add(row)
    session.flush()
    return row


def make_file(session: Session, **overrides: Any) -> EraFile:
    raw = overrides.pop("raw_bytes", f"ISA*{uuid.uuid4()}~".encode())
    values: dict[str, Any] = {
        "content_hash": hashlib.sha256(raw).hexdigest(),
        "filename": "test.835",
        "size_bytes": len(raw),
        "raw_bytes": raw,
        "practice_keys": [PRACTICE_NPI],
        "validation_status": "done",
    }
    values.update(overrides)
    return _flush(session, EraFile(**values))


def make_remittance(
    session: Session, *, file: EraFile | None = None, **overrides: Any
) -> Remittance:
    file = file or make_file(session, practice_keys=[overrides.get("practice_key", PRACTICE_NPI)])
    values: dict[str, Any] = {
        "file_id": file.id,
        "position": 1,
        "control_number": "0001",
        "version": "005010X221A1",
        "handling_code": "I",
        "payment_amount": Decimal("100.00"),
        "credit_debit": "C",
        "payment_method": "CHK",
        "payment_date": date(2026, 6, 15),
        "production_date": date(2026, 6, 15),
        "trace_number": f"TRACE{uuid.uuid4().hex[:8]}",
        "trace_originator": "1846543210",
        "payer_id": PAYER_ID,
        "payer_name": PAYER_NAME,
        "payer_identifiers": [PAYER_ID],
        "payee_name": "BIG HORN INTERVENTIONAL PAIN",
        "payee_npi": PRACTICE_NPI,
        "payee_tin": "830000001",
        "practice_key": PRACTICE_NPI,
    }
    values.update(overrides)
    return _flush(session, Remittance(**values))


def make_claim(
    session: Session, *, remittance: Remittance | None = None, **overrides: Any
) -> ClaimPayment:
    remittance = remittance or make_remittance(session)
    claim_id = overrides.get("claim_id", f"PA{uuid.uuid4().hex[:6]}")
    values: dict[str, Any] = {
        "remittance_id": remittance.id,
        "file_id": remittance.file_id,
        "position": 1,
        "identity": hashlib.sha256(f"{remittance.id}{claim_id}{uuid.uuid4()}".encode()).hexdigest(),
        "claim_id": claim_id,
        "status_code": "1",
        "charge_amount": Decimal("1250.00"),
        "paid_amount": Decimal("390.00"),
        "payer_claim_number": f"PH{uuid.uuid4().hex[:6]}",
        "place_of_service": "11",
        "patient_name": "DOE, JANE",
        "patient_member_id": "ME1",
        "statement_from_date": date(2026, 6, 1),
        "payer_id": remittance.payer_id,
        "practice_key": remittance.practice_key,
        "payment_date": remittance.payment_date,
    }
    values.update(overrides)
    return _flush(session, ClaimPayment(**values))


def make_line(
    session: Session, *, claim: ClaimPayment | None = None, **overrides: Any
) -> ServiceLine:
    claim = claim or make_claim(session)
    values: dict[str, Any] = {
        "claim_payment_id": claim.id,
        "position": 1,
        "procedure_qualifier": "HC",
        "procedure_code": "64483",
        "modifiers": [],
        "charge_amount": Decimal("1250.00"),
        "paid_amount": Decimal("390.00"),
        "units": Decimal(1),
        "service_date": date(2026, 6, 1),
        "line_control_number": f"L{uuid.uuid4().hex[:6]}",
        "allowed_amount": Decimal("390.00"),
    }
    values.update(overrides)
    return _flush(session, ServiceLine(**values))


def make_pricing_result(
    session: Session, *, line: ServiceLine | None = None, **overrides: Any
) -> PricingResult:
    """A disputable, open ``fee_schedule_underpaid`` result unless told otherwise."""
    line = line or make_line(session)
    claim = session.get(ClaimPayment, line.claim_payment_id)
    assert claim is not None
    values: dict[str, Any] = {
        "service_line_id": line.id,
        "claim_payment_id": claim.id,
        "remittance_id": claim.remittance_id,
        "file_id": claim.file_id,
        "contract_id": "prairie-ppo-2026",
        "payer_id": claim.payer_id,
        "packet_payer_id": claim.payer_id,
        "packet_payer_name": PAYER_NAME,
        "practice_key": claim.practice_key,
        "payment_date": claim.payment_date,
        "service_date": line.service_date,
        "procedure_code": line.procedure_code,
        "modifiers": list(line.modifiers),
        "units": line.units,
        "base_amount": Decimal("412.00"),
        "amount_before_mpr": Decimal("412.00"),
        "expected_amount": Decimal("412.00"),
        "actual_amount": Decimal("390.00"),
        "variance_amount": Decimal("22.00"),
        "category": "fee_schedule_underpaid",
        "disputable": True,
        "clause": "Exhibit A",
        "explanation": "64483 paid below the fee schedule",
        "carc": ["CO-45"],
        "rarc": [],
        "dispute_deadline": date(2027, 6, 15),
        "status": "open",
    }
    values.update(overrides)
    return _flush(session, PricingResult(**values))


def make_contract_version(session: Session, **overrides: Any) -> ContractVersion:
    """A stored, current contract version. ``document`` (the contract's JSON, as the
    contracts repository stores it) is built from the columns unless given."""
    contract_id = overrides.pop("contract_id", "prairie-ppo-2026")
    values: dict[str, Any] = {
        "contract_id": contract_id,
        "version": 1,
        "is_current": True,
        "name": "Prairie Health Plan PPO agreement",
        "payer_name": PAYER_NAME,
        "payer_ids": [PAYER_ID],
        "effective_from": date(2026, 1, 1),
        "effective_to": None,
        "content_hash": hashlib.sha256(f"{contract_id}{uuid.uuid4()}".encode()).hexdigest(),
    }
    values.update(overrides)
    values.setdefault(
        "document",
        {
            "id": contract_id,
            "name": values["name"],
            "payer": {"name": values["payer_name"], "ids": values["payer_ids"], "address": None},
            "effective_from": values["effective_from"].isoformat(),
            "effective_to": None
            if values["effective_to"] is None
            else values["effective_to"].isoformat(),
            "dispute_window_months": 12,
            "dispute_window_days": None,
            "dispute_window_from": "payment",
            "fee_schedule": "prairie-fees.csv",
            "clauses": {
                "fee_schedule": "Exhibit A",
                "multiple_procedure_reduction": "Section 5.1",
                "bilateral": "Section 5.2",
                "bundling": None,
                "dispute_window": "Section 11",
            },
        },
    )
    return _flush(session, ContractVersion(**values))
