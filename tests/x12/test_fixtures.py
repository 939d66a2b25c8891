"""Every hand-written file in tests/fixtures/era against its ``.expected.json``.

``X.expected.json`` gives ``outcome`` (processed / rejected); for processed files the
number of transactions, claim payments and service lines, the exact set of warning
codes (so every fixture must balance unless written to test the balancing warnings)
and field values by path (``remittances[0].claims[1].lines[0].units``); for rejected
files the error codes and where the first error is.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.x12.errors import X12Rejected
from app.x12.reader import ParsedFile, parse_835
from tests.support import FIXTURES

ERA = FIXTURES / "era"
FILES = sorted(ERA.glob("*.835"))
_STEP = re.compile(r"([a-z_]+)(?:\[(\d+)\])?")


def resolve(parsed: ParsedFile, path: str) -> Any:
    value: Any = parsed
    for part in path.split("."):
        match = _STEP.fullmatch(part)
        assert match, part
        value = getattr(value, match.group(1))
        if match.group(2) is not None:
            value = value[int(match.group(2))]
    return value


def plain(value: Any) -> Any:
    """Values as they are written in the JSON files."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def test_the_folder_has_the_fixtures_the_rules_need() -> None:
    names = {f.stem for f in FILES}
    assert len(names) >= 35
    for f in FILES:
        assert f.with_suffix("").with_suffix(".expected.json").name  # pairing below
        assert (ERA / f"{f.stem}.expected.json").exists(), f.name


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_fixture(path: Path) -> None:
    expected = json.loads((ERA / f"{path.stem}.expected.json").read_text())
    data = path.read_bytes()
    if expected["outcome"] == "rejected":
        with pytest.raises(X12Rejected) as caught:
            parse_835(data)
        error = caught.value
        assert error.code == "invalid_835"
        codes = {f.code for f in error.findings}
        assert set(expected["errors"]) <= codes, codes
        assert error.message.startswith("the 835 file cannot be read: ")
        assert error.details == [f.as_dict() for f in error.findings]
        for key, value in expected.get("first_error", {}).items():
            assert getattr(error.findings[0], key) == value, error.findings[0]
        return

    parsed = parse_835(data)
    assert len(parsed.remittances) == expected["transactions"]
    assert sum(len(r.claims) for r in parsed.remittances) == expected["claims"]
    lines = sum(len(c.lines) for r in parsed.remittances for c in r.claims)
    assert lines == expected["lines"]
    assert {w.code for w in parsed.warnings} == set(expected["warnings"]), [
        w.as_dict() for w in parsed.warnings
    ]
    for field_path, value in expected.get("fields", {}).items():
        assert plain(resolve(parsed, field_path)) == value, field_path


@pytest.mark.parametrize(
    ("name", "element", "segment"),
    [
        ("warn-se-count-and-control", "SE01", "SE"),
        ("warn-ge-iea-counts", "GE01", "GE"),
        ("warn-ge-iea-counts", "IEA02", "IEA"),
        ("warn-line-unbalanced", "SVC03", "SVC"),
        ("warn-claim-unbalanced", "CLP04", "CLP"),
        ("warn-payment-unbalanced", "BPR02", "BPR"),
        ("warn-component-separator", "SVC01", "SVC"),
        ("warn-unknown-version", "GS08", "GS"),
        ("warn-invalid-date", "DTM02", "DTM"),
    ],
)
def test_warnings_are_located(name: str, element: str, segment: str) -> None:
    parsed = parse_835((ERA / f"{name}.835").read_bytes())
    located = [w for w in parsed.warnings if w.element == element]
    assert located, [w.as_dict() for w in parsed.warnings]
    assert located[0].segment == segment
    assert located[0].segment_number
    assert located[0].segment_number > 1
