"""The database itself refuses orphan CAS rows and deletes them with their parents
(migration e5f9c2a3b7d4: each adjustment is checked once, against the parent it
belongs to), whichever way the rows are written: ORM, bulk INSERT, or COPY."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import Adjustment, ClaimPayment, ServiceLine
from app.reconciliation import repository
from tests.factories import make_claim, make_line


def _cas(claim_id: uuid.UUID, line_id: uuid.UUID | None, **overrides: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "claim_payment_id": claim_id,
        "service_line_id": line_id,
        "group_code": "CO",
        "reason_code": "45",
        "amount": Decimal("10.00"),
        "quantity": None,
        **overrides,
    }


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    with session.begin_nested():
        repository.insert_rows(session, Adjustment, rows)


def _refused(session: Session, rows: list[dict[str, Any]]) -> None:
    with pytest.raises(IntegrityError):
        _write(session, rows)


def _count(session: Session, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(Adjustment).where(*where)) or 0)


@pytest.fixture
def two_claims(session: Session) -> tuple[ClaimPayment, ServiceLine, ClaimPayment, ServiceLine]:
    first = make_claim(session)
    second = make_claim(session, claim_id="PA2")
    return first, make_line(session, claim=first), second, make_line(session, claim=second)


# one row (an INSERT), and more than SMALL_INSERT_ROWS (a COPY on PostgreSQL)
SIZES = [1, repository.SMALL_INSERT_ROWS + 1]


@pytest.mark.parametrize("size", SIZES)
def test_a_line_cas_needs_a_stored_line_of_its_own_claim(
    session: Session, two_claims: tuple[Any, ...], size: int
) -> None:
    first, first_line, second, second_line = two_claims
    good = [_cas(first.id, first_line.id) for _ in range(size - 1)]
    # a line that does not exist
    _refused(session, [*good, _cas(first.id, uuid.uuid4())])
    # a line of another claim payment
    _refused(session, [*good, _cas(first.id, second_line.id)])
    # a claim payment that does not exist, with a real line
    _refused(session, [*good, _cas(uuid.uuid4(), first_line.id)])
    assert _count(session) == 0
    repository.insert_rows(
        session, Adjustment, [*good, _cas(first.id, first_line.id), _cas(second.id, second_line.id)]
    )
    session.flush()
    assert _count(session) == size + 1


@pytest.mark.parametrize("size", SIZES)
def test_a_claim_level_cas_needs_a_stored_claim(
    session: Session, two_claims: tuple[Any, ...], size: int
) -> None:
    first = two_claims[0]
    good = [_cas(first.id, None) for _ in range(size - 1)]
    _refused(session, [*good, _cas(uuid.uuid4(), None)])
    assert _count(session) == 0
    repository.insert_rows(session, Adjustment, [*good, _cas(first.id, None)])
    session.flush()
    assert _count(session, Adjustment.claim_level_payment_id == first.id) == size
    assert _count(session, Adjustment.claim_level_payment_id.is_(None)) == 0


def test_changing_a_cas_into_an_orphan_is_refused(
    session: Session, two_claims: tuple[Any, ...]
) -> None:
    first, first_line, second, second_line = two_claims
    repository.insert_rows(session, Adjustment, [_cas(first.id, first_line.id)])
    session.flush()
    changes: list[dict[str, Any]] = [
        {"service_line_id": second_line.id},  # the line of another claim
        {"claim_payment_id": second.id},  # its line is not of that claim
        {"service_line_id": None, "claim_payment_id": uuid.uuid4()},  # claim-level, no claim
    ]
    for values in changes:
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(update(Adjustment).values(**values))
    # the line's CAS may become its claim's claim-level CAS
    session.execute(update(Adjustment).values(service_line_id=None))
    assert session.scalar(select(Adjustment.claim_level_payment_id)) == first.id


def test_a_line_in_use_keeps_its_claim(session: Session, two_claims: tuple[Any, ...]) -> None:
    first, first_line, second, _ = two_claims
    repository.insert_rows(session, Adjustment, [_cas(first.id, first_line.id)])
    session.flush()
    # moving the line to another claim payment would leave its CAS on the old one
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            update(ServiceLine)
            .where(ServiceLine.id == first_line.id)
            .values(claim_payment_id=second.id)
        )


def test_deleting_a_line_or_a_claim_deletes_their_cas(session: Session) -> None:
    claim = make_claim(session)
    kept_line, gone_line = make_line(session, claim=claim), make_line(session, claim=claim)
    other = make_claim(session, claim_id="PA2")
    other_line = make_line(session, claim=other)
    repository.insert_rows(
        session,
        Adjustment,
        [
            _cas(claim.id, kept_line.id),
            _cas(claim.id, gone_line.id),
            _cas(claim.id, gone_line.id, group_code="PR", reason_code="2"),
            _cas(claim.id, None),
            _cas(other.id, other_line.id),
            _cas(other.id, None),
        ],
    )
    session.flush()

    session.execute(delete(ServiceLine).where(ServiceLine.id == gone_line.id))
    assert _count(session, Adjustment.service_line_id == gone_line.id) == 0
    assert _count(session, Adjustment.claim_payment_id == claim.id) == 2

    session.execute(delete(ClaimPayment).where(ClaimPayment.id == claim.id))
    assert _count(session, Adjustment.claim_payment_id == claim.id) == 0
    assert session.scalar(select(func.count()).where(ServiceLine.claim_payment_id == claim.id)) == 0
    # the other claim payment's CAS, line-level and claim-level, stay
    assert _count(session, Adjustment.claim_payment_id == other.id) == 2
