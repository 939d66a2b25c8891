"""Mutated valid files: ``parse_835`` either reads them or rejects them with
X12Rejected — never another exception (spec/parsing.md: "never crash"). And the
reader's shortcuts agree with the plain paths they stand in for: amounts and dates
looked up in the per-file table against the same values parsed every time, and
``SegmentReader.blocks`` against pyx12's own ``RawX12File`` iteration."""

from __future__ import annotations

from unittest import mock

import pytest
import pyx12.rawx12file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.x12 import reader, segments
from app.x12.errors import X12Rejected
from app.x12.reader import ParsedFile, parse_835
from app.x12.schemas import Finding
from app.x12.segments import SegmentReader, TextSource
from app.x12.validation import validate_835
from benchmarks.gen835 import generate_835
from tests.support import FIXTURES

BASES = [
    (FIXTURES / "era" / f"{name}.835").read_bytes()
    for name in (
        "clean-5010",
        "format-crlf",
        "format-short-isa",
        "format-newline-terminated",
        "format-other-delimiters",
        "format-terminator-at-line-start",
        "plb-only",
        "svc06-svc07",
        "reversal",
        "warn-component-separator",
    )
]
DELIMITERS = [b"*", b"~", b":", b">", b"|", b"^", b"\n", b"\r\n", b" ", b""]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "flip", "swap", "duplicate", "delete", "insert"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if op == "truncate":
            data = data[:at]
        elif op == "flip":
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif op == "swap":
            old, new = draw(st.sampled_from(DELIMITERS[:-1])), draw(st.sampled_from(DELIMITERS))
            data = data.replace(old, new, draw(st.integers(1, 1000)))
        else:
            segments = data.split(b"~")
            index = at % len(segments)
            if op == "duplicate":
                segments.insert(index, segments[index])
            elif op == "delete":
                del segments[index]
            else:
                segments.insert(index, draw(st.binary(max_size=12)))
            data = b"~".join(segments)
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_parse_reads_or_rejects(data: bytes) -> None:
    try:
        parsed: ParsedFile | X12Rejected = parse_835(data)
    except X12Rejected as error:
        parsed = error
    if isinstance(parsed, X12Rejected):
        assert parsed.findings
        assert parsed.message.startswith("the 835 file cannot be read")
        return
    assert isinstance(parsed, ParsedFile)
    assert parsed.remittances


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_validate_never_raises_on_a_decodable_file(data: bytes) -> None:
    try:
        findings: list[Finding] | X12Rejected = validate_835(data)
    except X12Rejected as error:
        findings = error
    if isinstance(findings, X12Rejected):
        assert findings.findings[0].code in {"empty", "not_text", "no_isa", "isa"}
        return
    assert all(isinstance(f, Finding) for f in findings)


# Texts where the reader reads amounts, quantities and dates: valid in every written
# form and invalid in the ways parse_amount and parse_date reject.
NUMBERS = st.one_of(
    st.from_regex(r"[-+]?[0-9]{0,20}(\.[0-9]{0,3})?", fullmatch=True),
    st.sampled_from(["0", "0.00", "-0", "+0.00", ".5", "5.", "1e5", "NaN", "Infinity"]),
    st.sampled_from([" 12", "1_000", "1,000.00", "12.3.4", "--1", "DTEST", "", "."]),
    st.from_regex(r"(19|20|21|11)[0-9]{2}(0[0-9]|1[0-3])[0-3][0-9]", fullmatch=True),
)
# (segment, element positions) the values go into: CLP03-05, SVC02/03/05/07, CAS03/04,
# AMT02, DTM02
VALUE_PLACES = {
    "CLP": (3, 4, 5),
    "SVC": (2, 3, 5, 7),
    "CAS": (3, 4),
    "AMT": (2,),
    "DTM": (2,),
}
BASE_FILE = generate_835(6, lines_per_claim=2, seed=7).decode()


def _outcome(data: bytes) -> str:
    try:
        parsed = parse_835(data)
    except X12Rejected as rejected:
        return f"rejected {rejected.findings!r}"
    return f"read {parsed.remittances!r} {parsed.warnings!r}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pool=st.lists(NUMBERS, min_size=1, max_size=5), picks=st.lists(st.integers(0, 4)))
