"""Simultaneous uploads with real commits on PostgreSQL (repricing.md §6 §7,
spec/interfaces.md "POST /v1/remittances"): the same file sent 20 times at once is
stored once and answered ``duplicate`` to the others; 20 different files sent at once
all land; reversals racing their originals end linked — every original reversed
exactly once, its results ``reversed``; writers of the same dispute totals never wait
for each other.

Each upload is the API's unit of work: its own session and transaction through
``ingest_file``, committed at the end, started together behind a barrier.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR
from app.db import models
from app.disputes import repository as disputes_repo
from app.reconciliation.schemas import FileResult
from app.reconciliation.service import ingest_file
from benchmarks.gen835 import generate_835
from tests.factories import make_pricing_result
from tests.reliability.pg import engine_for, throwaway_database

pytestmark = pytest.mark.postgres_only

UPLOADS = 20


def _upload(engine: Engine, data: bytes) -> FileResult:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return ingest_file(
            session, data=data, filename="race.835", actor=CLI_ACTOR, validate_inline_lines=0
        )


def _all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [f.result(timeout=120) for f in [pool.submit(run, c) for c in calls]]


def _count(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture(scope="module")
def engine() -> Any:
    with throwaway_database("race") as url:
        eng = engine_for(url)
        yield eng
        eng.dispose()


@pytest.fixture(autouse=True)
def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = ", ".join(t.name for t in models.Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))


def test_the_same_file_twenty_times_at_once_is_stored_once(engine: Engine) -> None:
    data = generate_835(30, trace_number="SAME0001")
    results = _all_at_once([lambda: _upload(engine, data)] * UPLOADS)
    statuses = sorted(r.status for r in results)
    assert statuses == ["duplicate"] * (UPLOADS - 1) + ["processed"]
    stored = next(r for r in results if r.status == "processed")
    assert {r.file_id for r in results} == {stored.file_id}
    assert _count(engine, models.EraFile) == 1
    assert _count(engine, models.ClaimPayment) == 30


def test_twenty_different_files_at_once_all_land(engine: Engine) -> None:
    files = [generate_835(10, seed=n, trace_number=f"DIFF{n:04d}") for n in range(UPLOADS)]
    results = _all_at_once([lambda data=data: _upload(engine, data) for data in files])
    assert [r.status for r in results] == ["processed"] * UPLOADS
    assert len({r.file_id for r in results}) == UPLOADS
    assert _count(engine, models.EraFile) == UPLOADS
    assert _count(engine, models.ClaimPayment) == 10 * UPLOADS


def _reversal_of(original: bytes, trace: str) -> bytes:
    """The same claim payments reversed (CLP02 = 22, amounts negated) under a new
    trace, as a payer sends a take-back."""
    text_ = original.decode()
    lines = []
    for segment in text_.split("~\n"):
        elements = segment.split("*")
        if elements[0] == "CLP":
            elements[2] = "22"
            elements[3:6] = [_negate(v) for v in elements[3:6]]
        elif elements[0] in ("SVC", "CAS"):
            index = (2, 3) if elements[0] == "SVC" else (3,)
            for i in index:
                elements[i] = _negate(elements[i])
        elif elements[0] == "BPR":
            elements[1], elements[2] = "H", "0"
        elif elements[0] == "TRN":
            elements[2] = trace
        lines.append("*".join(elements))
    return "~\n".join(lines).encode()


def _negate(value: str) -> str:
    return value[1:] if value.startswith("-") else f"-{value}" if value else value


def test_reversals_racing_their_originals_end_consistent(engine: Engine) -> None:
    pairs = []
    for n in range(4):
        original = generate_835(
            5, seed=100 + n, trace_number=f"ORIG{n:04d}", payment_date="20260615", plb=False
        )
        pairs.append((original, _reversal_of(original, f"REVR{n:04d}")))
    calls = [lambda d=d: _upload(engine, d) for pair in pairs for d in pair]
    results = _all_at_once(calls)
    assert [r.status for r in results] == ["processed"] * len(calls)

    with Session(engine) as session:
        claims = session.scalars(select(models.ClaimPayment)).all()
        originals = [c for c in claims if c.status_code != "22"]
        reversals = {c.id: c for c in claims if c.status_code == "22"}
        assert len(originals) == len(reversals) == 20
        for claim in originals:
            assert claim.reversed_by_id in reversals, claim.claim_id
            assert reversals[claim.reversed_by_id].reverses_id == claim.id
        assert sorted(r.reverses_id for r in reversals.values()) == sorted(c.id for c in originals)
        categories = session.execute(
            select(models.PricingResult.category, func.count()).group_by(
                models.PricingResult.category
            )
        ).all()
        assert dict(categories) == {"reversed": 20 * 3}


def test_writers_of_the_same_dispute_totals_never_wait_for_each_other(engine: Engine) -> None:
    """Two transactions add results of the same totals key and fold the deltas, both
    still open at once (clearinghouses post many one-claim files together): no row
    lock is shared, so neither waits — with a shared row updated in place, the second
    would wait for the first to commit and hit the lock timeout here. Once both commit,
    the key's totals hold all three results."""
    with Session(engine) as setup, setup.begin():
        make_pricing_result(setup)
    first, second = Session(engine), Session(engine)
    try:
        for session in (first, second):
            session.execute(text("SET LOCAL lock_timeout = '2s'"))
            make_pricing_result(session)
            disputes_repo.compact_totals(session)  # skips the rows the other is folding
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
    with Session(engine) as session:
        totals = disputes_repo.kept_totals(session)
    assert [(n, variance) for n, variance, _ in totals.values()] == [(3, Decimal("66.00"))]
