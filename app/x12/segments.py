"""Bytes to pyx12-readable text, and element values to Python values.

pyx12's ``X12Reader`` expects ASCII text whose first 106 characters are the ISA, and
one segment terminator throughout; anything else makes it raise a misleading error or
drop data silently (notes/pyx12.md). Real files are looser (spec/parsing.md
"Accepted"): a byte-order mark, non-ASCII names, an unpadded ISA, ``~`` followed by a
newline or CRLF, a bare newline as terminator, pretty-printed indentation, a
terminator written at the start of each line, a missing final terminator, empty
segments. ``decode`` and ``prepare`` turn all of these into the one form pyx12
reads, and say what they changed as warnings.

The value parsers (``parse_amount``, ``parse_date``) are on the hot path, once per
distinct value of a file (the reader keeps the values it has read): no regex, one
``Decimal`` per amount.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pyx12.errors
import pyx12.path
import pyx12.segment
import pyx12.x12file

from app.x12.errors import X12Rejected
from app.x12.schemas import Finding

ISA_LENGTH = 106
# Widths of ISA01 .. ISA16 (the ISA is fixed-width: 106 characters with its terminator)
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
KNOWN_ISA_VERSIONS = ("00401", "00501")
KNOWN_835_VERSIONS = frozenset({"005010X221A1", "005010X221", "004010X091A1", "004010X091"})

_BOM_UTF8 = b"\xef\xbb\xbf"
_LINE_BREAKS = re.compile(r"[ \t]*[\r\n]+[ \t]*")
_NEWLINE_LINES = re.compile(r"[ \t]*(?:\r\n|\r|\n)[ \t\r\n]*")
# Control characters that no text file holds (tab, CR, LF, FF, VT, BEL and the
# information separators 0x1C-0x1F are legal X12 delimiters; 0x1A is a DOS EOF mark)
_BINARY_BYTES = bytes([*range(0x00, 0x07), 0x08, *range(0x0E, 0x1A), 0x1B])
# Blanks that cannot be a delimiter. Not ``str.isspace``: it counts the information
# separators 0x1C-0x1F, which are legal (and used) X12 delimiters.
_BLANKS = frozenset(" \t\r\n\x0b\x0c")


def silence_pyx12() -> None:
    """pyx12 logs its errors with the raw element values (patient names, member ids):
    none of its records may reach a handler, whatever level someone sets."""
    logger = logging.getLogger("pyx12")
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    if not logger.filters:
        logger.addFilter(lambda record: False)


# ``Segment.get`` / ``get_value`` parse their reference designator ("ISA13", "02",
# "03-1") with a regular expression on every call: ~60 a one-claim file in pyx12's
# envelope bookkeeping and segment checks, each ~15 µs on a slow machine. The
# designators come from pyx12's own code and maps, a few hundred in all; their
# parses are kept (bounded, so a caller's own designators cannot grow it), and the
# check against the segment's identifier is made as ``_parse_refdes`` makes it.
_REFDES_MAX = 4_096
_refdes: dict[str, tuple[str | None, int | None, int | None]] = {}


def _parse_refdes(self: pyx12.segment.Segment, ref_des: str) -> tuple[int | None, int | None]:
    """``pyx12.segment.Segment._parse_refdes``, with the designator's parse kept."""
    parsed = _refdes.get(ref_des)
    if parsed is None:
        path = pyx12.path.X12Path(ref_des)  # raises for a malformed one, as there
        parsed = (
            path.seg_id,
            path.ele_idx - 1 if path.ele_idx is not None else None,
            path.subele_idx - 1 if path.subele_idx is not None else None,
        )
        if len(_refdes) < _REFDES_MAX:
            _refdes[ref_des] = parsed
    seg_id, ele_idx, comp_idx = parsed
    if seg_id is not None and seg_id != self.seg_id:
        raise pyx12.errors.EngineError(
            f"Invalid Reference Designator: {ref_des}, seg_id: {self.seg_id}"
        )
    return ele_idx, comp_idx


pyx12.segment.Segment._parse_refdes = _parse_refdes


@dataclass(slots=True, frozen=True)
class Delimiters:
    element: str
    component: str
    segment: str
    repetition: str | None


