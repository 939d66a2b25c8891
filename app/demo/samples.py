"""The sample ERA files of the demo, with their dates moved to the day the demo runs
(docs/web.md "The demo").

The files in ``era/`` are hand-written 835s (005010X221A1) for the sample contracts'
payers and practices: pain-management claims showing every underpayment category,
a reversal with its corrected payment, a denial, an overpayment and one line whose
dispute window has closed. They are written as if today were ``ANCHOR``; loading
moves every date (BPR16, DTM*405/472/232/233/150/151, ISA09, GS04) by the same
number of days, so the payments are always weeks old and their packets open. Only
dates change: the amounts stay balanced, and the claim identities (payer, trace,
CLP01, CLP07, CLP02, CLP04) stay the same, so loading again on another day adds
nothing (repricing.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources

# the day the sample files were written for: their dates are this many days old
ANCHOR = date(2026, 1, 15)

# DTM qualifiers whose dates move: production, service, statement from/to, service range
_DTM_QUALIFIERS = frozenset({"405", "472", "232", "233", "150", "151"})


@dataclass(slots=True, frozen=True)
class SampleFile:
    name: str
    data: bytes


def sample_names() -> list[str]:
    folder = resources.files("app.demo").joinpath("era")
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".835"))


def sample_files(*, today: date) -> list[SampleFile]:
    """The sample files, dates moved so that ``ANCHOR`` becomes ``today``."""
    folder = resources.files("app.demo").joinpath("era")
    days = (today - ANCHOR).days
    return [
        SampleFile(name, shift_dates(folder.joinpath(name).read_bytes(), days=days))
        for name in sample_names()
    ]


def _shift(value: str, days: int, pattern: str) -> str:
    try:
        moved = datetime.strptime(value, pattern).date() + timedelta(days=days)
    except ValueError:
        return value  # not a date as written: leave it for the reader to report
    return moved.strftime(pattern)


def shift_dates(data: bytes, *, days: int) -> bytes:
    """Move every date of an 835 by ``days``. The delimiters are read from the ISA
    (element separator at position 3, segment terminator at 105)."""
    text = data.decode("ascii")
    start = text.index("ISA")
    element = text[start + 3]
    terminator = text[start + 105]
    segments = text.split(terminator)
    for index, segment in enumerate(segments):
        stripped = segment.lstrip()
        lead = segment[: len(segment) - len(stripped)]
        parts = stripped.split(element)
        tag = parts[0]
        if tag == "ISA" and len(parts) > 9:
            parts[9] = _shift(parts[9], days, "%y%m%d")
        elif tag == "GS" and len(parts) > 4:
            parts[4] = _shift(parts[4], days, "%Y%m%d")
        elif tag == "BPR" and len(parts) > 16 and parts[16]:
            parts[16] = _shift(parts[16], days, "%Y%m%d")
        elif tag == "DTM" and len(parts) > 2 and parts[1] in _DTM_QUALIFIERS:
            parts[2] = _shift(parts[2], days, "%Y%m%d")
        else:
            continue
        segments[index] = lead + element.join(parts)
    return terminator.join(segments).encode("ascii")
