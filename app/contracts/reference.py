"""Shipped Medicare reference data (spec/contracts.md "Shipped reference data").

``CodeIndicators`` holds a code's MPFS payment-policy indicators: multiple-procedure
(MULT PROC), bilateral (BILAT SURG) and global days (ZZZ = add-on). ``NcciEdit`` is an
active NCCI procedure-to-procedure practitioner edit: column-two code included in
column-one code, with its modifier indicator (0 = no modifier unbundles, 1 = an
NCCI-associated modifier may, 9 = not applicable).

The data ships as CSV package data in ``app/contracts/reference/`` with its source
and release recorded in the files themselves (a ``release`` column, and a sidecar
``<name>.json`` with title, source and release); a newer release replaces the files,
not the code. ``load_reference()`` reads every CSV in that folder and tells the two
kinds apart by their header (``multiple_procedure`` → indicators, ``column1`` → NCCI
edits). The files are built by ``scripts/build_reference.py`` from the public data
described in ``docs/contracts.md``. CPT descriptors (AMA copyright) are not shipped.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# the package data folder; a newer release drops in here without code changes
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


@dataclass(slots=True, frozen=True)
class CodeIndicators:
    code: str
    multiple_procedure: str  # MULT PROC: 0, 2, 3, 9 ...
    bilateral: str  # BILAT SURG: 0, 1, 2, 3, 9
    global_days: str  # 000, 010, 090, XXX, ZZZ, ...
    modifier: str = ""  # "" for the code itself; 26 / TC for a component's row
    status: str = ""  # STATUS CODE: A active, B bundled, ...
    pctc: str = ""  # PC/TC indicator
    release: str = ""  # e.g. RVU25D

    @property
    def is_add_on(self) -> bool:
        return self.global_days == "ZZZ"


@dataclass(slots=True, frozen=True)
class NcciEdit:
    column1: str
    column2: str
    modifier_indicator: str  # "0", "1", "9"
    release: str = ""


@dataclass(slots=True)
class ReferenceData:
    indicators: dict[str, CodeIndicators] = field(default_factory=dict)
    # column-two code → the edits that bundle it
    edits_by_column2: dict[str, list[NcciEdit]] = field(default_factory=dict)
    # what the data is and where it came from, shown by `era-recon contracts reference`
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    # every indicator row by (code, modifier), including the 26/TC component rows
    indicators_by_modifier: dict[tuple[str, str], CodeIndicators] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        indicators: list[CodeIndicators],
        edits: list[NcciEdit],
        sources: dict[str, dict[str, str]] | None = None,
    ) -> ReferenceData:
        """Index the rows. ``indicators`` (by code) holds a code's own row (blank
        modifier); a 26/TC row stands in only for a code that has no row of its own."""
        by_column2: dict[str, list[NcciEdit]] = {}
        seen: set[tuple[str, str]] = set()
        for edit in edits:
            if (edit.column1, edit.column2) in seen:
                continue
            seen.add((edit.column1, edit.column2))
            by_column2.setdefault(edit.column2, []).append(edit)
        by_code: dict[str, CodeIndicators] = {}
        by_modifier: dict[tuple[str, str], CodeIndicators] = {}
        for ind in indicators:
            by_modifier[(ind.code, ind.modifier)] = ind
            if not ind.modifier or ind.code not in by_code:
                by_code[ind.code] = ind
        return cls(by_code, by_column2, sources or {}, by_modifier)

    @property
    def edit_count(self) -> int:
        return sum(len(edits) for edits in self.edits_by_column2.values())

    def edits(self) -> list[NcciEdit]:
        """Every edit, ordered by column one then column two."""
        every = [edit for edits in self.edits_by_column2.values() for edit in edits]
        return sorted(every, key=lambda edit: (edit.column1, edit.column2))

    def mpr_subject(self, code: str) -> bool:
        """Shipped rule: MULT PROC 2 or 3 is subject to MPR; 0, 9 and unknown are not."""
        ind = self.indicators.get(code)
        return ind is not None and ind.multiple_procedure in ("2", "3")

    def bilateral_indicator(self, code: str) -> str | None:
        ind = self.indicators.get(code)
        return ind.bilateral if ind is not None else None


# ------------------------------------------------------------------ reading the files

INDICATOR_COLUMNS = ("code", "multiple_procedure", "bilateral", "global_days")
EDIT_COLUMNS = ("column1", "column2", "modifier_indicator")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [
            {key.strip(): (value or "").strip() for key, value in row.items() if key}
            for row in csv.DictReader(handle)
        ]


def read_reference(folder: Path) -> ReferenceData:
    """Read every reference CSV in ``folder`` (files in name order; for a code or
    edit present in two files, the later file wins). Each CSV's sidecar
    ``<name>.json``, when present, describes its source and release."""
    indicators: dict[tuple[str, str], CodeIndicators] = {}
    edits: dict[tuple[str, str], NcciEdit] = {}
    sources: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.csv")):
        rows = _rows(path)
        header = set(rows[0]) if rows else set()
        if header.issuperset(INDICATOR_COLUMNS):
            kind = "mpfs_indicators"
            for row in rows:
                ind = CodeIndicators(
                    code=row["code"],
                    multiple_procedure=row["multiple_procedure"],
                    bilateral=row["bilateral"],
                    global_days=row["global_days"],
                    modifier=row.get("modifier", ""),
                    status=row.get("status", ""),
                    pctc=row.get("pctc", ""),
                    release=row.get("release", ""),
                )
                indicators[(ind.code, ind.modifier)] = ind
        elif header.issuperset(EDIT_COLUMNS):
            kind = "ncci_ptp"
            for row in rows:
                edit = NcciEdit(
                    column1=row["column1"],
                    column2=row["column2"],
                    modifier_indicator=row["modifier_indicator"],
                    release=row.get("release", ""),
                )
                edits[(edit.column1, edit.column2)] = edit
        else:
            continue
        meta: dict[str, str] = {"kind": kind, "file": path.name, "rows": str(len(rows))}
        releases = sorted({row.get("release", "") for row in rows} - {""})
        if releases:
            meta["release"] = ", ".join(releases)
        sidecar = path.with_suffix(".json")
        if sidecar.exists():
            described = json.loads(sidecar.read_text(encoding="utf-8"))
            meta.update({key: str(value) for key, value in described.items()})
            meta["rows"] = str(len(rows))  # what was read, whatever the sidecar says
        sources[path.stem] = meta
    return ReferenceData.of(list(indicators.values()), list(edits.values()), sources)


@lru_cache(maxsize=4)
def load_reference(folder: Path | None = None) -> ReferenceData:
    """The shipped reference data (read once per process and folder)."""
    return read_reference(folder or REFERENCE_DIR)