@dataclass(slots=True)
class Prepared:
    """Text ready for ``pyx12.x12file.X12Reader`` and what was changed to get it."""

    text: str
    delimiters: Delimiters
    isa_version: str
    warnings: list[Finding] = field(default_factory=list)


def _reject(message: str, code: str, segment: str | None = None) -> X12Rejected:
    number = 1 if segment == "ISA" else None
    return X12Rejected([Finding(message, segment_number=number, segment=segment, code=code)])


def _to_ascii(text: str) -> str:
    """Non-ASCII characters → their ASCII base letter where one exists (``José`` →
    ``Jose``), else ``?``."""
    out: list[str] = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
        out.append(base if base and base.isprintable() else "?")
    return "".join(out)


# the ASCII characters ``str.strip()`` removes (``str.isspace``: the file, group,
# record and unit separators too)
_STRIPPED = frozenset(b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")


def kept_span(data: bytes, start: int = 0) -> tuple[int, int] | None:
    """Where ``text.strip().rstrip("\x1a").strip()`` of ``data[start:]``, decoded,
    begins and ends, found in the bytes: what ``decode`` keeps of a file, without
    decoding the rest or copying the text. None when the character at an edge is
    not ASCII (it might be whitespace only once decoded: the text must be stripped
    as text)."""
    end = len(data)
    i = start
    while i < end and data[i] in _STRIPPED:
        i += 1
    j = end
    while j > i and data[j - 1] in _STRIPPED:
        j -= 1
    if j > i and data[j - 1] >= 0x80:
        return None
    while j > i and data[j - 1] == 0x1A:
        j -= 1
    while j > i and data[j - 1] in _STRIPPED:
        j -= 1
    if j > i and (data[i] >= 0x80 or data[j - 1] >= 0x80):
        return None
    return i, j


def decode(data: bytes) -> tuple[str, list[Finding]]:
    """Bytes → ASCII text starting with ``ISA`` (see ``decode_835``), with warnings.
    Only the part kept is decoded (``kept_span``): a large file is held as bytes and
    text, not also as the text before it was stripped."""
    warnings: list[Finding] = []
    if not data or data.isspace():  # what bytes.strip() removes, and nothing else
        raise _reject("the file is empty", "empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise _reject("the file is not text", "not_text") from None
        warnings.append(Finding("the file is UTF-16 text; read as ASCII", code="encoding"))
    start = len(_BOM_UTF8) if data.startswith(_BOM_UTF8) else 0
    sample = data[start : start + 65536]
    binary = sum(sample.count(bytes([b])) for b in _BINARY_BYTES)
    if b"\x00" in data or binary * 100 > len(sample):
        raise _reject("the file is not text (binary data)", "not_text")
    span = kept_span(data, start)
    # the edges are ASCII (or nothing is cut): the kept part decodes as it would
    # inside the whole
    begin, end = span if span is not None else (start, len(data))
    with memoryview(data) as view:
        kept = view[begin:end]
        try:
            text = str(kept, "utf-8")
        except UnicodeDecodeError:
            text = str(kept, "cp1252", "replace")
        finally:
            kept.release()
    if span is None:
        text = text.strip().rstrip("\x1a").strip()
    if not text.isascii():
        warnings.append(
            Finding(
                "the file holds non-ASCII characters; they were replaced by their nearest "
                "ASCII letters (or ?)",
                code="non_ascii",
            )
        )
        text = _to_ascii(text)
    if not text.startswith("ISA"):
        if text[:3] in ("ST*", "GS*") or text.startswith(("ST", "GS")):
            raise _reject(
                "no ISA interchange header: the delimiters cannot be known", "no_isa", "ISA"
            )
        raise _reject("the file is not an X12 file: it does not start with ISA", "no_isa", "ISA")
    return text, warnings


def _find_isa_end(text: str, element: str) -> int:
    """Index of ISA16 (the character after the 16th element separator)."""
    pos = 3  # the first separator, after "ISA"
    for _ in range(15):
        pos = text.find(element, pos + 1)
        if pos < 0:
            raise _reject("the ISA segment is incomplete", "isa", "ISA")
    if pos + 1 >= len(text):
        raise _reject("the ISA segment is incomplete", "isa", "ISA")
    return pos + 1


def prepare(text: str) -> Prepared:
    """Find the delimiters the ISA declares, re-pad the ISA to 106 characters and
    bring the body to one terminator with no line breaks, as pyx12 needs."""
    warnings: list[Finding] = []
    element = text[3:4]
    if not element or element.isalnum() or element in _BLANKS:
        raise _reject("the ISA element separator cannot be read", "isa", "ISA")
    isa16_at = _find_isa_end(text, element)
    component = text[isa16_at]
    if component in _BLANKS or component == element:
        raise _reject("ISA16 (component separator) cannot be read", "isa", "ISA")
    rest_at = isa16_at + 1
    # The terminator follows ISA16; a newline there (with no punctuation after it)
    # means newline-terminated segments.
    probe = rest_at
    while probe < len(text) and text[probe] in " \t\r\n":
        probe += 1
    skipped = text[rest_at:probe]
    next_char = text[probe] if probe < len(text) else ""
    newline_terminated = False
    if next_char and not next_char.isalnum() and next_char != element:
        terminator = next_char
        body_at = probe + 1
    elif "\n" in skipped or "\r" in skipped:
        terminator = "\n"
        newline_terminated = True
        body_at = probe
    else:
        raise _reject("the segment terminator after ISA16 cannot be read", "isa", "ISA")
    if terminator == component:
        raise _reject("the segment terminator equals the component separator", "isa", "ISA")

    fields = text[4 : isa16_at - 1].split(element)
    if len(fields) != 15:
        raise _reject("the ISA segment does not have 16 elements", "isa", "ISA")
    fields.append(component)
    padded: list[str] = []
    changed = False
    for index, (value, width) in enumerate(zip(fields, ISA_WIDTHS, strict=True)):
        if len(value) == width:
            padded.append(value)
            continue
        changed = True
        if index == 12 and value.isdigit():  # ISA13 control number: numeric, zero-filled
            padded.append(value.zfill(width)[-width:])
        else:
            padded.append(value.ljust(width)[:width])
    if changed:
        warnings.append(
            Finding(
                "the ISA segment is not fixed-width (106 characters); its elements were "
                "re-padded to read it",
                segment_number=1,
                segment="ISA",
                code="isa_format",
            )
        )
    isa_version = padded[11]
    if isa_version not in KNOWN_ISA_VERSIONS:
        warnings.append(
            Finding(
                f"ISA12 version {isa_version.strip()!r} is not a known X12 version; "
                "read with the 5010 rules",
                segment_number=1,
                segment="ISA",
                element="ISA12",
                code="unknown_version",
            )
        )
        padded[11] = "00401" if padded[10] == "U" else "00501"
    repetition = padded[10] if padded[11] == "00501" else None
    isa = "ISA" + element + element.join(padded) + terminator
    delimiters = Delimiters(element, component, terminator, repetition)
    if not newline_terminated:
        whole = _as_written(text, body_at, isa, terminator)
        if whole is not None:
            return Prepared(whole, delimiters, padded[11], warnings)
    body = _body(text[body_at:], terminator, newline_terminated, warnings)
    return Prepared(
        text=isa + body, delimiters=delimiters, isa_version=padded[11], warnings=warnings
    )


def _as_written(text: str, start: int, isa: str, terminator: str) -> str | None:
    """What ``isa + _body(text[start:], …)`` gives, made in one step where it is the
    text itself with its line breaks removed: the ISA as written (``isa``), segments
    ended by ``terminator`` and a line break after some, nothing else to mend. None
    otherwise (the body is mended as ``_body`` says). A large file is then held as
    its text and one copy, not two or three copies at once."""
    if not text.startswith(isa) or len(isa) != start or "\n" in isa:
        return None
    if text.find("\r", start) >= 0 or text.find("\t", start) >= 0:
        return None
    if text.find(" \n", start) >= 0 or text.find("\n ", start) >= 0:
        return None
    whole = text.replace("\n", "") if text.find("\n", start) >= 0 else text
    end = len(whole)
    if end == start or whole[start] in (terminator, " ") or whole[-1] != terminator:
        return None  # nothing after the ISA, a leading blank or empty segment, no last terminator
    if whole.find(terminator + terminator, start) >= 0:
        return None  # empty segments: _body warns
    return whole


def _body(body: str, terminator: str, newline_terminated: bool, warnings: list[Finding]) -> str:
    """The segments after the ISA as pyx12 reads them: one terminator between
    segments, no line breaks (or a bare one where they end segments), no empty
    segments (with a warning), the last one ended."""
    if "\r" in body:
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    # str.replace is ~50x faster than the regex on a large file; the regex is only
    # needed when lines are indented or carry trailing blanks
    indented = " \n" in body or "\n " in body or "\t" in body
    if newline_terminated:
        body = _NEWLINE_LINES.sub("\n", body) if indented or "\n\n" in body else body
    elif "\n" in body:
        body = _LINE_BREAKS.sub("", body) if indented else body.replace("\n", "")
    doubled = terminator + terminator
    if doubled in body:
        warnings.append(Finding("empty segments were ignored", code="empty_segment"))
        body = re.sub(re.escape(terminator) + "{2,}", terminator, body)
    body = body.strip(" \t\r\n")
    if body.startswith(terminator):
        body = body[1:]
    if body and not body.endswith(terminator):
        body += terminator
    return body


class TextSource:
    """A read-only text file over a ``str`` for pyx12's readers, without the copy
    ``io.StringIO`` makes (4 bytes a character): memory stays at the file's size."""

    closed = False

    def __init__(self, text: str) -> None:
        self._text = text
        self._at = 0

    def read(self, size: int = -1) -> str:
        start = self._at
        end = len(self._text) if size < 0 else min(start + size, len(self._text))
        self._at = end
        return self._text[start:end]


# Segments that go through pyx12's whole ``Segment`` and envelope bookkeeping: the
# envelopes (control numbers, nesting, the errors pyx12 raises for a broken one) and
# HL, which pyx12 also tracks. Every other segment only counts.
_TRACKED = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "HL"})
_BLOCK = 1 << 16  # characters split into segments at a time


