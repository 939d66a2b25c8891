"""Errors of the 835 reader (spec/parsing.md "Rejected", spec/interfaces.md "Errors").

    ReconError
    └── X12Rejected     the file cannot be read reliably; nothing of it is stored

``X12Rejected.findings`` lists the first problems found (at most ``MAX_FINDINGS``),
each located by segment number, segment id, loop and element. Messages name
segments and elements, never patient names or member ids.
"""

from __future__ import annotations

from app.errors import ReconError
from app.x12.schemas import Finding

MAX_FINDINGS = 50


class X12Rejected(ReconError):
    """The 835 file cannot be read: no ISA, not text, no readable 835 transaction,
    a money amount that is not a number, or a missing SE/GE/IEA trailer."""

    code = "invalid_835"

    def __init__(self, findings: list[Finding], message: str | None = None) -> None:
        findings = list(findings[:MAX_FINDINGS]) or [Finding("the file cannot be read")]
        if message is None:
            first = findings[0]
            where = f" (segment {first.segment_number})" if first.segment_number else ""
            message = f"the 835 file cannot be read: {first.message}{where}"
        super().__init__(message, details=[f.as_dict() for f in findings])
        self.findings = findings
