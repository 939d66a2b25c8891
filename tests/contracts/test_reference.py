"""The shipped reference data agrees with the public files it was built from
(``../shared/reference``), carries its source and release, and a newer release in
the folder is read without code changes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from app.contracts.reference import REFERENCE_DIR, load_reference, read_reference
from tests.support import ROOT, shared_path


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _mpfs_2025() -> list[dict[str, str]]:
    rows = _read(shared_path("reference", "pain_codes_mpfs.csv"))
    return [r for r in rows if r["year"] == "2025" and r["release"] == "RVU25D"]


def test_indicator_table_agrees_with_the_mpfs_file_for_every_code() -> None:
    data = load_reference()
    source = _mpfs_2025()
    with_values = [r for r in source if r["mult_proc"]]
    assert {(r["hcpcs"], r["mod"]) for r in with_values} == set(data.indicators_by_modifier)
    for row in with_values:
        ind = data.indicators_by_modifier[(row["hcpcs"], row["mod"])]
        assert (ind.multiple_procedure, ind.bilateral, ind.global_days, ind.status, ind.pctc) == (
            row["mult_proc"],
            row["bilat_surg"],
            row["global_days"],
            row["status_code"],
            row["pctc_ind"],
        ), row["hcpcs"]
        assert ind.release == "RVU25D"
    for row in with_values:
        if not row["mod"]:
            assert data.indicators[row["hcpcs"]].modifier == ""
    # a code the file has no values for (72275) is not in the table
    missing = {r["hcpcs"] for r in source if not r["mult_proc"]}
    assert missing == {"72275"}
    assert missing.isdisjoint(data.indicators)


@pytest.mark.parametrize(
    ("code", "subject", "bilateral", "add_on"),
    [
        ("64483", True, "1", False),
        ("64484", False, "1", True),
        ("62323", True, "9", False),
        ("77003", False, "0", True),
        ("99214", False, "0", False),
        ("G2211", False, "0", True),
        ("J1040", False, None, False),  # a drug: not in the table
    ],
)
def test_indicator_rules_the_repricer_reads(
    code: str, subject: bool, bilateral: str | None, add_on: bool
) -> None:
    data = load_reference()
    assert data.mpr_subject(code) is subject
    assert data.bilateral_indicator(code) == bilateral
    assert (code in data.indicators and data.indicators[code].is_add_on) is add_on


def test_ncci_edits_agree_with_the_active_rows() -> None:
    data = load_reference()
    rows = _read(shared_path("reference", "ncci_pain_pairs.csv"))
    active = {
        (r["column1"], r["column2"], r["modifier_indicator"])
        for r in rows
        if r["active_in_2024Q3_file"] == "Y"
    }
    shipped = {(e.column1, e.column2, e.modifier_indicator) for e in data.edits()}
    assert shipped == active
    assert data.edit_count == len(active) == 1420
    # pairs whose other code is not in the indicator table are shipped too
    into_64483 = {e.column1 for e in data.edits_by_column2["77012"]}
    assert "64483" in into_64483
    assert "77012" not in data.indicators
    assert {e.column2 for e in data.edits() if e.column1 == "64483"} >= {"76000", "77003"}


def test_the_files_carry_source_and_release() -> None:
    data = load_reference()
    assert data.sources["mpfs_indicators"]["release"] == "RVU25D"
    assert "PPRRVU2025_Oct" in data.sources["mpfs_indicators"]["source"]
    assert data.sources["ncci_ptp"]["release"] == "2024Q3 (2024-07-01)"
    assert data.sources["ncci_ptp"]["rows"] == "1420"
    for path in REFERENCE_DIR.glob("*.csv"):
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert "release" in header
        assert "short_descriptor" not in header  # CPT descriptors are AMA copyright
        assert path.with_suffix(".json").exists()


def test_a_newer_release_drops_in_without_code_changes(tmp_path: Path) -> None:
    for path in REFERENCE_DIR.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    indicators = (tmp_path / "mpfs_indicators.csv").read_text()
    (tmp_path / "mpfs_indicators.csv").write_text(
        indicators.replace("64483,,A,000,2,1,0,RVU25D", "64483,,A,000,2,3,0,RVU26A")
    )
    meta = json.loads((tmp_path / "mpfs_indicators.json").read_text())
    (tmp_path / "mpfs_indicators.json").write_text(json.dumps(meta | {"release": "RVU26A"}))
    (tmp_path / "ncci_ptp_2026q1.csv").write_text(
        "column1,column2,modifier_indicator,release\n64483,99999,0,2026Q1\n"
    )
    data = read_reference(tmp_path)
    assert data.bilateral_indicator("64483") == "3"
    assert data.sources["mpfs_indicators"]["release"] == "RVU26A"
    assert data.sources["ncci_ptp_2026q1"]["release"] == "2026Q1"
    assert data.edit_count == 1421


def test_the_sample_medicare_schedule_is_the_2025_national_amounts() -> None:
    shipped = {
        (r["code"], r["modifier"]): (r["non_facility"], r["facility"])
        for r in _read(ROOT / "contracts" / "medicare-national-2025.csv")
    }
    for row in _mpfs_2025():
        if not row["mult_proc"]:
            continue
        non_facility = row["computed_national_nonfac_amount"] or row["computed_national_fac_amount"]
        assert shipped[(row["hcpcs"], row["mod"])] == (
            non_facility,
            row["computed_national_fac_amount"],
        )