class SegmentReader(pyx12.x12file.X12Reader):  # type: ignore[misc]
    """pyx12's ``X12Reader`` that hands over each segment's text, a block at a time.

    The ISA is read, the delimiters taken and the envelopes (ISA/GS/ST and their
    trailers, HL) tracked by pyx12 itself, exactly as ``X12Reader`` does, raising the
    same errors on the same input. A body segment is split with ``str.split`` instead
    of becoming a ``Segment`` of ``Composite`` of ``Element`` objects (~60 % of
    ``X12Reader``'s time): nothing of those objects is used but the strings, and the
    per-segment complaints ``X12Reader`` would record for it are the ones the 835
    reader drops (``pop_errors``) and makes itself, located. A composite stays one
    string; split it on the component separator where one is expected.

    The consumer (``reader._Reader.read``) does per segment what ``X12Reader.__iter__``
    does, in its own loop rather than through a generator per segment (a call, a
    tuple and a resumption per segment are a sixth of reading a large file): a
    leading blank is dropped (an empty segment then raises ``IndexError``, as there),
    the identifier is split off, a segment of ``TRACKED`` goes to ``track`` and the
    others are only counted, in one ``count`` call per run of them.

    The text is split a block at a time (``RawX12File`` splits its 8 KB buffer once
    per segment, copying the rest each time), so memory stays at the file's size."""

    TRACKED = _TRACKED

    def blocks(self) -> Iterator[list[str]]:
        """``RawX12File.__iter__`` a block at a time: the segments split on the
        terminator, line breaks before a segment dropped, up to (not including) the
        first empty one; data after the last terminator is dropped."""
        self.err_list: list[Any] = []
        raw = self.raw
        term = raw.seg_term
        buffer = raw.buffer
        raw.buffer = ""
        while True:
            chunk = raw.fd.read(_BLOCK)
            if chunk:
                buffer += chunk
            cut = buffer.rfind(term)
            if cut >= 0:
                text = buffer[:cut]
                buffer = buffer[cut + 1 :]
                lines = text.split(term)
                # prepare() leaves no line break in a body it did not terminate with one
                if ("\n" in text and term != "\n") or ("\r" in text and term != "\r"):
                    lines = [line.lstrip("\n\r") for line in lines]
                if "" in lines:
                    yield lines[: lines.index("")]
                    return
                yield lines
            if not chunk:
                return

    def track(self, line: str, uncounted: int) -> None:
        """A segment of ``TRACKED`` through pyx12's ``Segment`` and envelope
        bookkeeping, after ``uncounted`` other segments (see ``count``)."""
        self.seg_count += uncounted
        self.cur_line += uncounted
        self._parse_segment(
            pyx12.segment.Segment(
                line, self.seg_term or "~", self.ele_term or "*", self.subele_term or ":"
            )
        )

    def count(self, uncounted: int) -> None:
        """What ``X12Reader`` counts for each segment it does not track."""
        self.seg_count += uncounted
        self.cur_line += uncounted


