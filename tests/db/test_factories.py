"""The builders produce a consistent chain that the database accepts, and money
round-trips exactly as Decimal on either database."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import PricingResult
from tests.factories import make_pricing_result


def test_pricing_result_chain_round_trips_money(session: Session) -> None:
    result = make_pricing_result(session, variance_amount=Decimal("31.005"))
    session.expire_all()
    stored = session.scalars(select(PricingResult).where(PricingResult.id == result.id)).one()
    assert stored.variance_amount == Decimal("31.01")  # half-up to cents when stored
    assert isinstance(stored.expected_amount, Decimal)
    assert str(stored.expected_amount) == "412.00"
    assert stored.units == Decimal(1)
    assert str(stored.units) == "1"
