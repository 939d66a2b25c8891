"""Fuzzed files through ingest into the real database (spec/parsing.md "Rejected
(nothing of the file is stored)", STYLE.md "one unit of work per ERA file").

Every drawn file is ingested with claims written in batches of two, so a rejection
found late in a file comes after rows were already written. A rejected file must
leave every table exactly as it was; an accepted one must add exactly the rows its
answer counts; nothing but ``X12Rejected`` may escape. On PostgreSQL this also proves
every value the reader accepts fits its column (lengths, NUMERIC precision).
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR
from app.db import models
from app.db.base import Base
from app.reconciliation import service
from app.x12.errors import X12Rejected
from tests.reliability.generators import Drawn835, oversized_835, well_formed_835, wild_835

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def table_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
        for table in Base.metadata.sorted_tables
    }


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write claims two at a time, so a rejection mid-file follows written batches."""
    monkeypatch.setattr(service, "BATCH_CLAIMS", 2)


def ingest_and_check(session: Session, data: bytes) -> str:
    before = table_counts(session)
    try:
        result = service.ingest_file(
            session, data=data, filename="fuzz.835", actor=CLI_ACTOR, validate_inline_lines=0
        )
    except X12Rejected:
        assert table_counts(session) == before, "a rejected file left rows behind"
        return "rejected"
    after = table_counts(session)
    grown = {name: after[name] - before[name] for name in after}
    if result.status == "duplicate":
        assert {k: v for k, v in grown.items() if k != "audit_log"} == dict.fromkeys(
            (k for k in grown if k != "audit_log"), 0
        )
        return "duplicate"
    assert result.status == "processed"
    assert grown["era_files"] == 1
    assert grown["remittances"] == len(result.remittance_ids) >= 1
    stored = session.execute(
        select(func.count())
        .select_from(models.ClaimPayment)
        .where(models.ClaimPayment.file_id == uuid.UUID(str(result.file_id)))
    ).scalar_one()
    assert stored == result.claims - result.duplicates
    assert grown["claim_payments"] == stored
    return "processed"


@FUZZ
@given(drawn=wild_835())
def test_a_wild_file_is_stored_whole_or_not_at_all(
    session: Session, small_batches: None, drawn: Drawn835
) -> None:
    ingest_and_check(session, drawn.data)


@FUZZ
@given(drawn=well_formed_835())
def test_a_well_formed_file_is_stored_whole(
    session: Session, small_batches: None, drawn: Drawn835
) -> None:
    assert ingest_and_check(session, drawn.data) in ("processed", "duplicate")


@FUZZ
@given(drawn=oversized_835())
def test_values_past_any_column_size_are_stored_or_rejected(
    session: Session, small_batches: None, drawn: Drawn835
) -> None:
    ingest_and_check(session, drawn.data)
