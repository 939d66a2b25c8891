"""Shipped Medicare reference data (spec/contracts.md "Shipped reference data").

``CodeIndicators`` holds a code's MPFS payment-policy indicators: multiple-procedure
(MULT PROC), bilateral (BILAT SURG) and global days (ZZZ = add-on). ``NcciEdit`` is an
active NCCI procedure-to-procedure practitioner edit: column-two code included in
column-one code, with its modifier indicator (0 = no modifier unbundles, 1 = an
NCCI-associated modifier may, 9 = not applicable).

The data ships as CSV package data in ``app/contracts/reference/`` with its source
and release recorded in the files themselves; a newer release replaces the files,
not the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True, frozen=True)
class CodeIndicators:
    code: str
    multiple_procedure: str  # MULT PROC: 0, 2, 3, 9 ...
    bilateral: str  # BILAT SURG: 0, 1, 2, 3, 9
    global_days: str  # 000, 010, 090, XXX, ZZZ, ...

    @property
    def is_add_on(self) -> bool:
        return self.global_days == "ZZZ"


@dataclass(slots=True, frozen=True)
class NcciEdit:
    column1: str
    column2: str
    modifier_indicator: str  # "0", "1", "9"


@dataclass(slots=True)
class ReferenceData:
    indicators: dict[str, CodeIndicators] = field(default_factory=dict)
    # column-two code → the edits that bundle it
    edits_by_column2: dict[str, list[NcciEdit]] = field(default_factory=dict)
    # what the data is and where it came from, shown by `era-recon contracts reference`
    sources: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        indicators: list[CodeIndicators],
        edits: list[NcciEdit],
        sources: dict[str, dict[str, str]] | None = None,
    ) -> ReferenceData:
        by_column2: dict[str, list[NcciEdit]] = {}
        for edit in edits:
            by_column2.setdefault(edit.column2, []).append(edit)
        return cls({i.code: i for i in indicators}, by_column2, sources or {})

    def mpr_subject(self, code: str) -> bool:
        """Shipped rule: MULT PROC 2 or 3 is subject to MPR; 0, 9 and unknown are not."""
        ind = self.indicators.get(code)
        return ind is not None and ind.multiple_procedure in ("2", "3")

    def bilateral_indicator(self, code: str) -> str | None:
        ind = self.indicators.get(code)
        return ind.bilateral if ind is not None else None
