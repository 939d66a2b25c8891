"""The parents of the rows the ingest writes in bulk are checked, locked and cascaded
as foreign keys do, on both databases: on SQLite by foreign keys, on PostgreSQL by
triggers that check a statement's rows at once (migration a7c3e9f1d2b4). Each test
writes through the ORM, a bulk INSERT, or COPY (``repository.insert_rows``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from app.db.models import (
    PER_STATEMENT_FOREIGN_KEYS,
    ClaimPayment,
    ContractVersion,
    EraFile,
    PricingResult,
    Remittance,
    ServiceLine,
)
from app.reconciliation import repository
from tests.factories import (
    make_claim,
    make_contract_version,
    make_line,
    make_pricing_result,
    make_remittance,
)

# one row (an INSERT), and more than SMALL_INSERT_ROWS (a COPY on PostgreSQL)
SIZES = [1, repository.SMALL_INSERT_ROWS + 1]


def _copies(row: Any, count: int, **changes: Any) -> list[dict[str, Any]]:
    """``count`` new rows with ``row``'s stored values (new ids), then ``changes``."""
    columns = [c for c in inspect(type(row)).columns if c.computed is None]
    out = []
    for _ in range(count):
        values = {c.key: getattr(row, c.key) for c in columns}
        values["id"] = uuid.uuid4()
        if "identity" in values:
            values["identity"] = uuid.uuid4().hex
        out.append(values | changes)
    return out


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    with session.begin_nested():
        repository.insert_rows(session, model, rows)


def _refused(session: Session, model: type[Any], rows: list[dict[str, Any]], key: str) -> None:
    with pytest.raises(IntegrityError) as caught:
        _insert(session, model, rows)
    if session.get_bind().dialect.name == "postgresql":
        # the foreign key's own name, as PostgreSQL would report it
        assert caught.value.orig.diag.constraint_name == key  # type: ignore[union-attr]
        assert "is not present in table" in str(caught.value)


