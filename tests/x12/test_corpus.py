"""The third-party corpus (../shared/corpus/835) read as its MANIFEST says, and the
spec's worked example files read to the values the repricing example relies on."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import pytest

from app.x12.errors import X12Rejected
from app.x12.reader import parse_835
from tests.support import SHARED, shared_path


def _manifest() -> list[dict[str, str]]:
    path = SHARED / "corpus" / "835" / "MANIFEST.tsv"
    if not path.exists():
        return [{"file": "MANIFEST.tsv", "expected": "absent"}]
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ROWS = _manifest()


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_corpus_file_reads_as_the_manifest_expects(row: dict[str, str]) -> None:
    data = shared_path("corpus", "835", row["file"]).read_bytes()
    expected = row["expected"]
    if expected == "rejected":
        with pytest.raises(X12Rejected) as caught:
            parse_835(data)
        findings = caught.value.findings
        assert findings
        assert any(f.segment_number or len(f.message) > 20 for f in findings)
        return
    try:
        parsed = parse_835(data)
    except X12Rejected as error:
        rejected: X12Rejected | None = error
    else:
        rejected = None
    if rejected is not None:
        assert expected == "either", rejected.message
        assert rejected.findings
        return
    assert expected in ("processed", "either")
    assert sum(len(r.claims) for r in parsed.remittances) == int(row["claims"])
    assert len(parsed.remittances) == int(row["transactions"])


@pytest.mark.parametrize(
    ("name", "warning_codes"),
    [
        ("linuxforhealth-x12__cob-contractural-adjustment.835", {"component_separator"}),
        ("affect-edi-835-parser__nevada_medicaid.txt", {"isa_format", "control_number"}),
        ("tigershark__835-example-2.txt", {"envelope_count", "segment_count"}),
        ("tastypackets-x12-parser__errorISA.edi", {"control_number"}),
        ("linuxforhealth-x12__tertiary-payment.835", {"procedure_code"}),
        ("oopfactory-x12parser__4010_835_DeIdent_01.dat", {"unknown_version"}),
    ],
)
def test_corpus_faults_are_warned(name: str, warning_codes: set[str]) -> None:
    parsed = parse_835(shared_path("corpus", "835", name).read_bytes())
    assert warning_codes <= {w.code for w in parsed.warnings}


def test_corpus_values_are_read() -> None:
    parsed = parse_835(
        shared_path("corpus", "835", "linuxforhealth-x12__secondary-payment.835").read_bytes()
    )
    claim = parsed.remittances[0].claims[1]
    line = claim.lines[0]
    assert (line.procedure_code, line.modifiers) == ("12345", ("26",))
    assert claim.lines[1].adjustments[0].carc == "PR-1"
    assert [a.amount for a in claim.lines[1].adjustments] == [
        Decimal("150.00"),
        Decimal("70.00"),
        Decimal("85.00"),
    ]
    tertiary = parse_835(
        shared_path("corpus", "835", "linuxforhealth-x12__tertiary-payment.835").read_bytes()
    )
    unreadable = tertiary.remittances[0].claims[0].lines[0]
    assert unreadable.procedure_code is None
    assert (unreadable.charge_amount, unreadable.paid_amount) == (
        Decimal("1766.50"),
        Decimal("187.50"),
    )
    nevada = parse_835(
        shared_path("corpus", "835", "affect-edi-835-parser__nevada_medicaid.txt").read_bytes()
    )
    plb_only = nevada.remittances[2]
    assert plb_only.claims == []
    assert len(plb_only.provider_adjustments) == 6


def _example(name: str) -> bytes:
    return shared_path("spec", "examples", name).read_bytes()


def test_worked_example_first_file() -> None:
    parsed = parse_835(_example("prairie-2026-06-15.835"))
    assert parsed.warnings == []
    (remittance,) = parsed.remittances
    assert remittance.payment_date == date(2026, 6, 15)
    assert remittance.payment_amount == Decimal("3171.90")
    assert remittance.payer_id == "55123"
    assert remittance.payee_npi == "1326048597"
    assert [c.claim_id for c in remittance.claims] == [f"E{i}" for i in range(1, 9)]
    lines = {line.line_control_number: line for c in remittance.claims for line in c.lines}
    assert sorted(lines) == sorted(
        ["E1A", "E1B", "E2A", "E2B", "E3A", "E3B", "E4A", "E5A", "E5B", "E6A", "E6B"]
        + ["E7A", "E8A"]
    )
    assert lines["E3B"].units == Decimal("2")
    assert lines["E3B"].procedure_code == "64484"
    e2b = lines["E2B"].adjustments
    assert [(a.carc, a.amount) for a in e2b] == [
        ("CO-45", Decimal("590.00")),
        ("CO-59", Decimal("186.00")),
    ]
    assert lines["E4A"].modifiers == ("50",)
    assert lines["E1B"].allowed_amount == Decimal("390.00")
    assert lines["E6B"].service_date == date(2026, 6, 8)
    assert remittance.claims[7].status_code == "2"


def test_worked_example_reversal_file() -> None:
    parsed = parse_835(_example("prairie-2026-07-20-reversal.835"))
    assert parsed.warnings == []
    reversal, corrected = parsed.remittances[0].claims
    assert reversal.is_reversal
    assert (reversal.charge_amount, reversal.paid_amount) == (
        Decimal("-2150.00"),
        Decimal("-536.00"),
    )
    assert [line.line_control_number for line in reversal.lines] == ["R2A", "R2B"]
    assert reversal.lines[0].units == Decimal("-1")
    assert corrected.payer_claim_number == "PH0002R"
    assert corrected.lines[1].allowed_amount == Decimal("155.00")
    assert parsed.remittances[0].payment_date == date(2026, 7, 20)