def _looks_like_isa(text: str, at: int) -> bool:
    """Whether an ISA segment starts at ``at``: ISA01/ISA03 two digits, ISA13 digits,
    ISA15 P, T or I (so ``REF*EA*ISA*...`` in data is not taken for one)."""
    element = text[at + 3 : at + 4]
    if not element or element.isalnum() or element in _BLANKS:
        return False
    fields = text[at + 4 : at + 200].split(element, 15)
    if len(fields) < 16:
        return False
    return (
        fields[0].isdigit()
        and len(fields[0]) == 2
        and fields[2].isdigit()
        and len(fields[2]) == 2
        and fields[12].strip().isdigit()
        and fields[14].strip() in ("P", "T", "I")
    )


def split_interchanges(text: str) -> list[str]:
    """The file's interchanges (ISA … IEA), each to be prepared with its own
    delimiters: one file may join interchanges written with different ones."""
    element = text[3:4]
    starts = [0]
    at = text.find("ISA", 1)
    while at > 0:
        before = at - 1
        while before > 0 and text[before] in " \t\r\n":
            before -= 1
        previous = text[before]
        if not previous.isalnum() and previous != element and _looks_like_isa(text, at):
            starts.append(at)
            element = text[at + 3 : at + 4]
        at = text.find("ISA", at + 3)
    if len(starts) == 1:
        return [text]
    starts.append(len(text))
    return [text[a:b].strip() for a, b in zip(starts, starts[1:], strict=False)]


