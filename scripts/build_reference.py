"""Build era-recon's shipped reference data and the sample Medicare-style schedule.

Reads the public reference files in ``../shared/reference`` (or the folder given as
the first argument) and writes:

- ``app/contracts/reference/mpfs_indicators.csv`` (+ ``.json``): per code (and
  modifier, for the 26/TC rows) the MPFS payment-policy indicators of the 2025
  October release (RVU25D): status, global days (ZZZ = add-on), multiple-procedure
  and bilateral indicators, PC/TC indicator. No CPT descriptors: they are AMA
  copyright and are not shipped.
- ``app/contracts/reference/ncci_ptp.csv`` (+ ``.json``): every active row of the NCCI
  practitioner procedure-to-procedure edits among the pain codes (column one, column
  two, modifier indicator).
- ``contracts/medicare-national-2025.csv``: a Medicare-style fee schedule from the
  2025 national amounts (no locality adjustment), the sample contracts' base.

The generated files are committed; run this again when a newer release of the
public data arrives (``python scripts/build_reference.py [SHARED_REFERENCE_DIR]``).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "reference"
REFERENCE_OUT = ROOT / "app" / "contracts" / "reference"
CONTRACTS_OUT = ROOT / "contracts"

# the release whose rows are shipped: CMS RVU25D (2025, October release)
MPFS_YEAR = "2025"
MPFS_RELEASE = "RVU25D"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_json(path: Path, document: dict[str, object]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def mpfs_rows(source: Path) -> list[dict[str, str]]:
    """The RVU25D rows that carry indicators (72275 has no row in any release)."""
    rows = _read(source / "pain_codes_mpfs.csv")
    return [
        row
        for row in rows
        if row["year"] == MPFS_YEAR and row["release"] == MPFS_RELEASE and row["mult_proc"]
    ]


def build_indicators(source: Path) -> int:
    rows = mpfs_rows(source)
    out = [
        [
            row["hcpcs"],
            row["mod"],
            row["status_code"],
            row["global_days"],
            row["mult_proc"],
            row["bilat_surg"],
            row["pctc_ind"],
            MPFS_RELEASE,
        ]
        for row in rows
    ]
    _write_csv(
        REFERENCE_OUT / "mpfs_indicators.csv",
        [
            "code",
            "modifier",
            "status",
            "global_days",
            "multiple_procedure",
            "bilateral",
            "pctc",
            "release",
        ],
        out,
    )
    first = rows[0]
    _write_json(
        REFERENCE_OUT / "mpfs_indicators.json",
        {
            "kind": "mpfs_indicators",
            "title": "Medicare Physician Fee Schedule payment-policy indicators",
            "release": MPFS_RELEASE,
            "effective_from": first["effective_from"],
            "effective_to": first["effective_to"],
            "source": first["source"],
            "rows": len(out),
            "note": "Indicators only; CPT descriptors are AMA copyright and not shipped.",
        },
    )
    return len(out)


def build_edits(source: Path) -> int:
    rows = [
        row
        for row in _read(source / "ncci_pain_pairs.csv")
        if row["active_in_2024Q3_file"] == "Y" and not row["deletion_date"]
    ]
    rows.sort(key=lambda row: (row["column1"], row["column2"]))
    release = rows[0]["release"]
    out = [[row["column1"], row["column2"], row["modifier_indicator"], release] for row in rows]
    _write_csv(
        REFERENCE_OUT / "ncci_ptp.csv",
        ["column1", "column2", "modifier_indicator", "release"],
        out,
    )
    _write_json(
        REFERENCE_OUT / "ncci_ptp.json",
        {
            "kind": "ncci_ptp",
            "title": "NCCI procedure-to-procedure edits, practitioner, active rows",
            "release": release,
            "source": rows[0]["source"],
            "rows": len(out),
            "note": "Effective dates were not retained by the copy read; refresh quarterly.",
        },
    )
    return len(out)


def build_medicare_schedule(source: Path) -> int:
    """2025 national amounts. Where CMS sets no non-facility price (NA: 63655, 63685,
    63688, done only in a facility) the facility amount fills both columns; where it
    sets no facility price (77003, 76942 global and TC) ``facility`` is blank, which
    falls back to ``non_facility`` (contracts.md "Fee schedule CSV")."""
    out = []
    for row in mpfs_rows(source):
        non_facility = row["computed_national_nonfac_amount"]
        facility = row["computed_national_fac_amount"]
        if not non_facility:
            non_facility = facility
        out.append([row["hcpcs"], row["mod"], non_facility, facility])
    _write_csv(
        CONTRACTS_OUT / "medicare-national-2025.csv",
        ["code", "modifier", "non_facility", "facility"],
        out,
    )
    return len(out)


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    print(f"indicators: {build_indicators(source)} rows")
    print(f"NCCI edits: {build_edits(source)} rows")
    print(f"medicare-national-2025.csv: {build_medicare_schedule(source)} rows")


if __name__ == "__main__":
    main(sys.argv)
