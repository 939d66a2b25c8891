"""The reader's pieces: decoding, ISA handling, value parsers, the event stream."""

from __future__ import annotations

import dataclasses
import tracemalloc
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import pytest

from app.x12.errors import X12Rejected
from app.x12.reader import (
    TransactionEnd,
    TransactionStart,
    decode_835,
    parse_835,
    stream_835,
    stream_835_taking,
)
from app.x12.schemas import Adjustment, ClaimPayment, ServiceLine
from app.x12.segments import parse_amount, parse_date, prepare, split_interchanges
from benchmarks.gen835 import generate_835
from tests.support import FIXTURES

CLEAN = (FIXTURES / "era" / "clean-5010.835").read_bytes()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1250.00", Decimal("1250.00")),
        ("6", Decimal("6")),
        ("-412.00", Decimal("-412.00")),
        ("+5", Decimal("5")),
        (".5", Decimal(".5")),
        ("5.", Decimal("5")),
        ("0", Decimal("0")),
        ("", None),
        ("-", None),
        (".", None),
        ("1,000.00", None),
        ("1e5", None),
        ("NaN", None),
        ("Infinity", None),
        ("12A.00", None),
        ("1.2.3", None),
        (" 12", None),
        ("DTEST", None),
    ],
)
def test_parse_amount(raw: str, expected: Decimal | None) -> None:
    assert parse_amount(raw) == expected
    if expected is not None:
        assert str(parse_amount(raw)) == str(Decimal(raw))  # exactly as written


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20260615", date(2026, 6, 15)),
        ("20240229", date(2024, 2, 29)),
        ("20250229", None),
        ("20260231", None),
        ("2026061", None),
        ("202606150", None),
        ("2026-6-1", None),
        ("", None),
        ("XXXXXXXX", None),
        ("11111111", None),
        ("99999999", None),
    ],
)
def test_parse_date(raw: str, expected: date | None) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("data", "starts"),
    [
        (b"\xef\xbb\xbfISA*00~", "ISA*00~"),
        (b"  \r\n ISA*00~ \r\n\x1a", "ISA*00~"),
        ("ISA*N1*JOS\u00c9 M\u00dcLLER~".encode(), "ISA*N1*JOSE MULLER~"),
        ("ISA*N1*JOS\u00c9~".encode("cp1252"), "ISA*N1*JOSE~"),
        ("\ufeffISA*00~".encode("utf-16"), "ISA*00~"),
    ],
)
def test_decode_835(data: bytes, starts: str) -> None:
    text = decode_835(data)
    assert text == starts
    assert text.isascii()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"ST*835*0001~BPR*I*1*C~SE*3*0001~", "no_isa"),
        (b"%PDF-1.7\n", "no_isa"),
        (b"ISA\x00\x00\x01\x02", "not_text"),
        (bytes(range(1, 32)) * 20 + b"ISA", "not_text"),
    ],
)
def test_decode_rejects(data: bytes, code: str) -> None:
    with pytest.raises(X12Rejected) as caught:
        stream_835(data)
    assert caught.value.findings[0].code == code
    assert caught.value.code == "invalid_835"


ISA_106 = (
    "ISA*00*          *00*          *ZZ*PAYERSENDER    *ZZ*PRACTICERCV    "
    "*260615*1200*^*00501*000000101*0*P*:~"
)


@pytest.mark.parametrize(
    ("isa", "element", "component", "terminator"),
    [
        (ISA_106, "*", ":", "~"),
        (ISA_106.replace("*", "|").replace(":~", ">~"), "|", ">", "~"),
        (ISA_106[:-1] + "\n", "*", ":", "\n"),
        (ISA_106[:-1] + "\r\n", "*", ":", "\n"),
        (ISA_106[:-1] + "\n~", "*", ":", "~"),
        (ISA_106[:-1] + "\x1e", "*", ":", "\x1e"),
        ("ISA*00**00**ZZ*A*ZZ*B*260615*1200*^*00501*1*0*P*:~", "*", ":", "~"),
    ],
)
def test_prepare_finds_delimiters_and_pads_the_isa(
    isa: str, element: str, component: str, terminator: str
) -> None:
    prepared = prepare(isa + "GS" + element + "HP" + terminator)
    assert prepared.delimiters.element == element
    assert prepared.delimiters.component == component
    assert prepared.delimiters.segment == terminator
    assert len(prepared.text.split(terminator)[0]) + 1 == 106
    assert prepared.text.endswith("GS" + element + "HP" + terminator)


