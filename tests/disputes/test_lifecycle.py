"""The dispute lifecycle (spec/disputes.md "Lifecycle of a disputable result"):
filing freezes a packet, later findings go to the open packet, outcomes per result
and per packet (allocation with cents to the largest), refused transitions, the
audit trail and result events they leave, follow-up and closing."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    AuditEntry,
    DisputePacket,
    DisputePacketItem,
    PricingResult,
    ResultEvent,
)
from app.disputes import service
from app.disputes.errors import DisputeTransitionError, OutcomeInvalid, ResultNotFound
from app.disputes.schemas import Packet, open_packet_id
from tests.disputes.builders import (
    AS_OF,
    FINANCE,
    OTHER_PAYER,
    OTHER_PAYER_NAME,
    claim,
    remittance,
    result,
    scoped,
)
from tests.factories import PAYER_ID, PRACTICE_NPI

OPEN_ID = open_packet_id(PRACTICE_NPI, PAYER_ID)


def _filed(session: Session, variances: tuple[str, ...] = ("100.00", "60.00", "40.00")):
    rem = remittance(session)
    owner = claim(session, rem, "F1")
    made = [
        result(session, owner, position=n, variance=v) for n, v in enumerate(variances, start=1)
    ]
    packet = service.file_packet(session, packet_id=OPEN_ID, actor=FINANCE, as_of=AS_OF)
    return packet, made, rem


def _events(session: Session, result_id: uuid.UUID) -> list[tuple[str | None, str]]:
    rows = session.scalars(
        select(ResultEvent)
        .where(ResultEvent.pricing_result_id == result_id)
        .order_by(ResultEvent.at, ResultEvent.to_status)
    )
    return [(e.from_status, e.to_status) for e in rows]


def test_filing_stores_a_frozen_packet_and_disputes_its_lines(session: Session) -> None:
    packet, made, _ = _filed(session)
    assert packet.status == "filed"
    assert packet.id != str(OPEN_ID)
    assert packet.open_packet_id == str(OPEN_ID)
    assert (packet.lines, packet.total, packet.filed_date) == (3, "200.00", AS_OF)
    assert packet.filed_by == FINANCE.name
    assert packet.filed_at is not None
    assert packet.disputed_lines == 3
    stored = session.get(DisputePacket, uuid.UUID(packet.id))
    assert stored is not None
    assert stored.filed_by_key_id == FINANCE.key_id
    items = session.scalars(
        select(DisputePacketItem)
        .where(DisputePacketItem.packet_id == stored.id)
        .order_by(DisputePacketItem.position)
    ).all()
    assert [i.pricing_result_id for i in items] == [m.id for m in made]
    assert [i.snapshot["variance"] for i in items] == ["100.00", "60.00", "40.00"]
    for made_result in made:
        session.refresh(made_result)
        assert made_result.status == "disputed"
        assert made_result.filed_packet_id == stored.id
        assert _events(session, made_result.id) == [("open", "disputed")]
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "dispute_packet.filed")
    ).one()
    assert audit.object_id == packet.id
    assert audit.actor_name == FINANCE.name
    assert audit.details["lines"] == 3


def test_the_open_packet_empties_and_later_findings_go_to_it(session: Session) -> None:
    packet, _, rem = _filed(session)
    empty = service.get_packet(session, packet_id=OPEN_ID, actor=FINANCE, as_of=AS_OF)
    assert (empty.status, empty.lines, empty.total, empty.items) == ("open", 0, "0.00", [])
    later = result(session, claim(session, rem, "F2"), variance="9.99")
    listed = service.list_packets(session, actor=FINANCE, as_of=AS_OF).packets
    assert [(p.status, p.lines, p.total) for p in listed] == [
        ("open", 1, "9.99"),
        ("filed", 3, "200.00"),
    ]
    filed = service.get_packet(session, packet_id=packet.id, actor=FINANCE, as_of=AS_OF)
    assert filed.items is not None
    assert str(later.id) not in [i.id for i in filed.items]
    assert len(filed.items) == 3


def test_filing_twice_or_an_empty_packet_is_refused(session: Session) -> None:
    packet, _, _ = _filed(session)
    with pytest.raises(DisputeTransitionError):
        service.file_packet(session, packet_id=packet.id, actor=FINANCE, as_of=AS_OF)
    with pytest.raises(DisputeTransitionError):
        service.file_packet(session, packet_id=OPEN_ID, actor=FINANCE, as_of=AS_OF)


def test_a_filed_packets_export_never_changes(session: Session) -> None:
    packet, made, rem = _filed(session)
    before = {
        fmt: service.export_packet(
            session, packet_id=packet.id, actor=FINANCE, as_of=AS_OF, format=fmt
        ).content
        for fmt in ("pdf", "csv", "json")
    }
    # new findings, a repriced line of the packet and an outcome come after filing
    result(session, claim(session, rem, "F9"), variance="77.00")
    made[0].variance_amount = Decimal("5.00")
    made[0].explanation = "changed after filing"
    session.flush()
    service.record_result_outcome(
        session, result_id=made[1].id, outcome="upheld", actor=FINANCE, as_of=AS_OF
    )
    later = AS_OF + timedelta(days=45)
    after = {
        fmt: service.export_packet(
            session, packet_id=packet.id, actor=FINANCE, as_of=later, format=fmt
        ).content
        for fmt in ("pdf", "csv", "json")
    }
    assert after["pdf"] == before["pdf"]
    assert after["csv"] == before["csv"]
    assert json.loads(after["json"])["items"] == json.loads(before["json"])["items"]
    assert "changed after filing" not in after["csv"].decode()
    assert json.loads(after["json"])["total"] == "200.00"


@pytest.mark.parametrize(
    ("start", "outcome", "amount", "end"),
    [
        ("disputed", "recovered", "100.00", "recovered"),
        ("disputed", "recovered", "35.10", "recovered"),  # partial
        ("disputed", "upheld", None, "upheld"),
        ("disputed", "written_off", None, "written_off"),
        ("open", "written_off", None, "written_off"),
    ],
)
def test_allowed_outcomes(
    session: Session, start: str, outcome: str, amount: str | None, end: str
) -> None:
    made = result(session, claim(session, remittance(session)), variance="100.00", status=start)
    read = service.record_result_outcome(
        session,
        result_id=made.id,
        outcome=outcome,
        amount=None if amount is None else Decimal(amount),
        actor=FINANCE,
        note="per call with payer rep",
        as_of=AS_OF,
    )
    assert read.status == end
    assert read.recovered_amount == amount
    event = session.scalars(
        select(ResultEvent).where(ResultEvent.pricing_result_id == made.id)
    ).one()
    assert (event.from_status, event.to_status) == (start, end)
    assert event.amount == (None if amount is None else Decimal(amount))
    assert event.actor_name == FINANCE.name
    assert event.actor_key_id == FINANCE.key_id
    assert event.note == "per call with payer rep"
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "pricing_result.outcome")
    ).one()
    assert audit.object_id == str(made.id)
    assert audit.details["from"] == start
    assert audit.details["to"] == end


@pytest.mark.parametrize(
    ("start", "category", "outcome"),
    [
        ("open", "fee_schedule_underpaid", "recovered"),
        ("open", "fee_schedule_underpaid", "upheld"),
        ("recovered", "fee_schedule_underpaid", "upheld"),
        ("recovered", "fee_schedule_underpaid", "recovered"),
        ("upheld", "fee_schedule_underpaid", "written_off"),
        ("written_off", "fee_schedule_underpaid", "written_off"),
        ("open", "matched", "written_off"),
        ("open", "overpaid", "written_off"),
        ("open", "denied", "written_off"),
        ("open", "reversed", "written_off"),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(
    session: Session, start: str, category: str, outcome: str
) -> None:
    made = result(session, claim(session, remittance(session)), status=start, category=category)
    amount = Decimal("1.00") if outcome == "recovered" else None
    with pytest.raises(DisputeTransitionError) as caught:
        service.record_result_outcome(
            session, result_id=made.id, outcome=outcome, amount=amount, actor=FINANCE
        )
    assert caught.value.from_status == start
    assert caught.value.to_status == outcome
    session.refresh(made)
    assert made.status == start
    assert _events(session, made.id) == []


@pytest.mark.parametrize(
    ("outcome", "amount"),
    [
        ("recovered", None),
        ("recovered", "0.00"),
        ("recovered", "-5.00"),
        ("recovered", "22.01"),  # more than the variance
        ("recovered", "1.005"),
        ("upheld", "5.00"),
        ("settled", None),
    ],
)
def test_bad_outcome_amounts_are_invalid(
    session: Session, outcome: str, amount: str | None
) -> None:
    made = result(session, claim(session, remittance(session)), status="disputed")
    with pytest.raises(OutcomeInvalid):
        service.record_result_outcome(
            session,
            result_id=made.id,
            outcome=outcome,
            amount=None if amount is None else Decimal(amount),
            actor=FINANCE,
        )


def test_outcome_of_another_practices_result_is_not_found(session: Session) -> None:
    made = result(session, claim(session, remittance(session)), status="disputed")
    with pytest.raises(ResultNotFound):
        service.record_result_outcome(
            session, result_id=made.id, outcome="upheld", actor=scoped("1999999999")
        )
    with pytest.raises(ResultNotFound):
        service.record_result_outcome(
            session, result_id=uuid.uuid4(), outcome="upheld", actor=FINANCE
        )


def test_packet_recovery_is_allocated_by_variance_with_cents_to_the_largest(
    session: Session,
) -> None:
    packet, made, _ = _filed(session, ("10.00", "20.00", "30.01"))
    after = service.record_packet_outcome(
        session,
        packet_id=packet.id,
        outcome="recovered",
        amount=Decimal("30.00"),
        actor=FINANCE,
        as_of=AS_OF,
    )
    for m in made:
        session.refresh(m)
    # 30.00 × v / 60.01 rounded down: 4.99, 9.99, 15.00; the 2 cents left go to 30.01
    assert [m.recovered_amount for m in made] == [
        Decimal("4.99"),
        Decimal("9.99"),
        Decimal("15.02"),
    ]
    assert {m.status for m in made} == {"recovered"}
    assert after.status == "closed"
    assert after.recovered == "30.00"
    assert after.disputed_lines == 0
    assert session.get(DisputePacket, uuid.UUID(packet.id)).status == "closed"  # type: ignore[union-attr]
    events = session.scalars(select(ResultEvent).where(ResultEvent.to_status == "recovered")).all()
    assert sorted(e.amount for e in events) == [Decimal("4.99"), Decimal("9.99"), Decimal("15.02")]
    assert {e.packet_id for e in events} == {uuid.UUID(packet.id)}
    packet_audit = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "dispute_packet.outcome")
    ).one()
    assert packet_audit.details == {"outcome": "recovered", "lines": 3, "amount": "30.00"}


def test_packet_outcome_applies_to_lines_still_disputed(session: Session) -> None:
    packet, made, _ = _filed(session)
    service.record_result_outcome(
        session, result_id=made[0].id, outcome="recovered", amount=Decimal("100.00"), actor=FINANCE
    )
    still = service.get_packet(session, packet_id=packet.id, actor=FINANCE, as_of=AS_OF)
    assert (still.status, still.disputed_lines, still.recovered) == ("filed", 2, "100.00")
    assert still.items is not None
    assert [i.status for i in still.items] == ["recovered", "disputed", "disputed"]
    with pytest.raises(OutcomeInvalid):  # only 100.00 is still disputed
        service.record_packet_outcome(
            session,
            packet_id=packet.id,
            outcome="recovered",
            amount=Decimal("100.01"),
            actor=FINANCE,
        )
    done = service.record_packet_outcome(
        session, packet_id=packet.id, outcome="upheld", actor=FINANCE, as_of=AS_OF
    )
    assert done.status == "closed"
    for m in made:
        session.refresh(m)
    assert [m.status for m in made] == ["recovered", "upheld", "upheld"]
    with pytest.raises(DisputeTransitionError):
        service.record_packet_outcome(session, packet_id=packet.id, outcome="upheld", actor=FINANCE)


def test_an_open_packet_takes_no_outcome(session: Session) -> None:
    result(session, claim(session, remittance(session)))
    with pytest.raises(DisputeTransitionError):
        service.record_packet_outcome(
            session, packet_id=OPEN_ID, outcome="written_off", actor=FINANCE
        )


@pytest.mark.parametrize(("days", "due"), [(29, False), (30, True), (31, True)])
def test_follow_up_due_thirty_days_after_filing(session: Session, days: int, due: bool) -> None:
    packet, _, _ = _filed(session)
    later = AS_OF + timedelta(days=days)
    listed = service.list_packets(session, actor=FINANCE, as_of=later).packets
    (filed,) = [p for p in listed if p.id == packet.id]
    assert filed.follow_up_due is due
    assert filed.urgent is False


def test_no_follow_up_once_every_line_is_resolved(session: Session) -> None:
    packet, _, _ = _filed(session)
    service.record_packet_outcome(
        session, packet_id=packet.id, outcome="written_off", actor=FINANCE
    )
    got = service.get_packet(
        session, packet_id=packet.id, actor=FINANCE, as_of=AS_OF + timedelta(days=90)
    )
    assert (got.status, got.follow_up_due) == ("closed", False)


def test_recovered_by_payer(session: Session) -> None:
    first = result(
        session, claim(session, remittance(session)), status="disputed", variance="50.00"
    )
    other_rem = remittance(session, payer=OTHER_PAYER, payer_name=OTHER_PAYER_NAME)
    second = result(session, claim(session, other_rem), status="disputed", variance="80.00")
    third = result(session, claim(session, other_rem), status="disputed", variance="20.00")
    for made, amount in ((first, "50.00"), (second, "30.00"), (third, "20.00")):
        service.record_result_outcome(
            session, result_id=made.id, outcome="recovered", amount=Decimal(amount), actor=FINANCE
        )
    sums = {r.payer_id: r for r in service.recovered_by_payer(session, actor=FINANCE)}
    assert (sums[PAYER_ID].lines, sums[PAYER_ID].recovered) == (1, "50.00")
    assert (sums[OTHER_PAYER].lines, sums[OTHER_PAYER].disputed) == (2, "100.00")
    assert sums[OTHER_PAYER].recovered == "50.00"
    assert service.recovered_by_payer(session, actor=scoped("1999999999")) == []


@pytest.mark.parametrize(
    ("amount", "variances", "expected"),
    [
        ("100.00", ("100.00", "100.00", "100.00"), ("33.34", "33.33", "33.33")),
        ("50.00", ("10.00", "20.00", "70.00"), ("5.00", "10.00", "35.00")),
        ("30.00", ("10.00", "20.00", "30.01"), ("4.99", "9.99", "15.02")),
        ("0.01", ("5.00", "9.00", "1.00"), ("0.00", "0.01", "0.00")),
        ("15.00", ("5.00", "9.00", "1.00"), ("5.00", "9.00", "1.00")),
        ("0.03", ("0.01", "0.01", "0.02"), ("0.01", "0.00", "0.02")),  # never past a variance
    ],
)
def test_allocate_recovery(
    amount: str, variances: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    got = service.allocate_recovery(Decimal(amount), [Decimal(v) for v in variances])
    assert got == [Decimal(e) for e in expected]


@given(
    st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=12),
    st.data(),
)
def test_allocation_sums_to_the_amount_and_respects_each_variance(
    weights: list[int], data: st.DataObject
) -> None:
    cents = data.draw(st.integers(min_value=0, max_value=sum(weights)))
    variances = [Decimal(w) / 100 for w in weights]
    shares = service.allocate_recovery(Decimal(cents) / 100, variances)
    assert sum(shares) == Decimal(cents) / 100
    assert all(Decimal(0) <= s <= v for s, v in zip(shares, variances, strict=True))


def test_filed_packet_summary_matches_its_stored_row(session: Session) -> None:
    packet, _, _ = _filed(session)
    stored = session.get(DisputePacket, uuid.UUID(packet.id))
    assert stored is not None
    assert stored.total_amount == Decimal("200.00")
    assert stored.by_category == {"fee_schedule_underpaid": "200.00"}
    assert stored.earliest_deadline == date(2027, 6, 15)
    assert isinstance(packet, Packet)
    assert session.scalars(select(PricingResult).where(PricingResult.status == "open")).all() == []


def test_a_note_with_a_nul_character_is_refused_and_changes_nothing(session: Session) -> None:
    made = result(session, claim(session, remittance(session)), variance="100.00", status="open")
    with pytest.raises(OutcomeInvalid, match="NUL"):
        service.record_result_outcome(
            session,
            result_id=made.id,
            outcome="written_off",
            actor=FINANCE,
            note="bad\x00note",
            as_of=AS_OF,
        )
    session.refresh(made)
    assert made.status == "open"
    assert _events(session, made.id) == []
