"""Values past their column's size inside a batch of claims: texts are cut to the
column, amounts too large to store reject the file at the claim that holds them
(prepare.fit, checked a batch at a time), whichever claim of the batch it is."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import models
from app.x12.errors import X12Rejected
from tests.reconciliation.builders import Claim, Line, e2, era
from tests.reconciliation.conftest import Ingest, row_counts

LONG = "X" * 80  # columns of CLP07 and REF*6R hold 50


def _claims(count: int) -> list[Claim]:
    return [
        Claim(f"K{n}", [Line("99213", "80.00", lcn=f"K{n}A")], member_id=f"M{n}")
        for n in range(1, count + 1)
    ]


def _clp_segment_number(data: bytes, claim_id: str) -> int:
    segments = data.decode().split("~\n")
    return next(i for i, s in enumerate(segments, start=1) if s.startswith(f"CLP*{claim_id}*"))


@pytest.mark.parametrize("at", [0, 2, 4])
def test_over_long_texts_are_cut_to_their_column(session: Session, ingest: Ingest, at: int) -> None:
    claims = _claims(5)
    claims[at].payer_claim_number = LONG
    claims[at].lines[0].lcn = "L" + LONG

    ingest(era(claims, trace=f"LONG{at}"))

    query = select(models.ClaimPayment.claim_id, models.ClaimPayment.payer_claim_number)
    stored: dict[str, str | None] = dict(session.execute(query).all())
    assert stored[f"K{at + 1}"] == LONG[:50]
    assert {v for k, v in stored.items() if k != f"K{at + 1}"} == {"PH0002"}
    lcns = set(session.execute(select(models.ServiceLine.line_control_number)).scalars())
    assert ("L" + LONG)[:50] in lcns
    assert len(lcns) == 5


@pytest.mark.parametrize("at", [0, 3, 5])
@pytest.mark.parametrize(
    ("where", "amount"),
    [("claim charge", "12345678901.00"), ("line charge", "9999999999.00")],
)
def test_an_amount_too_large_rejects_the_file_at_its_claim(
    session: Session, ingest: Ingest, at: int, where: str, amount: str
) -> None:
    claims = _claims(6)
    if where == "claim charge":
        claims[at].charge = amount
    else:
        claims[at].lines[0].charge = amount
    data = era(claims, trace=f"BIG{at}")
    before = row_counts(session)

    with pytest.raises(X12Rejected) as caught:
        ingest(data)

    [finding] = caught.value.findings
    assert finding.code == "amount_out_of_range"
    assert finding.segment == "CLP"
    assert finding.segment_number == _clp_segment_number(data, f"K{at + 1}")
    assert "too large to store" in finding.message
    assert row_counts(session) == before


@pytest.mark.parametrize("at", [0, 3, 5])
@pytest.mark.parametrize(
    ("where", "cas", "most"),
    [
        ("line CAS amount", "CAS*CO*97*-9999999999.00", "9,999,999,999"),
        ("line CAS quantity", "CAS*CO*97*1170.00*999999999", "999,999,999"),
        ("claim-level CAS amount", "CAS*OA*23*10000000000.00", "9,999,999,999"),
    ],
)
def test_a_cas_amount_too_large_rejects_the_file_at_its_claim(
    session: Session, ingest: Ingest, at: int, where: str, cas: str, most: str
) -> None:
    """CAS are stored as JSON in their claim's and line's rows, yet their amounts and
    quantities keep the bounds of the NUMERIC columns they had: the same rejection,
    at the same claim, as any other amount."""
    claims = _claims(6)
    claims[at].lines[0].reason = "97"
    data = era(claims, trace=f"CAS{at}")
    if where.startswith("claim-level"):
        clp = data.index(f"CLP*K{at + 1}*".encode())
        end = data.index(b"~\n", clp) + 2
        data = data[:end] + cas.encode() + b"~\n" + data[end:]
    else:
        assert data.count(b"CAS*CO*97*1170.00~") == 1
        data = data.replace(b"CAS*CO*97*1170.00~", cas.encode() + b"~")
    before = row_counts(session)

    with pytest.raises(X12Rejected) as caught:
        ingest(data)

    [finding] = caught.value.findings
    assert finding.code == "amount_out_of_range"
    assert (finding.segment, finding.loop) == ("CLP", "2100")
    assert finding.segment_number == _clp_segment_number(data, f"K{at + 1}")
    assert finding.message == (
        f"the claim payment: an amount or quantity is too large to store (at most {most} is "
        "accepted)"
    )
    assert row_counts(session) == before


def test_an_amount_just_under_the_bound_is_stored(session: Session, ingest: Ingest) -> None:
    claims = _claims(3)
    claims[1].lines[0].charge = "9999999998.00"

    ingest(era(claims, trace="EDGE"))

    charges = set(session.execute(select(models.ServiceLine.charge_amount)).scalars())
    assert max(charges) == 9999999998


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("remit\x00.835", "remit.835"),
        ("june\r\n.835", "june.835"),
        ("\x00\x01", None),
        ("x" * 300 + ".835", "x" * 255),
    ],
)
def test_the_file_name_is_stored_without_control_characters(
    session: Session, ingest: Ingest, given: str, stored: str | None
) -> None:
    result = ingest(era([e2()], trace=f"N{len(given)}"), filename=given)
    assert result.status == "processed"
    row = session.get(models.EraFile, uuid.UUID(str(result.file_id)))
    assert row is not None
    assert row.filename == stored
