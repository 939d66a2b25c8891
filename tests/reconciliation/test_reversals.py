"""Reversals and recoveries (repricing.md §6): which payment a CLP02 = 22 reverses, in
either arrival order, and the recovery a reversal and re-payment records on a
disputed result."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import models
from tests.reconciliation.builders import e2, era
from tests.reconciliation.conftest import Ingest, results_by_lcn


def reversal_of_e2(**overrides: object) -> object:
    values: dict[str, object] = {"status": "22", "sign": -1}
    values.update(overrides)
    return e2(**values)


def claim_by_trace(session: Session, trace: str) -> models.ClaimPayment:
    session.expire_all()
    return session.execute(
        select(models.ClaimPayment)
        .join(models.Remittance, models.Remittance.id == models.ClaimPayment.remittance_id)
        .where(models.Remittance.trace_number == trace)
    ).scalar_one()


@pytest.mark.parametrize("reversal_first", [False, True], ids=["original-first", "reversal-first"])
def test_reversal_marks_the_originals_results_reversed_keeping_their_values(
    session: Session, contract: None, ingest: Ingest, reversal_first: bool
) -> None:
    original = era([e2()], trace="T1", payment_date="20260615")
    reversal = era([reversal_of_e2()], trace="T2", payment_date="20260720")
    for data in (reversal, original) if reversal_first else (original, reversal):
        assert ingest(data).status == "processed"

    results = results_by_lcn(session)
    assert set(results) == {"E2A", "E2B"}  # the reversal's lines are not priced
    e2b = results["E2B"]
    assert (e2b.category, e2b.disputable, e2b.status) == ("reversed", False, "open")
    assert (e2b.expected_amount, e2b.variance_amount) == (Decimal("155.00"), Decimal("31.00"))
    first, second = claim_by_trace(session, "T1"), claim_by_trace(session, "T2")
    assert (first.reversed_by_id, second.reverses_id) == (second.id, first.id)
    events = session.scalars(
        select(models.ResultEvent).where(models.ResultEvent.pricing_result_id == e2b.id)
    ).all()
    assert [e.note for e in events]
    assert "reversed" in (events[0].note or "")


def test_a_reversal_without_its_original_waits_unlinked(
    session: Session, contract: None, ingest: Ingest
) -> None:
    ingest(era([reversal_of_e2()], trace="T2", payment_date="20260720"))

    stored = claim_by_trace(session, "T2")
    assert stored.reverses_id is None
    assert results_by_lcn(session) == {}


def test_amounts_and_payer_claim_number_must_match(
    session: Session, contract: None, ingest: Ingest
) -> None:
    ingest(era([e2()], trace="T1"))
    ingest(era([reversal_of_e2(payer_claim_number="OTHER")], trace="T2", payment_date="20260720"))
    ingest(era([reversal_of_e2(paid="500.00")], trace="T3", payment_date="20260720"))

    assert claim_by_trace(session, "T1").reversed_by_id is None
    assert results_by_lcn(session)["E2B"].category == "mpr_overapplied"


def test_of_several_payments_the_latest_before_the_reversal_is_reversed(
    session: Session, contract: None, ingest: Ingest
) -> None:
    ingest(era([e2()], trace="T1", payment_date="20260601"))
    ingest(era([e2()], trace="T2", payment_date="20260610"))
    ingest(era([e2()], trace="T9", payment_date="20260901"))  # after the reversal: never

    ingest(era([reversal_of_e2()], trace="R1", payment_date="20260620"))
    assert claim_by_trace(session, "T2").reversed_by_id == claim_by_trace(session, "R1").id
    assert claim_by_trace(session, "T1").reversed_by_id is None

    ingest(era([reversal_of_e2()], trace="R2", payment_date="20260625"))
    assert claim_by_trace(session, "T1").reversed_by_id == claim_by_trace(session, "R2").id
    assert claim_by_trace(session, "T9").reversed_by_id is None


# --------------------------------------------------------------------- recoveries


def _dispute_e2b(session: Session) -> models.PricingResult:
    """File a packet holding E2B (mpr_overapplied, variance 31.00)."""
    result = results_by_lcn(session)["E2B"]
    packet = models.DisputePacket(
        practice_key="1326048597",
        payer_id="55123",
        payer_name="PRAIRIE HEALTH PLAN",
        filed_date=date(2026, 7, 1),
        lines_count=1,
        total_amount=Decimal("31.00"),
    )
    session.add(packet)
    session.flush()
    result.status = "disputed"
    result.filed_packet_id = packet.id
    session.flush()
    return result


@pytest.mark.parametrize(
    ("repaid", "status", "recovered", "note"),
    [
        ("155.00", "recovered", "31.00", "re-payment of the claim"),
        ("170.00", "recovered", "31.00", "re-payment of the claim"),  # capped at the variance
        ("140.00", "recovered", "16.00", "(partial)"),
        ("124.00", "disputed", None, "without a higher allowed amount"),
        ("100.00", "disputed", None, "without a higher allowed amount"),
    ],
)
def test_reversal_and_repayment_records_the_recovery_on_the_disputed_result(
    session: Session,
    contract: None,
    ingest: Ingest,
    repaid: str,
    status: str,
    recovered: str | None,
    note: str,
) -> None:
    ingest(era([e2()], trace="T1", payment_date="20260615"))
    disputed = _dispute_e2b(session)

    corrected = e2(repaid, payer_claim_number="PH0002R")
    corrected.lines[0].lcn, corrected.lines[1].lcn = "E2C", "E2D"
    answer = ingest(era([reversal_of_e2(), corrected], trace="T2", payment_date="20260720"))

    assert answer.status == "processed"
    results = results_by_lcn(session)
    e2b = results["E2B"]
    assert e2b.status == status
    assert e2b.category == "mpr_overapplied"  # keeps its history instead of turning reversed
    assert e2b.recovered_amount == (Decimal(recovered) if recovered else None)
    assert results["E2A"].category == "reversed"  # open results of the payment: reversed
    events = session.scalars(
        select(models.ResultEvent).where(models.ResultEvent.pricing_result_id == disputed.id)
    ).all()
    (event,) = events
    assert (event.from_status, event.to_status) == ("disputed", status)
    assert note in (event.note or "")
    assert event.actor_name == "command line"
    assert event.packet_id == disputed.filed_packet_id


def test_recovery_when_the_corrected_payment_arrives_after_the_reversal(
    session: Session, contract: None, ingest: Ingest
) -> None:
    ingest(era([e2()], trace="T1", payment_date="20260615"))
    _dispute_e2b(session)
    ingest(era([reversal_of_e2()], trace="T2", payment_date="20260720"))
    assert results_by_lcn(session)["E2B"].status == "disputed"

    corrected = e2("155.00", payer_claim_number="PH0002R")
    corrected.lines[0].lcn, corrected.lines[1].lcn = "E2C", "E2D"
    ingest(era([corrected], trace="T3", payment_date="20260801"))

    e2b = results_by_lcn(session)["E2B"]
    assert (e2b.status, e2b.recovered_amount) == ("recovered", Decimal("31.00"))


def test_only_claims_with_a_reversal_in_their_history_are_matched(
    session: Session, contract: None, ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reversal matching reads related payments only for the CLP01s that can link or
    recover — a batch's reversals and claims with a reversal stored — so ingest does
    not slow down with every payment already stored."""
    from app.reconciliation import repository

    asked: list[list[str]] = []
    related = repository.related_claims

    def spy(session: Session, **kwargs: object) -> list[object]:
        asked.append(list(kwargs["claim_ids"]))  # type: ignore[call-overload]
        return related(session, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "related_claims", spy)

    ingest(era([e2()], trace="T1", payment_date="20260615"))
    assert asked == []  # a plain payment: nothing to match
    ingest(era([reversal_of_e2()], trace="T2", payment_date="20260720"))
    assert asked == [["E2"]]
    ingest(era([e2(paid_64493="155.00")], trace="T3", payment_date="20260801"))
    assert asked[-1] == ["E2"]  # the corrected payment of a reversed claim
    assert claim_by_trace(session, "T1").reversed_by_id == claim_by_trace(session, "T2").id
