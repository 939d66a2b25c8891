"""Open packets (spec/disputes.md "Packets"): one per practice and payer, lines by
deadline, totals and categories, expired lines kept out, non-disputable categories
never in a packet, practice-scoped actors, stable ids and pages of lines."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from app.access.schemas import Actor, Role
from app.disputes import service
from app.disputes.errors import PacketNotFound
from app.disputes.schemas import open_packet_id
from app.errors import Forbidden, InvalidInput
from tests.disputes.builders import (
    AS_OF,
    FINANCE,
    OTHER_PAYER,
    OTHER_PAYER_NAME,
    OTHER_PRACTICE,
    claim,
    filed_packets,
    remittance,
    result,
    scoped,
)
from tests.factories import PAYER_ID, PAYER_NAME, PRACTICE_NPI


def _three_packets(session: Session) -> dict[str, object]:
    """Practice A with payers P and Q, practice B with payer P."""
    a_p = remittance(session)
    a_q = remittance(session, payer=OTHER_PAYER, payer_name=OTHER_PAYER_NAME)
    b_p = remittance(session, practice=OTHER_PRACTICE)
    c1 = claim(session, a_p, "A100")
    c2 = claim(session, a_p, "A200")
    late = result(session, c1, position=1, deadline=date(2027, 6, 15), variance="22.00")
    early = result(
        session,
        c2,
        position=1,
        deadline=date(2026, 12, 10),
        variance="31.00",
        category="mpr_overapplied",
    )
    same_day_b = result(
        session,
        c2,
        position=2,
        deadline=date(2026, 12, 10),
        variance="155.00",
        category="bilateral_underpaid",
    )
    q_line = result(session, claim(session, a_q, "Q1"), variance="40.00")
    b_line = result(session, claim(session, b_p, "B1"), variance="12.50")
    return {"late": late, "early": early, "same_day_b": same_day_b, "q": q_line, "b": b_line}


def test_one_packet_per_practice_and_payer(session: Session) -> None:
    _three_packets(session)
    listed = service.list_packets(session, actor=FINANCE, as_of=AS_OF)
    keys = {(p.practice_npi, p.payer_id): p for p in listed.packets}
    assert set(keys) == {
        (PRACTICE_NPI, PAYER_ID),
        (PRACTICE_NPI, OTHER_PAYER),
        (OTHER_PRACTICE, PAYER_ID),
    }
    main = keys[(PRACTICE_NPI, PAYER_ID)]
    assert (main.lines, main.total) == (3, "208.00")
    assert main.payer_name == PAYER_NAME
    assert main.earliest_deadline == date(2026, 12, 10)
    assert main.urgent is True  # 13 days left
    assert main.by_category == {
        "bilateral_underpaid": "155.00",
        "fee_schedule_underpaid": "22.00",
        "mpr_overapplied": "31.00",
    }
    assert main.status == "open"
    assert main.filed_at is None
    assert main.follow_up_due is False
    assert main.items is None  # the list carries no lines
    assert main.id == str(open_packet_id(PRACTICE_NPI, PAYER_ID))
    assert keys[(PRACTICE_NPI, OTHER_PAYER)].total == "40.00"
    assert keys[(PRACTICE_NPI, OTHER_PAYER)].urgent is False
    assert keys[(OTHER_PRACTICE, PAYER_ID)].total == "12.50"
    # the most urgent packet is listed first
    assert listed.packets[0].id == main.id


def test_lines_ordered_by_deadline_then_claim_then_line(session: Session) -> None:
    made = _three_packets(session)
    packet = service.get_packet(
        session, packet_id=open_packet_id(PRACTICE_NPI, PAYER_ID), actor=FINANCE, as_of=AS_OF
    )
    assert packet.items is not None
    assert [i.id for i in packet.items] == [
        str(made["early"].id),  # type: ignore[attr-defined]
        str(made["same_day_b"].id),  # type: ignore[attr-defined]
        str(made["late"].id),  # type: ignore[attr-defined]
    ]
    assert [i.claim_id for i in packet.items] == ["A200", "A200", "A100"]
    assert sum(Decimal(i.variance or "0") for i in packet.items) == Decimal(packet.total)


@pytest.mark.parametrize(
    ("days_left", "in_packet", "expired"),
    [(-1, False, True), (0, True, False), (1, True, False)],
)
def test_deadline_today_is_still_open_and_past_is_expired(
    session: Session, days_left: int, in_packet: bool, expired: bool
) -> None:
    made = result(
        session, claim(session, remittance(session)), deadline=AS_OF + timedelta(days=days_left)
    )
    listed = service.list_packets(session, actor=FINANCE, as_of=AS_OF)
    assert (len(listed.packets) == 1) is in_packet
    assert listed.expired.lines == (1 if expired else 0)
    assert listed.expired.total == ("22.00" if expired else "0.00")
    page = service.list_expired(session, actor=FINANCE, as_of=AS_OF)
    assert [i.id for i in page.items] == ([str(made.id)] if expired else [])
    if expired:
        assert page.items[0].expired is True


@pytest.mark.parametrize(
    ("category", "status"),
    [
        ("reversed", "open"),
        ("matched", "open"),
        ("denied", "open"),
        ("overpaid", "open"),
        ("no_contract", "open"),
        ("no_rate", "open"),
        ("secondary_payment", "open"),
        ("fee_schedule_underpaid", "disputed"),
        ("fee_schedule_underpaid", "recovered"),
        ("fee_schedule_underpaid", "upheld"),
        ("fee_schedule_underpaid", "written_off"),
    ],
)
def test_never_in_a_packet(session: Session, category: str, status: str) -> None:
    owner = claim(session, remittance(session))
    result(session, owner, category=category, status=status, variance="-40.00")
    result(session, owner, category=category, status=status, deadline=AS_OF - timedelta(days=3))
    listed = service.list_packets(session, actor=FINANCE, as_of=AS_OF)
    assert [p for p in listed.packets if p.status == "open"] == []
    assert listed.expired.lines == 0


def test_a_stale_disputable_flag_does_not_put_a_reversed_result_in_a_packet(
    session: Session,
) -> None:
    result(session, claim(session, remittance(session)), category="reversed", disputable=True)
    assert service.list_packets(session, actor=FINANCE, as_of=AS_OF).packets == []


def test_practice_scoped_actor_sees_only_its_packets(session: Session) -> None:
    _three_packets(session)
    mine = scoped(OTHER_PRACTICE)
    listed = service.list_packets(session, actor=mine, as_of=AS_OF)
    assert [(p.practice_npi, p.payer_id) for p in listed.packets] == [(OTHER_PRACTICE, PAYER_ID)]
    with pytest.raises(PacketNotFound):
        service.get_packet(
            session, packet_id=open_packet_id(PRACTICE_NPI, PAYER_ID), actor=mine, as_of=AS_OF
        )
    with pytest.raises(PacketNotFound):
        service.file_packet(
            session, packet_id=open_packet_id(PRACTICE_NPI, PAYER_ID), actor=mine, as_of=AS_OF
        )
    own = service.get_packet(
        session, packet_id=open_packet_id(OTHER_PRACTICE, PAYER_ID), actor=mine, as_of=AS_OF
    )
    assert own.items is not None
    assert [i.claim_id for i in own.items] == ["B1"]


def test_scoped_actor_does_not_see_other_practices_expired_lines(session: Session) -> None:
    result(session, claim(session, remittance(session)), deadline=AS_OF - timedelta(days=1))
    mine = scoped(OTHER_PRACTICE)
    assert service.list_packets(session, actor=mine, as_of=AS_OF).expired.lines == 0
    assert service.list_expired(session, actor=mine, as_of=AS_OF).items == []
    assert service.list_expired(session, actor=FINANCE, as_of=AS_OF).lines == 1


@pytest.mark.parametrize("role", [Role.POSTER, Role.CLEARINGHOUSE])
def test_packets_are_for_finance(session: Session, role: Role) -> None:
    with pytest.raises(Forbidden):
        service.list_packets(session, actor=Actor(name="p", role=role), as_of=AS_OF)


@pytest.mark.parametrize("packet_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_unknown_packet_is_not_found(session: Session, packet_id: str) -> None:
    with pytest.raises(PacketNotFound):
        service.get_packet(session, packet_id=packet_id, actor=FINANCE, as_of=AS_OF)


def test_open_packet_id_is_stable_as_lines_come_and_go(session: Session) -> None:
    rem = remittance(session)
    first = result(session, claim(session, rem))
    before = service.list_packets(session, actor=FINANCE, as_of=AS_OF).packets[0].id
    result(session, claim(session, rem), variance="5.00")
    first.status = "written_off"
    session.flush()
    after = service.list_packets(session, actor=FINANCE, as_of=AS_OF).packets[0]
    assert after.id == before
    assert after.total == "5.00"


def test_items_page_through_a_cursor(session: Session) -> None:
    rem = remittance(session)
    made = [
        result(
            session, claim(session, rem, f"C{n:02}"), deadline=date(2027, 1, 1) + timedelta(n % 3)
        )
        for n in range(7)
    ]
    pid = open_packet_id(PRACTICE_NPI, PAYER_ID)
    whole = service.get_packet(session, packet_id=pid, actor=FINANCE, as_of=AS_OF)
    assert whole.items is not None
    assert len(whole.items) == 7
    assert whole.next_cursor is None
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = service.get_packet(
            session, packet_id=pid, actor=FINANCE, as_of=AS_OF, cursor=cursor, limit=3
        )
        assert page.items is not None
        assert page.lines == 7
        assert page.total == "154.00"
        seen += [i.id for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [i.id for i in whole.items]
    assert sorted(seen) == sorted(str(m.id) for m in made)


def test_a_bad_cursor_is_invalid_input(session: Session) -> None:
    result(session, claim(session, remittance(session)))
    with pytest.raises(InvalidInput):
        service.get_packet(
            session,
            packet_id=open_packet_id(PRACTICE_NPI, PAYER_ID),
            actor=FINANCE,
            as_of=AS_OF,
            cursor="garbage!",
        )


def test_result_without_a_deadline_stays_in_the_open_packet_last(session: Session) -> None:
    rem = remittance(session)
    unknown = result(session, claim(session, rem, "Z1"), deadline=None)
    dated = result(session, claim(session, rem, "Z2"), deadline=date(2027, 2, 1))
    packet = service.get_packet(
        session, packet_id=open_packet_id(PRACTICE_NPI, PAYER_ID), actor=FINANCE, as_of=AS_OF
    )
    assert packet.items is not None
    assert [i.id for i in packet.items] == [str(dated.id), str(unknown.id)]
    assert packet.earliest_deadline == date(2027, 2, 1)


def test_reading_a_packet_is_audited_without_phi(session: Session) -> None:
    from sqlalchemy import select

    from app.db.models import AuditEntry

    result(session, claim(session, remittance(session)))
    packet = service.get_packet(
        session, packet_id=open_packet_id(PRACTICE_NPI, PAYER_ID), actor=FINANCE, as_of=AS_OF
    )
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "dispute_packet.read")
    ).one()
    assert entry.object_id == packet.id
    assert entry.actor_key_id == FINANCE.key_id
    assert "DOE" not in str(entry.details)


# ---------------------------------------------------------------- filed packet pages


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6])
def test_filed_packets_page_through_a_cursor(session: Session, limit: int) -> None:
    newest_first = filed_packets(session, 5)
    whole = service.list_packets(session, actor=FINANCE, as_of=AS_OF)
    assert [p.id for p in whole.packets if p.status != "open"] == newest_first
    assert whole.next_cursor is None
    pages = [service.list_packets(session, actor=FINANCE, as_of=AS_OF, limit=limit)]
    while pages[-1].next_cursor:
        cursor = pages[-1].next_cursor
        pages.append(
            service.list_packets(session, actor=FINANCE, as_of=AS_OF, cursor=cursor, limit=limit)
        )
    # the open packet only on the first page, the expired total on each
    assert [p.status for p in pages[0].packets][:1] == ["open"]
    assert all(p.status != "open" for page in pages[1:] for p in page.packets)
    assert all(page.expired == whole.expired for page in pages)
    filed = [p.id for page in pages for p in page.packets if p.status != "open"]
    assert filed == newest_first
    assert all(len([p for p in page.packets if p.status != "open"]) <= limit for page in pages)
    assert len(pages) == max(1, -(-5 // limit))


def test_filed_packet_pages_keep_the_scope(session: Session) -> None:
    filed_packets(session, 3)
    other = scoped(OTHER_PRACTICE)
    page = service.list_packets(session, actor=other, as_of=AS_OF, limit=1)
    assert page.packets == []
    assert page.next_cursor is None


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJmIiwgWzFdXQ"])
def test_a_bad_packet_list_cursor_is_invalid_input(session: Session, cursor: str) -> None:
    with pytest.raises(InvalidInput):
        service.list_packets(session, actor=FINANCE, as_of=AS_OF, cursor=cursor, limit=5)


def test_a_cursor_of_another_list_is_refused(session: Session) -> None:
    rem = remittance(session)
    for n in range(3):
        result(session, claim(session, rem, f"L{n}"), variance="5.00")
    session.flush()
    packet_id = service.list_packets(session, actor=FINANCE, as_of=AS_OF).packets[0].id
    lines = service.get_packet(session, packet_id=packet_id, actor=FINANCE, as_of=AS_OF, limit=1)
    assert lines.next_cursor
    with pytest.raises(InvalidInput, match="not for this list"):
        service.list_packets(session, actor=FINANCE, as_of=AS_OF, cursor=lines.next_cursor, limit=5)
