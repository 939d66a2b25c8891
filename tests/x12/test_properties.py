"""Mutated valid files: ``parse_835`` either reads them or rejects them with
X12Rejected — never another exception (spec/parsing.md: "never crash")."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.x12.errors import X12Rejected
from app.x12.reader import ParsedFile, parse_835
from app.x12.schemas import Finding
from app.x12.validation import validate_835
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
