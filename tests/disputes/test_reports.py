"""Beyond the packets (spec/disputes.md): the sub-tolerance pattern report (20
same-sign lines flag, 19 do not), the overpayment and denial reports, and the
dashboard's totals, pipeline and next deadlines."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from app.disputes import service
from app.disputes.schemas import open_packet_id
from tests.disputes.builders import (
    AS_OF,
    FINANCE,
    OTHER_PAYER,
    OTHER_PAYER_NAME,
    OTHER_PRACTICE,
    claim,
    remittance,
    result,
    scoped,
)
from tests.factories import PAYER_ID, PAYER_NAME, PRACTICE_NPI


def _matched(session: Session, count: int, variance: str, *, procedure: str = "64483") -> None:
    rem = remittance(session)
    owner = claim(session, rem)
    for position in range(1, count + 1):
        result(
            session,
            owner,
            position=position,
            procedure=procedure,
            category="matched",
            variance=variance,
        )


@pytest.mark.parametrize(("count", "flagged"), [(19, False), (20, True), (21, True)])
def test_sub_tolerance_pattern_flags_twenty_same_sign_lines(
    session: Session, count: int, flagged: bool
) -> None:
    _matched(session, count, "0.40")
    _matched(session, 3, "-0.25")  # the other sign does not help or hinder
    (pattern,) = service.sub_tolerance_report(session, actor=FINANCE)
    assert (pattern.payer_id, pattern.procedure) == (PAYER_ID, "64483")
    assert pattern.payer_name == PAYER_NAME
    assert pattern.lines == count + 3
    assert (pattern.underpaid_lines, pattern.overpaid_lines) == (count, 3)
    assert pattern.flagged is flagged
    assert pattern.direction == ("underpaid" if flagged else None)
    assert Decimal(pattern.total) == count * Decimal("0.40") - Decimal("0.75")


def test_sub_tolerance_groups_by_payer_and_code_and_ignores_zero(session: Session) -> None:
    _matched(session, 20, "-0.10", procedure="64493")
    _matched(session, 5, "0.00", procedure="64483")  # exact matches are no pattern
    _matched(session, 10, "0.30", procedure="64483")
    _matched(session, 10, "0.30", procedure="64483")
    result(session, claim(session, remittance(session)), variance="0.50")  # disputable, not matched
    patterns = service.sub_tolerance_report(session, actor=FINANCE)
    assert [(p.procedure, p.lines, p.flagged, p.direction) for p in patterns] == [
        ("64483", 20, True, "underpaid"),
        ("64493", 20, True, "overpaid"),
    ]
    assert patterns[1].total == "-2.00"
    assert service.sub_tolerance_report(session, actor=scoped(OTHER_PRACTICE)) == []


def test_overpayment_report(session: Session) -> None:
    owner = claim(session, remittance(session))
    result(session, owner, position=1, category="overpaid", variance="-40.00")
    result(session, owner, position=2, category="overpaid", variance="-2.50")
    other = remittance(session, payer=OTHER_PAYER, payer_name=OTHER_PAYER_NAME)
    result(session, claim(session, other), category="overpaid", variance="-10.00")
    result(session, owner, position=3)  # underpaid: not in the report
    report = service.overpayment_report(session, actor=FINANCE, as_of=AS_OF)
    assert (report.lines, report.total) == (3, "52.50")
    assert [(r.key, r.label, r.lines, r.amount) for r in report.by_payer] == [
        (PAYER_ID, PAYER_NAME, 2, "42.50"),
        (OTHER_PAYER, OTHER_PAYER_NAME, 1, "10.00"),
    ]
    assert {i.category for i in report.items} == {"overpaid"}


def test_denial_report_groups_by_carc(session: Session) -> None:
    owner = claim(session, remittance(session))
    for position, carc in enumerate([["CO-97"], ["CO-97"], ["CO-50"], ["CO-16", "N-290"]], 1):
        result(
            session,
            owner,
            position=position,
            category="denied",
            variance="412.00",
            actual_amount=0,
            carc=carc,
        )
    report = service.denial_report(session, actor=FINANCE, as_of=AS_OF)
    assert report.lines == 4
    assert [(g.carc, g.lines) for g in report.groups] == [
        ("CO-97", 2),
        ("CO-16, N-290", 1),
        ("CO-50", 1),
    ]
    assert report.groups[0].charge == "2500.00"


def test_dashboard(session: Session) -> None:
    june = remittance(session, payment_date=date(2026, 6, 15))
    july = remittance(
        session, payer=OTHER_PAYER, payer_name=OTHER_PAYER_NAME, payment_date=date(2026, 7, 20)
    )
    soon = AS_OF + timedelta(days=10)
    result(session, claim(session, june), variance="100.00", deadline=soon)
    result(session, claim(session, june), variance="50.00", category="mpr_overapplied")
    result(session, claim(session, june), variance="30.00", status="disputed")
    result(
        session,
        claim(session, july),
        variance="20.00",
        status="recovered",
        recovered_amount="15.00",
    )
    result(session, claim(session, july), variance="7.00", deadline=AS_OF - timedelta(days=1))
    result(session, claim(session, july), variance="-9.00", category="overpaid")
    result(session, claim(session, july), variance="0.00", category="denied")
    board = service.dashboard(session, actor=FINANCE, as_of=AS_OF)
    assert board.underpaid_total == "207.00"
    assert [(r.key, r.amount) for r in board.underpaid_by_payer] == [
        (PAYER_ID, "180.00"),
        (OTHER_PAYER, "27.00"),
    ]
    assert [(r.key, r.amount) for r in board.underpaid_by_category] == [
        ("fee_schedule_underpaid", "157.00"),
        ("mpr_overapplied", "50.00"),
    ]
    assert board.underpaid_by_category[1].label == "Multiple-procedure reduction over-applied"
    assert [(r.key, r.amount) for r in board.underpaid_by_month] == [
        ("2026-06", "180.00"),
        ("2026-07", "27.00"),
    ]
    pipeline = board.pipeline
    assert (pipeline.open.lines, pipeline.open.amount) == (2, "150.00")
    assert (pipeline.disputed.lines, pipeline.disputed.amount) == (1, "30.00")
    assert (pipeline.recovered.lines, pipeline.recovered.amount) == (1, "15.00")
    assert (pipeline.expired.lines, pipeline.expired.amount) == (1, "7.00")
    assert (pipeline.upheld.lines, pipeline.written_off.lines) == (0, 0)
    first = board.expiring_next[0]
    assert (first.deadline, first.days_left, first.amount) == (soon, 10, "100.00")
    assert first.packet_id == str(open_packet_id(PRACTICE_NPI, PAYER_ID))
    assert board.expiring_within_30_days == "100.00"
    assert board.overpaid_total == "9.00"
    assert board.denied_lines == 1
    assert board.sub_tolerance_flags == 0
    other = service.dashboard(session, actor=scoped(OTHER_PRACTICE), as_of=AS_OF)
    assert other.underpaid_total == "0.00"
    assert other.expiring_next == []
