"""Scenario builders for the dispute tests, on top of ``tests/factories.py``: results
of several practices and payers with chosen deadlines, variances and categories."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.access.schemas import Actor, Role
from app.db.models import ClaimPayment, PricingResult, Remittance
from app.disputes import service
from app.disputes.schemas import DISPUTABLE_CATEGORIES, open_packet_id
from tests.factories import (
    PAYER_ID,
    PAYER_NAME,
    PRACTICE_NPI,
    make_claim,
    make_line,
    make_pricing_result,
    make_remittance,
)

AS_OF = date(2026, 11, 27)
FINANCE = Actor(name="Fran Finance", role=Role.FINANCE, key_id=uuid.uuid4())
OTHER_PRACTICE = "1487652301"
OTHER_PAYER = "60054"
OTHER_PAYER_NAME = "ACME HEALTH PLAN"


def scoped(*practices: str) -> Actor:
    return Actor(
        name="Practice biller",
        role=Role.FINANCE,
        key_id=uuid.uuid4(),
        practices=frozenset(practices),
    )


def remittance(
    session: Session,
    *,
    practice: str = PRACTICE_NPI,
    payer: str = PAYER_ID,
    payer_name: str = PAYER_NAME,
    payment_date: date = date(2026, 6, 15),
    **overrides: Any,
) -> Remittance:
    return make_remittance(
        session,
        practice_key=practice,
        payee_npi=practice,
        payer_id=payer,
        payer_name=payer_name,
        payer_identifiers=[payer],
        payment_date=payment_date,
        **overrides,
    )


def claim(
    session: Session, rem: Remittance, claim_id: str | None = None, **overrides: Any
) -> ClaimPayment:
    if claim_id is not None:
        overrides["claim_id"] = claim_id
    return make_claim(session, remittance=rem, **overrides)


def result(
    session: Session,
    owner: ClaimPayment,
    *,
    position: int = 1,
    deadline: date | None = date(2027, 6, 15),
    variance: str = "22.00",
    category: str = "fee_schedule_underpaid",
    status: str = "open",
    procedure: str = "64483",
    payer_name: str | None = None,
    **overrides: Any,
) -> PricingResult:
    line = make_line(session, claim=owner, position=position, procedure_code=procedure)
    amount = Decimal(variance)
    actual = Decimal("390.00")
    rem = session.get(Remittance, owner.remittance_id)
    assert rem is not None
    values: dict[str, Any] = {
        "variance_amount": amount,
        "actual_amount": actual,
        "expected_amount": actual + amount,
        "category": category,
        "disputable": category in DISPUTABLE_CATEGORIES,
        "dispute_deadline": deadline,
        "status": status,
        "packet_payer_name": payer_name or rem.payer_name,
    }
    values.update(overrides)
    return make_pricing_result(session, line=line, **values)


def filed_packets(session: Session, count: int) -> list[str]:
    """``count`` filed packets (one payer each, two filed a day, so days tie) and one
    open packet; their ids newest first."""
    for n in range(count):
        rem = remittance(session, payer=f"P{n:03}", payer_name=f"PAYER {n}")
        result(session, claim(session, rem, f"F{n}"), variance=f"{n + 1}.00")
    filed = []
    for n in range(count):
        packet_id = open_packet_id(PRACTICE_NPI, f"P{n:03}")
        day = AS_OF - timedelta(days=count - n // 2)
        filed.append(service.file_packet(session, packet_id=packet_id, actor=FINANCE, as_of=day))
    result(session, claim(session, remittance(session), "OPEN1"))
    session.flush()
    return [p.id for p in sorted(filed, key=lambda p: (p.filed_date, p.filed_at, p.id))][::-1]