@pytest.mark.parametrize(
    "isa",
    [
        "ISA*00*          *00",
        "ISA100*          *00*          *ZZ*A*ZZ*B*260615*1200*^*00501*1*0*P*:~",
        ISA_106[:-1] + "GS*HP~",
    ],
)
def test_prepare_rejects_an_unreadable_isa(isa: str) -> None:
    with pytest.raises(X12Rejected) as caught:
        prepare(isa)
    assert caught.value.findings[0].segment == "ISA"
    assert caught.value.findings[0].segment_number == 1


def test_stream_yields_events_in_file_order() -> None:
    stream = stream_835(CLEAN)
    events = list(stream)
    assert [type(e) for e in events] == [
        TransactionStart,
        ClaimPayment,
        ClaimPayment,
        TransactionEnd,
    ]
    start, end = events[0], events[-1]
    assert isinstance(start, TransactionStart)
    assert isinstance(end, TransactionEnd)
    assert start.remittance is end.remittance
    assert start.remittance.claims == []  # the stream never accumulates claims
    assert len(end.remittance.provider_adjustments) == 1
    assert stream.segments_read == 46
    assert stream.warnings == []


def test_transaction_start_has_the_header_but_not_the_plb() -> None:
    iterator = iter(stream_835(CLEAN))
    start = next(iterator)
    assert isinstance(start, TransactionStart)
    remittance = start.remittance
    assert remittance.payment_amount == Decimal("1000.00")
    assert remittance.payee.additional_id == "830000001"
    assert remittance.provider_adjustments == []
    assert remittance.payer_identifiers == ("55123", "1846543210", "846543210")


def test_a_stream_is_read_once() -> None:
    stream = stream_835(CLEAN)
    list(stream)
    with pytest.raises(RuntimeError):
        list(stream)