def test_values_looked_up_read_as_values_parsed(pool: list[str], picks: list[int]) -> None:
    """A few texts spread over a file's amount, quantity and date elements, each
    several times: read with the per-file table of values already read, the file
    gives the same remittances, claims, lines and findings (in the same order) as
    read with the table off, where every value takes the plain parse."""
    segments = BASE_FILE.split("~\n")
    turn = 0
    for index, segment in enumerate(segments):
        elements = segment.split("*")
        for place in VALUE_PLACES.get(elements[0], ()):
            while len(elements) <= place:
                elements.append("")
            pick = picks[turn % len(picks)] if picks else turn
            elements[place] = pool[pick % len(pool)]
            turn += 1
        segments[index] = "*".join(elements)
    data = "~\n".join(segments).encode()
    looked_up = _outcome(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "_CACHED_VALUES", 0)
        parsed_each_time = _outcome(data)
    assert looked_up == parsed_each_time


ISA = (
    "ISA*00*          *00*          *ZZ*PAYERSENDER    *ZZ*PRACTICERCV    *260615*1200*^*"
    "00501*000000001*0*P*:~"
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="AB*:~\n\r ", max_size=400))
def test_blocks_split_segments_as_pyx12_does(body: str) -> None:
    """``SegmentReader.blocks`` hands over, a block at a time, the segments pyx12's
    ``RawX12File`` yields one by one: split on the terminator, line breaks before a
    segment dropped, stopping at the first empty one."""
    text = ISA + body
    blocks = [line for block in SegmentReader(TextSource(text)).blocks() for line in block]
    assert blocks == list(pyx12.rawx12file.RawX12File(TextSource(text)))


# ------------------------------------------------ decode and prepare in one copy

EDGES = [b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c", b"\x1a", b"\x1c", b"\x1f", b"\x85"]
EDGES += [b"\xc2\xa0", b"\xe3\x80\x80", b"\xe9", b"\xc3\xa9", b"A", b"~"]


def _decoded_then_stripped(data: bytes) -> str:
    """What ``decode`` keeps of plain bytes, the way it was worked out before
    ``kept_span``: the whole file decoded, then stripped as text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.strip().rstrip("\x1a").strip()


@settings(max_examples=300, deadline=None)
@given(
    head=st.lists(st.sampled_from(EDGES), max_size=6),
    middle=st.sampled_from([b"ISA*00~", b"ISA*\xc3\xa9~", b"", b"\x1a", b"ISA*\xe9~"]),
    tail=st.lists(st.sampled_from(EDGES), max_size=8),
)
def test_the_kept_span_is_what_stripping_the_text_keeps(
    head: list[bytes], middle: bytes, tail: list[bytes]
) -> None:
    data = b"".join(head) + middle + b"".join(tail)
    span = segments.kept_span(data)
    if span is not None:
        begin, end = span
        kept = data[begin:end]
        # decoded as the whole file would be, the kept bytes are the stripped text
        text = kept.decode("utf-8") if _is_utf8(data) else kept.decode("cp1252", "replace")
        assert text == _decoded_then_stripped(data)
    if middle.startswith(b"ISA"):
        try:
            text, _ = segments.decode(data)
        except X12Rejected:
            return
        assert text == segments._to_ascii(_decoded_then_stripped(data))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(mutated(), st.sampled_from(BASES)),
    breaks=st.lists(st.sampled_from([b"", b"\n", b"\r\n", b" \n", b"\n ", b"\n\n", b"\t"])),
    last=st.sampled_from([b"", b"\n", b"~", b"~~", b" "]),
)
def test_a_text_prepared_in_one_step_is_the_text_mended(
    data: bytes, breaks: list[bytes], last: bytes
) -> None:
    # line breaks (or blanks) after some terminators, and what may end a file
    parts = data.split(b"~")
    data = b"".join(
        part + (b"~" + breaks[n % len(breaks)] if breaks else b"~")
        for n, part in enumerate(parts[:-1])
    )
    data += parts[-1] + last
    try:
        text, _ = segments.decode(data)
        fast = segments.prepare(text)
    except X12Rejected:
        return
    # the same text mended step by step, as every text was before
    with mock.patch.object(segments, "_as_written", return_value=None):
        mended = segments.prepare(text)
    assert fast == mended