# Separators payers put in composites instead of the declared ISA16 (parsing.md)
ALT_COMPONENT_SEPARATORS = (">", ":", "^", "|", "\\", "!", "}", "@")


def body_component_separator(prepared: Prepared) -> str | None:
    """The component separator the SVC composites really use when it is not ISA16
    (``SVC*HC>64483`` under ``:``) and ISA16 itself never appears in them; else None."""
    d = prepared.delimiters
    text = prepared.text
    marker = d.segment + "SVC" + d.element
    found: str | None = None
    at = text.find(marker)
    for _ in range(50):
        if at < 0:
            break
        start = at + len(marker)
        end = text.find(d.element, start)
        composite = text[start : end if end >= 0 else start + 40]
        if d.component in composite:
            return None
        for candidate in ALT_COMPONENT_SEPARATORS:
            if candidate in composite and candidate not in (d.element, d.segment):
                head = composite.split(candidate)[0]
                if len(head) == 2 and head.isalnum():
                    found = found or candidate
        at = text.find(marker, start)
    return found


# An X12 ``R`` element holds at most 18 digits (CLP04, BPR02: R 1/18); a longer one is
# no amount a payer sent, and past 28 digits Decimal arithmetic itself fails.
MAX_NUMBER_DIGITS = 18


def parse_amount(value: str) -> Decimal | None:
    """An X12 ``R`` (decimal) value as written, or None when it is not a number.
    Accepts an optional sign and one decimal point; rejects exponents, NaN, spaces
    and more than ``MAX_NUMBER_DIGITS`` digits."""
    digits = (value[1:] if value[:1] in "-+" else value).replace(".", "", 1)
    if not digits.isdigit() or len(digits) > MAX_NUMBER_DIGITS:
        return None
    return Decimal(value)


def parse_date(value: str) -> date | None:
    """``CCYYMMDD`` → date; None when it is not a real calendar date of 1900–2099
    (``11111111`` is a placeholder, not the year 1111)."""
    if len(value) != 8 or not value.isdigit() or not "1900" <= value[:4] <= "2099":
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None