def test_a_truncated_file_rejects_at_the_end_without_a_transaction_end() -> None:
    data = generate_835(30)
    cut = data[: len(data) // 2]
    events: list[object] = []
    with pytest.raises(X12Rejected) as caught:
        events.extend(stream_835(cut))
    # claims read before the cut were yielded (the caller rolls back), the end never was
    assert isinstance(events[0], TransactionStart)
    assert 0 < len(events) < 30
    assert not any(isinstance(e, TransactionEnd) for e in events)
    assert caught.value.findings[-1].code == "missing_trailer"
    assert "missing SE trailer" in caught.value.message


def test_a_late_bad_amount_stops_events_and_reports_every_problem() -> None:
    data = generate_835(40).replace(b"AMT*B6*", b"AMT*B6*X", 3)
    with pytest.raises(X12Rejected) as caught:
        list(stream_835(data))
    findings = caught.value.findings
    assert [f.element for f in findings] == ["AMT02"] * 3
    assert all(f.loop == "2110" and f.segment == "AMT" for f in findings)
    assert findings[0].segment_number is not None
    assert findings[0].segment_number < findings[1].segment_number  # type: ignore[operator]


def test_findings_are_capped() -> None:
    data = generate_835(80).replace(b"CAS*CO*45*", b"CAS*CO*45*Z")
    with pytest.raises(X12Rejected) as caught:
        parse_835(data)
    assert len(caught.value.findings) == 50


@pytest.mark.parametrize(("claims", "lines_per_claim"), [(1, 1), (25, 3), (7, 6)])
def test_generated_files_are_valid_and_balanced(claims: int, lines_per_claim: int) -> None:
    parsed = parse_835(generate_835(claims, lines_per_claim, seed=claims))
    assert parsed.warnings == []
    (remittance,) = parsed.remittances
    assert len(remittance.claims) == claims
    assert all(len(c.lines) == lines_per_claim for c in remittance.claims)
    assert all(line.procedure_code for c in remittance.claims for line in c.lines)


def test_repeated_warnings_are_counted_not_kept() -> None:
    data = generate_835(150, 1).replace(b"CAS*CO*45*", b"CAS*CO*45*1")
    parsed = parse_835(data)
    unbalanced = [w for w in parsed.warnings if w.code == "line_unbalanced"]
    assert len(unbalanced) == 101  # 100 kept + one "50 more" line
    assert unbalanced[-1].message == "50 more warnings of this kind"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (ISA_106 + "GS*HP~IEA*1*000000101~", 1),
        (ISA_106 + "IEA*1*000000101~\n" + ISA_106 + "IEA*1*000000101~", 2),
        (ISA_106 + "IEA*1*1~" + ISA_106.replace("*", "|") + "IEA|1|1~", 2),
        (ISA_106 + "REF*EA*ISA*00*X~N1*PE*ISA CLINIC~IEA*1*1~", 1),
        (ISA_106 + "NM1*QC*1*LISA*00~IEA*1*1~", 1),
        (ISA_106 + "IEA*1*1~" + "ISA*00**00**ZZ*A*ZZ*B*260615*1200*^*00501*2*0*P*:~", 2),
    ],
)
def test_split_interchanges(text: str, parts: int) -> None:
    chunks = split_interchanges(text)
    assert len(chunks) == parts
    assert all(chunk.startswith("ISA") for chunk in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")


def test_streaming_memory_does_not_grow_with_the_claims() -> None:
    data = generate_835(1500)
    tracemalloc.start()
    try:
        claims = sum(1 for event in stream_835(data) if isinstance(event, ClaimPayment))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert claims == 1500
    # the text itself (decoded, then re-delimited) is all that scales with the file;
    # parse_835, which keeps every claim, needs over five times more
    assert peak < 4 * len(data)


def test_a_stream_taking_the_bytes_reads_the_same_and_lets_them_go() -> None:
    source = generate_835(1500)

    def peak(read: object) -> int:
        tracemalloc.start()
        try:
            holder = [bytes(bytearray(source))]  # allocated while traced
            assert callable(read)
            read(holder)
            _, found = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return found

    def events(stream: object) -> list[str]:
        assert isinstance(stream, Iterable)
        return [repr(event) for event in stream]

    holder = [source]
    taken = stream_835_taking(holder)
    assert holder == []
    assert events(taken) == events(stream_835(source))
    # the bytes are freed once decoded, before the text is prepared (a copy)
    kept = peak(lambda held: sum(1 for _ in stream_835(held[0])))
    freed = peak(lambda held: sum(1 for _ in stream_835_taking(held)))
    assert freed < kept - len(source) // 2
    with pytest.raises(ValueError, match="alone"):
        stream_835_taking([source, source])


def test_a_garbage_segment_identifier_is_never_echoed() -> None:
    data = CLEAN.replace(b"DTM*232*20260602~", b"DTM*232*20260602~\nROE RICHARD*MEM1001~")
    parsed = parse_835(data)
    assert {w.code for w in parsed.warnings} == {"invalid_segment", "segment_count"}
    (warning,) = [w for w in parsed.warnings if w.code == "invalid_segment"]
    assert warning.segment is None
    assert "ROE" not in warning.message


def test_lines_and_claims_are_built_in_their_field_order() -> None:
    """The reader passes ServiceLine's and ClaimPayment's fields positionally (a
    dataclass given a dozen keywords takes twice as long): a field added or moved in
    schemas.py must be added or moved in ``reader.new_line`` and ``reader.on_clp``."""
    assert [f.name for f in dataclasses.fields(ServiceLine)] == [
        "position",
        "procedure_qualifier",
        "procedure_code",
        "modifiers",
        "charge_amount",
        "paid_amount",
        "revenue_code",
        "units",
        "original_qualifier",
        "original_procedure_code",
        "original_modifiers",
        "original_units",
        "service_date",
        "service_end_date",
        "line_control_number",
        "allowed_amount",
        "remark_codes",
        "adjustments",
        "segment_number",
    ]
    assert [f.name for f in dataclasses.fields(ClaimPayment)] == [
        "position",
        "claim_id",
        "status_code",
        "charge_amount",
        "paid_amount",
        "patient_responsibility_amount",
        "filing_indicator",
        "payer_claim_number",
        "place_of_service",
        "frequency_code",
        "patient_name",
        "patient_member_id",
        "insured_name",
        "insured_member_id",
        "statement_from_date",
        "statement_to_date",
        "remark_codes",
        "adjustments",
        "lines",
        "segment_number",
    ]
    # and each value the reader passes lands in its field (keywords here)
    parsed = parse_835((FIXTURES / "era" / "svc06-svc07.835").read_bytes())
    claim = parsed.remittances[0].claims[0]
    assert claim.lines == [
        ServiceLine(
            position=1,
            procedure_qualifier="HC",
            procedure_code="64490",
            modifiers=(),
            charge_amount=Decimal("1800.00"),
            paid_amount=Decimal("310.00"),
            revenue_code="0450",
            units=Decimal("1"),
            original_qualifier="HC",
            original_procedure_code="64493",
            original_modifiers=("50", "RT", "LT", "XS"),
            original_units=Decimal("2"),
            service_date=date(2026, 6, 10),
            service_end_date=date(2026, 6, 11),
            line_control_number="L2001A",
            adjustments=[Adjustment("CO", "45", Decimal("1490.00"))],
            segment_number=19,
        )
    ]
    claim.lines = []
    assert claim == ClaimPayment(
        position=1,
        claim_id="PA2001",
        status_code="1",
        charge_amount=Decimal("1800.00"),
        paid_amount=Decimal("310.00"),
        filing_indicator="12",
        payer_claim_number="PCN2001",
        place_of_service="11",
        frequency_code="1",
        patient_name="ROE, RICHARD",
        patient_member_id="MEM2001",
        segment_number=17,
    )
