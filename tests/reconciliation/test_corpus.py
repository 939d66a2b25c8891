"""Every third-party 835 of ``../shared/corpus/835`` ingested into an empty database
(each test's rolled-back transaction): it ends as MANIFEST.tsv's ``expected`` says —
processed with exactly its claims read, or rejected with located errors, never an
unhandled exception — and no patient name or member id reaches a log."""

from __future__ import annotations

import csv
import logging
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from app.reconciliation.prepare import claim_identity
from app.x12 import schemas as x12
from app.x12.errors import X12Rejected
from app.x12.reader import parse_835
from tests.reconciliation.conftest import Ingest, row_counts
from tests.support import SHARED

CORPUS = SHARED / "corpus" / "835"


def manifest() -> list[dict[str, str]]:
    path = CORPUS / "MANIFEST.tsv"
    if not path.exists():
        return [{"file": "(corpus absent)", "expected": "absent"}]
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _secrets(data: bytes) -> set[str]:
    """Patient and insured names and member ids of the file (values long enough to
    be meaningful, and not masking placeholders)."""
    try:
        parsed = parse_835(data)
    except X12Rejected:
        return set()
    values: set[str] = set()
    for remittance in parsed.remittances:
        for claim in remittance.claims:
            for value in (
                claim.patient_name,
                claim.insured_name,
                claim.patient_member_id,
                claim.insured_member_id,
            ):
                if value and len(value) >= 5 and set(value) - set("X9, "):
                    values.add(value)
    return values


@pytest.mark.parametrize("row", manifest(), ids=lambda row: row["file"])
def test_corpus_file_ingests_as_the_manifest_says(
    session: Session,
    ingest: Ingest,
    row: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    if row["expected"] == "absent":
        pytest.skip("needs ../shared/corpus/835 (present in CI, absent in a plain clone)")
    data = (CORPUS / row["file"]).read_bytes()
    caplog.set_level(logging.DEBUG)
    before = row_counts(session)

    rejected: X12Rejected | None = None
    try:
        # pyx12's full validation inline for the small files only: it is slow
        answer = ingest(data, filename=row["file"], validate_inline_lines=300)
    except X12Rejected as exc:
        rejected = exc

    if rejected is not None:
        assert row["expected"] in ("rejected", "either"), rejected.message
        assert rejected.findings
        assert all(f.message for f in rejected.findings)
        located = any(f.segment_number is not None or f.segment for f in rejected.findings)
        assert located or "835" in rejected.message or "ISA" in rejected.message
        assert row_counts(session) == before
    else:
        assert row["expected"] in ("processed", "either"), answer.status
        assert answer.status == "processed"
        assert answer.claims == int(row["claims"])
        counts = row_counts(session)
        assert counts["era_files"] == before["era_files"] + 1
        assert counts["claim_payments"] == answer.claims - answer.duplicates

    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in _secrets(data):
        assert secret not in logged


def test_identity_ignores_how_the_amount_is_written() -> None:
    remittance = x12.Remittance(
        1, "0001", None, "I", Decimal("1"), "C", "CHK", None, "1", "T", "1846543210", None
    )
    a = x12.ClaimPayment(1, "E2", "1", Decimal("10"), Decimal("536"))
    b = x12.ClaimPayment(2, "E2", "1", Decimal("10.00"), Decimal("536.00"))
    c = x12.ClaimPayment(3, "E2", "22", Decimal("10.00"), Decimal("536.00"))
    assert claim_identity(remittance, a) == claim_identity(remittance, b)
    assert claim_identity(remittance, a) != claim_identity(remittance, c)
