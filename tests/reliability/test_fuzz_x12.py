"""Fuzzing the 835 reader with structure-aware generated files (spec/parsing.md).

tests/x12/test_properties.py mutates a few fixture files byte by byte; these go
further: whole files drawn segment by segment with random delimiters, element values,
SVC/CAS/PLB composites and layouts. A well-formed file must be accepted and read back
exactly; a wild one read or rejected with ``X12Rejected`` — never another exception.
The budget is bounded for CI; ``scripts/fuzz.py`` runs the same properties longer.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings

from app.x12.errors import X12Rejected
from app.x12.reader import ParsedFile, parse_835, stream_835
from app.x12.schemas import ClaimPayment, Finding
from tests.reliability.generators import Drawn835, well_formed_835, wild_835

CI = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_well_formed(drawn: Drawn835) -> None:
    """Any legal delimiters and layout: read, and read back as written."""
    assert drawn.expected is not None
    parsed = parse_835(drawn.data)
    claims = [claim for remittance in parsed.remittances for claim in remittance.claims]
    assert [r.payment_amount for r in parsed.remittances] == drawn.expected.payments
    assert len(claims) == len(drawn.expected.claims)
    for claim, (claim_id, paid, line_paid) in zip(claims, drawn.expected.claims, strict=True):
        assert claim.claim_id == claim_id
        assert claim.paid_amount == paid
        assert isinstance(claim.paid_amount, Decimal)
        assert [line.paid_amount for line in claim.lines] == line_paid
        for line in claim.lines:
            assert line.procedure_code is not None
            assert all(isinstance(a.amount, Decimal) for a in line.adjustments)
    for warning in parsed.warnings:
        assert warning.code != "unreadable", warning


def check_wild(data: bytes) -> ParsedFile | X12Rejected:
    """Read or rejected with located findings; nothing else escapes."""
    try:
        outcome: ParsedFile | X12Rejected = parse_835(data)
    except X12Rejected as rejected:
        outcome = rejected
    if isinstance(outcome, X12Rejected):
        assert outcome.findings
        assert all(isinstance(f, Finding) and f.message for f in outcome.findings)
        assert len(outcome.findings) <= 50
        assert outcome.message.startswith("the 835 file cannot be read")
        return outcome
    assert outcome.remittances
    for remittance in outcome.remittances:
        assert isinstance(remittance.payment_amount, Decimal)
        for claim in remittance.claims:
            assert isinstance(claim.paid_amount, Decimal)
    return outcome


def check_stream_agrees(data: bytes) -> None:
    """The lazy stream and the whole-file reader decide alike: events before a late
    rejection are allowed, but a rejected file never ends normally."""
    events = 0
    try:
        for event in stream_835(data):
            events += 1
            if isinstance(event, ClaimPayment):
                assert isinstance(event.charge_amount, Decimal)
    except X12Rejected:
        streamed_ok = False
    else:
        streamed_ok = True
    try:
        parse_835(data)
    except X12Rejected:
        parsed_ok = False
    else:
        parsed_ok = True
    assert streamed_ok == parsed_ok


@CI
@given(well_formed_835())
def test_well_formed_files_with_any_delimiters_are_read_back_exactly(drawn: Drawn835) -> None:
    check_well_formed(drawn)


@CI
@given(wild_835())
def test_wild_files_are_read_or_rejected(drawn: Drawn835) -> None:
    check_wild(drawn.data)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wild_835())
def test_streaming_and_whole_file_reading_agree(drawn: Drawn835) -> None:
    check_stream_agrees(drawn.data)