def _count(session: Session, model: type[Any], *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.mark.parametrize("size", SIZES)
def test_lines_and_claims_need_their_parents(session: Session, size: int) -> None:
    line = make_line(session)
    claim = session.get(ClaimPayment, line.claim_payment_id)
    # the last of the rows is the orphan: the others do not hide it
    lines = _copies(line, size)
    lines[-1]["claim_payment_id"] = uuid.uuid4()
    _refused(session, ServiceLine, lines, "fk_service_lines_claim_payment_id_claim_payments")
    claims = _copies(claim, size)
    claims[-1]["remittance_id"] = uuid.uuid4()
    _refused(session, ClaimPayment, claims, "fk_claim_payments_remittance_id_remittances")
    assert _count(session, ServiceLine) == 1
    assert _count(session, ClaimPayment) == 1

    _insert(session, ServiceLine, _copies(line, size))
    _insert(session, ClaimPayment, _copies(claim, size))
    assert _count(session, ServiceLine) == 1 + size
    assert _count(session, ClaimPayment) == 1 + size


@pytest.mark.parametrize("size", SIZES)
def test_results_need_their_line_and_contract_version(session: Session, size: int) -> None:
    version = make_contract_version(session)
    result = make_pricing_result(session, contract_version_id=version.id)
    line = session.get(ServiceLine, result.service_line_id)
    lines = _copies(line, size)
    _insert(session, ServiceLine, lines)

    def results(**last: Any) -> list[dict[str, Any]]:
        rows = _copies(result, size)
        for row, of in zip(rows, lines, strict=True):
            row["service_line_id"] = of["id"]
        rows[-1].update(last)
        return rows

    _refused(
        session,
        PricingResult,
        results(service_line_id=uuid.uuid4()),
        "fk_pricing_results_service_line_id_service_lines",
    )
    _refused(
        session,
        PricingResult,
        results(contract_version_id=uuid.uuid4()),
        "fk_pricing_results_contract_version_id_contract_versions",
    )
    # a key with a null in it is not checked
    _insert(session, PricingResult, results(contract_version_id=None))
    assert _count(session, PricingResult) == 1 + size


def test_changing_a_key_to_a_missing_parent_is_refused(session: Session) -> None:
    result = make_pricing_result(session)
    line = session.get(ServiceLine, result.service_line_id)
    assert line is not None
    changes: list[tuple[type[Any], Any, dict[str, Any]]] = [
        (PricingResult, PricingResult.id == result.id, {"service_line_id": uuid.uuid4()}),
        (PricingResult, PricingResult.id == result.id, {"contract_version_id": uuid.uuid4()}),
        (ServiceLine, ServiceLine.id == line.id, {"claim_payment_id": uuid.uuid4()}),
        (ClaimPayment, ClaimPayment.id == line.claim_payment_id, {"remittance_id": uuid.uuid4()}),
    ]
    for model, where, values in changes:
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(update(model).where(where).values(**values))
    # to another stored parent: allowed
    other = make_line(session, claim=session.get(ClaimPayment, line.claim_payment_id))
    session.execute(
        update(PricingResult).where(PricingResult.id == result.id).values(service_line_id=other.id)
    )


def test_a_parent_key_in_use_cannot_change(session: Session) -> None:
    result = make_pricing_result(session)
    line = session.get(ServiceLine, result.service_line_id)
    assert line is not None
    for model, id_ in (
        (ServiceLine, line.id),
        (ClaimPayment, line.claim_payment_id),
        (Remittance, result.remittance_id),
    ):
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(update(model).where(model.id == id_).values(id=uuid.uuid4()))
    # a line no row refers to may change its id
    spare = make_line(session, claim=session.get(ClaimPayment, line.claim_payment_id))
    session.execute(update(ServiceLine).where(ServiceLine.id == spare.id).values(id=uuid.uuid4()))


def test_deleting_a_remittance_deletes_everything_under_it(session: Session) -> None:
    kept = make_pricing_result(session)
    remittance = make_remittance(session)
    claim = make_claim(session, remittance=remittance)
    lines = [make_line(session, claim=claim) for _ in range(3)]
    for line in lines:
        make_pricing_result(session, line=line)
    session.expunge_all()

    session.execute(delete(Remittance).where(Remittance.id == remittance.id))
    assert _count(session, ClaimPayment, ClaimPayment.remittance_id == remittance.id) == 0
    assert _count(session, ServiceLine, ServiceLine.claim_payment_id == claim.id) == 0
    assert _count(session, PricingResult, PricingResult.claim_payment_id == claim.id) == 0
    # the other remittance's rows stay
    assert _count(session, PricingResult, PricingResult.id == kept.id) == 1
    assert _count(session, ServiceLine) == 1


def test_deleting_a_contract_version_leaves_its_results_without_one(session: Session) -> None:
    version = make_contract_version(session)
    other = make_contract_version(session, contract_id="other-ppo")
    mine = make_pricing_result(session, contract_version_id=version.id)
    theirs = make_pricing_result(session, contract_version_id=other.id)
    session.expunge_all()

    session.execute(delete(ContractVersion).where(ContractVersion.id == version.id))
    by_id = dict(session.execute(select(PricingResult.id, PricingResult.contract_version_id)).all())
    assert by_id == {mine.id: None, theirs.id: other.id}


def test_postgresql_keeps_these_keys_by_triggers(session: Session, is_postgres: bool) -> None:
    """What the tests above prove on PostgreSQL is the triggers' work: none of these
    is a constraint there."""
    if not is_postgres:
        pytest.skip("PostgreSQL only: SQLite keeps these as foreign keys")
    names = set(
        session.scalars(text("SELECT conname FROM pg_constraint WHERE contype = 'f'")).all()
    )
    assert not names & PER_STATEMENT_FOREIGN_KEYS
    triggers = set(session.scalars(text("SELECT tgname FROM pg_trigger")).all())
    for name in PER_STATEMENT_FOREIGN_KEYS:
        assert {f"{name}_{end}" for end in ("new", "set", "gone", "moved")} <= triggers


@pytest.fixture
def committed_line(engine: Engine, is_postgres: bool) -> Iterator[ServiceLine]:
    """A line and its parents, back to the file, committed outside the test's
    transaction; the file (and with it the rest) is deleted after."""
    if not is_postgres:
        pytest.skip("PostgreSQL only: SQLite has one writer at a time")
    with Session(engine, expire_on_commit=False) as session:
        line = make_line(session)
        claim = session.get(ClaimPayment, line.claim_payment_id)
        assert claim is not None
        file_id = claim.file_id
        session.commit()
    try:
        yield line
    finally:
        with Session(engine) as session:
            session.execute(delete(EraFile).where(EraFile.id == file_id))
            session.commit()
            # nothing of it is left for the tests that follow
            assert _count(session, ServiceLine, ServiceLine.id == line.id) == 0


def test_a_parent_in_use_by_an_open_transaction_cannot_be_deleted(
    engine: Engine, committed_line: ServiceLine
) -> None:
    """As with a foreign key, writing a child locks its parent (FOR KEY SHARE) until
    the writer ends: another transaction cannot delete it meanwhile (without the
    lock it would, and the writer's lines would be left without their claim)."""
    lines = _copies(committed_line, repository.SMALL_INSERT_ROWS + 10)
    claim_id = committed_line.claim_payment_id
    with Session(engine) as writer, Session(engine) as deleter:
        repository.insert_rows(writer, ServiceLine, lines)  # a COPY, not committed
        deleter.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            deleter.execute(delete(ClaimPayment).where(ClaimPayment.id == claim_id))
        deleter.rollback()
        writer.rollback()
