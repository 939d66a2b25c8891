"""A claim payment's and a service line's CAS live in their own row (``adjustments``,
migration c9e5a1b3d7f2): whichever way the rows are written — ORM, bulk INSERT, or
COPY — the arrays read back as written; a row written without any has an empty one,
never NULL; and deleting a line or a claim payment takes its CAS with it."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Integer, Uuid, column, delete, insert, null, select, table, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import ClaimPayment, ServiceLine
from app.db.types import JSONDoc, Money
from app.reconciliation import repository
from tests.factories import make_claim, make_line

# claim-level and line CAS as the ingest stores them: texts of the stored values, a
# null quantity, a negative amount, codes JSON has to escape
CAS: list[list[Any]] = [
    ["CO", "45", "860.00", None],
    ["PR", "2", "-3.50", "1.500"],
    ['q"', "\\é", "0.00", "2.000"],
]

# one row (an INSERT), and more than SMALL_INSERT_ROWS (a COPY on PostgreSQL)
SIZES = [1, repository.SMALL_INSERT_ROWS + 1]


def _copies(row: Any, count: int) -> list[dict[str, Any]]:
    """``count`` new rows with ``row``'s stored values (new ids), each with some of
    ``CAS`` (none, one, all)."""
    values = {c.key: getattr(row, c.key) for c in type(row).__table__.columns}
    out = []
    for n in range(count):
        copy = values | {"id": uuid.uuid4(), "adjustments": CAS[: n % 4]}
        if "identity" in copy:
            copy["identity"] = uuid.uuid4().hex
        out.append(copy)
    return out


@pytest.mark.parametrize("size", SIZES)
def test_cas_read_back_as_written(session: Session, size: int) -> None:
    line = make_line(session, adjustments=CAS)
    claim = session.get(ClaimPayment, line.claim_payment_id)
    assert claim is not None
    lines = _copies(line, size)
    claims = _copies(claim, size)
    with session.begin_nested():
        repository.insert_rows(session, ClaimPayment, claims)
        repository.insert_rows(session, ServiceLine, lines)
    session.expire_all()

    for model, rows in ((ServiceLine, lines), (ClaimPayment, claims)):
        stored = dict(
            session.execute(
                select(model.id, model.adjustments).where(model.id.in_([r["id"] for r in rows]))
            ).all()
        )
        assert stored == {r["id"]: r["adjustments"] for r in rows}
    # the ORM's row, also as domain objects: amounts and quantities as the Money and
    # Quantity columns read them
    stored_line = session.get(ServiceLine, line.id)
    assert stored_line is not None
    assert stored_line.adjustments == CAS
    got = repository.adjustments_of_claims([], [stored_line])
    assert [(a.carc, a.amount, a.quantity) for a in got[claim.id, line.id]] == [
        ("CO-45", Decimal("860.00"), None),
        ("PR-2", Decimal("-3.50"), Decimal("1.5")),
        ('q"-\\é', Decimal("0.00"), Decimal("2")),
    ]


def test_a_row_written_without_cas_has_none_and_never_null(session: Session) -> None:
    claim = make_claim(session)
    # a plain INSERT naming none of the JSON defaults the model fills in: the server's
    lines = table(
        "service_lines",
        column("id", Uuid()),
        column("claim_payment_id", Uuid()),
        column("position", Integer()),
        column("modifiers", JSONDoc),
        column("original_modifiers", JSONDoc),
        column("remark_codes", JSONDoc),
        column("charge_amount", Money()),
        column("paid_amount", Money()),
    )
    line_id = uuid.uuid4()
    session.execute(
        insert(lines).values(
            id=line_id,
            claim_payment_id=claim.id,
            position=1,
            modifiers=[],
            original_modifiers=[],
            remark_codes=[],
            charge_amount=Decimal("1.00"),
            paid_amount=Decimal("1.00"),
        )
    )
    assert session.scalar(select(ServiceLine.adjustments).where(ServiceLine.id == line_id)) == []
    for model, id_ in ((ServiceLine, line_id), (ClaimPayment, claim.id)):
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(update(model).where(model.id == id_).values(adjustments=null()))


def test_deleting_a_line_or_a_claim_deletes_their_cas(session: Session) -> None:
    claim = make_claim(session, adjustments=CAS[:1])
    kept_line = make_line(session, claim=claim, adjustments=CAS[1:2])
    gone_line = make_line(session, claim=claim, position=2, adjustments=CAS)
    other = make_claim(session, claim_id="PA2", adjustments=CAS[2:])
    other_line = make_line(session, claim=other, adjustments=CAS[:2])
    session.expunge_all()

    def stored() -> dict[Any, list[str]]:
        ids = [claim.id, other.id]
        claims = session.scalars(select(ClaimPayment).where(ClaimPayment.id.in_(ids))).all()
        found = repository.adjustments_of_claims(claims, repository.lines_of_claims(session, ids))
        return {owner: [a.carc for a in cas] for owner, cas in found.items()}

    session.execute(delete(ServiceLine).where(ServiceLine.id == gone_line.id))
    assert stored() == {
        (claim.id, None): ["CO-45"],
        (claim.id, kept_line.id): ["PR-2"],
        (other.id, None): ['q"-\\é'],
        (other.id, other_line.id): ["CO-45", "PR-2"],
    }
    session.execute(delete(ClaimPayment).where(ClaimPayment.id == claim.id))
    # the other claim payment's CAS, line-level and claim-level, stay
    assert stored() == {
        (other.id, None): ['q"-\\é'],
        (other.id, other_line.id): ["CO-45", "PR-2"],
    }
