"""Fuzzing the contract loader (spec/contracts.md "Validation"): random YAML documents
over the contract keys with values of every YAML type, random fee schedule CSVs and
random bytes. Validation answers with problems located by file and line — never an
exception — and loading stores a valid batch or raises ``ContractInvalid`` and
stores nothing.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR
from app.contracts.errors import ContractInvalid
from app.contracts.loader import ParseResult, parse_documents
from app.contracts.service import load_documents
from app.db import models
from tests.reliability.generators import contract_documents, contract_with_rates

VALID_CSV = b"code,modifier,non_facility,facility\n64483,,412.00,236.50\n77003,26,45.10,\n"


def check_documents(files: dict[str, bytes]) -> ParseResult:
    result = parse_documents(files)
    assert isinstance(result, ParseResult)
    names = set(files) | {"(upload)"}
    for problem in result.problems:
        assert isinstance(problem.line, int)
        assert problem.line >= 0
        assert problem.message
        # located in one of the uploaded files (or a CSV a YAML names)
        assert problem.file in names or problem.file.endswith((".csv", ".yaml", ".yml")), problem
    assert result.ok == (not result.problems)
    for loaded in result.contracts:
        for row in loaded.fee_rows:
            assert row.non_facility.is_finite()
    return result


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(contract_documents(), contract_with_rates()))
def test_contract_documents_are_validated_never_crash(files: dict[str, bytes]) -> None:
    check_documents(files)


def _counts(session: Session) -> tuple[int, int]:
    versions = session.execute(select(func.count()).select_from(models.ContractVersion))
    rows = session.execute(select(func.count()).select_from(models.FeeScheduleRow))
    return versions.scalar_one(), rows.scalar_one()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.one_of(contract_documents(), contract_with_rates()))
def test_contract_uploads_store_all_or_nothing(session: Session, files: dict[str, bytes]) -> None:
    files = {"fees-0.csv": VALID_CSV, **files}
    before = _counts(session)
    try:
        with session.begin_nested():
            report = load_documents(session, files=files, actor=CLI_ACTOR)
    except ContractInvalid as error:
        invalid: ContractInvalid | None = error
    else:
        invalid = None
    if invalid is not None:
        assert invalid.problems
        assert all({"file", "line", "message"} == set(d) for d in invalid.details)
        assert _counts(session) == before
        return
    assert report.items
    versions, _rows = _counts(session)
    assert versions >= before[0]
