"""The rows ``prepare`` builds — JSON and DATE columns as their texts, looked up by
value; the columns a batch's rows share (``tail``) formatted once; the size check by
groups of columns — against rows built plainly from the parsed file: every column's
value as the domain object holds it, converted by ``repository.prepare_rows`` alone.
The same COPY text and row ends, the same values, byte for byte (``repr``: a
Decimal's exponent counts)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR
from app.contracts.index import current_index
from app.contracts.reference import load_reference
from app.contracts.service import load_paths
from app.db import models
from app.db.types import to_cents
from app.reconciliation import prepare, repository
from app.x12 import schemas as x12
from app.x12.errors import X12Rejected
from app.x12.reader import parse_835
from benchmarks.gen835 import generate_835
from tests.reconciliation.builders import Claim, Line, era

ROOT = Path(__file__).resolve().parents[2]
FILE_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
NOW = datetime(2026, 11, 27, 8, 0, 1, 250000, tzinfo=UTC)
DIALECTS = ["postgresql+psycopg", "sqlite+pysqlite"]
THOUSANDTH = Decimal("0.001")


@pytest.fixture
def index(session: Session) -> Any:
    load_paths(session, paths=[ROOT / "contracts"], actor=CLI_ACTOR)
    return current_index(session)


def _q3(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(THOUSANDTH, rounding=ROUND_HALF_UP)


def _cas(adjustments: list[x12.Adjustment]) -> list[list[str | None]]:
    """A claim's or line's CAS as the plain list of what their old columns stored: the
    codes cut to 2 and 5, the amount's and quantity's NUMERIC values as text (no
    negative zero there)."""
    out: list[list[str | None]] = []
    for adj in adjustments:
        cents = to_cents(adj.amount)
        quantity = _q3(adj.quantity)
        out.append(
            [
                adj.group_code[:2],
                adj.reason_code[:5],
                f"{abs(cents) if cents == 0 else cents:.2f}",
                None if quantity is None else f"{abs(quantity) if quantity == 0 else quantity:.3f}",
            ]
        )
    return out


def _plain(data: bytes, pricer: prepare.Pricer, dialect_key: str, batch_claims: int) -> list[Any]:
    """Each batch's tables as ``prepare`` gives them, built the plain way: whole rows
    of the domain objects' values, then ``fit`` and ``prepare_rows`` with nothing
    ready and no tail."""
    dialect = repository.dialect_named(dialect_key)
    ids = prepare.FileIds(FILE_ID)
    file_key = str(FILE_ID)
    out: list[Any] = []
    for remittance in parse_835(data).remittances:
        state_key = str(ids())
        payee = prepare.Payee.of(remittance)
        payer_id, practice_key = remittance.payer_id, remittance.practice_key
        payment_date = remittance.effective_payment_date
        for first in range(0, len(remittance.claims), batch_claims):
            claims = remittance.claims[first : first + batch_claims]
            rows: list[list[tuple[Any, ...]]] = [[], [], []]
            starts: list[list[int]] = [[], [], []]
            for claim in claims:
                for table, table_starts in zip(rows, starts, strict=True):
                    table_starts.append(len(table))
                claims_rows, lines, results = rows
                key = ids.text()
                claims_rows.append(
                    (key, state_key, file_key, claim.position)
                    + (prepare.claim_identity(remittance, claim), claim.claim_id)
                    + (claim.status_code, claim.charge_amount, claim.paid_amount)
                    + (claim.patient_responsibility_amount, claim.filing_indicator)
                    + (claim.payer_claim_number, claim.place_of_service, claim.frequency_code)
                    + (claim.patient_name, claim.patient_member_id, claim.insured_name)
                    + (claim.insured_member_id, claim.statement_from_date)
                    + (claim.statement_to_date, claim.remark_codes, _cas(claim.adjustments))
                    + (None, None, payer_id, practice_key, payment_date)
                )
                line_ids = {}
                for line in claim.lines:
                    line_id = line_ids[line.position] = ids.text()
                    lines.append(
                        (line_id, key, line.position, line.procedure_qualifier)
                        + (line.procedure_code, line.modifiers, line.charge_amount)
                        + (line.paid_amount, line.revenue_code, _q3(line.units))
                        + (line.original_qualifier, line.original_procedure_code)
                        + (line.original_modifiers, _q3(line.original_units))
                        + (line.service_date, line.service_end_date, line.line_control_number)
                        + (line.allowed_amount, line.remark_codes, _cas(line.adjustments))
                    )
                if claim.is_reversal or not claim.lines:
                    continue
                for result, terms, service_date in pricer.price(claim, payee):
                    values = prepare.priced_values(
                        result,
                        terms,
                        service_date,
                        payer_id=payer_id,
                        payer_name=remittance.payer.name,
                        payment_date=payment_date,
                    )
                    results.append(
                        values
                        + (ids.text(), line_ids[result.position], key, state_key, file_key)
                        + (payer_id, practice_key, payment_date, "open", None, None, NOW)
                    )
            tables = [
                (model, names, table, table_starts)
                for (model, names), table, table_starts in zip(
                    prepare.BATCH_TABLES, rows, starts, strict=True
                )
            ]
            prepare.fit_claims(claims, tables)
            out.append(
                [
                    repository.prepare_rows(model, dialect, names, table)
                    for model, names, table, _ in tables
                ]
            )
    return out


def _prepared(data: bytes, pricer: prepare.Pricer, dialect_key: str, batch_claims: int) -> Any:
    events = prepare.prepare(
        data,
        file_id=FILE_ID,
        pricer=pricer,
        dialect_key=dialect_key,
        now=NOW,
        batch_claims=batch_claims,
    )
    return [e.tables for e in events if isinstance(e, prepare.Batch)]


ODD_REASONS = ['Q"1', "B\\2", "1234567", "45", "A-1"]


def _files() -> list[tuple[str, bytes]]:
    long = "L" * 80  # past CLP07's and REF*6R's 50: cut by fit
    cut = [Claim(f"K{n}", [Line("99213", "80.00", lcn=f"K{n}A")]) for n in range(60)]
    cut[33].payer_claim_number = long
    cut[34].lines[0].lcn = long
    # CAS JSON must escape (a quote, a backslash), cut (past 5), quantities, and amounts
    # that round to a zero of either sign
    odd = [Claim(f"Q{n}", [Line("99213", "80.00", reason=r)]) for n, r in enumerate(ODD_REASONS)]
    codes = era(odd, trace="ODD").replace(
        b"CAS*CO*45*1170.00~", b"CAS*CO*45*1170.004*2.0005*2*-0.004*-0.0004*\\*0.005~"
    )
    assert codes.count(b"*0.005~") == 1
    files = [
        ("codes", codes),
        ("summit", generate_835(70, 3, seed=5, payer_id="71412", payer_name="SUMMIT HEALTH PPO")),
        ("reversals", generate_835(40, 2, seed=9)),
        ("small", generate_835(3, 2, seed=2, payer_id="71412")),
        ("cut", era(cut, trace="CUT")),
    ]
    for path in sorted((ROOT / "tests" / "fixtures" / "era").glob("*.835")):
        if not path.name.startswith("reject-"):
            files.append((path.name, path.read_bytes()))
    return files


@pytest.mark.parametrize("dialect_key", DIALECTS)
@pytest.mark.parametrize("batch_claims", [7, 500])
def test_prepared_rows_are_the_plainly_built_ones(
    index: Any, dialect_key: str, batch_claims: int
) -> None:
    reference = load_reference()
    copied = 0
    for name, data in _files():
        fast = _prepared(data, prepare.Pricer(index, reference), dialect_key, batch_claims)
        plain = _plain(data, prepare.Pricer(index, reference), dialect_key, batch_claims)
        assert repr(fast) == repr(plain), name
        copied += sum(1 for tables in fast for t in tables if t.copy_text is not None)
    # both forms were compared: COPY text (large batches on PostgreSQL) and values
    assert (copied > 0) is (dialect_key.startswith("postgresql") and batch_claims == 500)


def test_a_negative_amount_too_large_rejects_the_file(index: Any) -> None:
    claims = [Claim(f"K{n}", [Line("99213", "80.00")]) for n in range(60)]
    claims[41].lines[0].charge = "-9999999999.00"  # |value| past NUMERIC(12, 2)
    with pytest.raises(X12Rejected) as caught:
        _prepared(
            era(claims, trace="NEG"), prepare.Pricer(index, load_reference()), DIALECTS[0], 500
        )
    [finding] = caught.value.findings
    assert finding.code == "amount_out_of_range"


# ------------------------------------------------------------- prepare_rows alone

PG = repository.dialect_named("postgresql+psycopg")
SQLITE = repository.dialect_named("sqlite+pysqlite")
TEXTS = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=12)
CODES = st.lists(st.text("ABC\\\"\t'é", max_size=3), max_size=4).map(tuple)
DAYS = st.none() | st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
AMOUNTS = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d) < Decimal(10) ** 12
)
CAS = st.lists(
    st.builds(
        x12.Adjustment,
        st.text('COPRé\\"\t', max_size=3),
        st.text('0123456789AZé\\"\n ', max_size=7),
        AMOUNTS,
        st.none() | AMOUNTS,
    ),
    max_size=3,
)


@given(
    codes=st.lists(CODES, min_size=1, max_size=90),
    days=st.lists(DAYS, min_size=1, max_size=90),
    tail=st.tuples(TEXTS, st.none() | TEXTS, DAYS),
    cas=st.lists(CAS, min_size=1, max_size=5),
)
@example(  # past SMALL_INSERT_ROWS: COPY text, a tail with a tab and a backslash
    codes=[("A\\", 'q"'), (), ("\t",)] * 20,
    days=[date(2026, 6, 2), None, date(999, 1, 31)] * 20,
    tail=("tab\there", "back\\slash \\N", date(2026, 6, 15)),
    cas=[[], [x12.Adjustment("CO", "45", Decimal("-0.001"), Decimal("2"))]],
)
def test_ready_texts_and_a_tail_give_what_whole_raw_rows_give(
    codes: list[tuple[str, ...]],
    days: list[date | None],
    tail: tuple[str, str | None, date | None],
    cas: list[list[x12.Adjustment]],
) -> None:
    names = prepare.CLAIM_COLUMNS
    count = max(len(codes), len(days))
    raw = [
        (f"id{n}", "s", "f", n, "x" * 64, f"C{n}", "1", Decimal("1.10"), Decimal(-n), None)
        + ("12", tail[0], None, "1", tail[0], None, tail[1], None)
        + (days[n % len(days)], days[-1 - n % len(days)], codes[n % len(codes)])
        + (prepare.cas_values(cas[n % len(cas)]), None, None)
        for n in range(count)
    ]
    for dialect in (PG, SQLITE):
        texts = repository.column_texts(dialect)
        assert texts.ready
        ready = [
            row[:18]
            + (texts.date[row[18]], texts.date[row[19]], texts.json[row[20]])
            + (prepare.cas_json(cas[n % len(cas)], [], []),)
            + row[22:]
            for n, row in enumerate(raw)
        ]
        tail_ready = tail[:2] + (texts.date[tail[2]],)
        whole = [row + tail for row in raw]
        expected = repository.prepare_rows(models.ClaimPayment, dialect, names, whole)
        got = repository.prepare_rows(
            models.ClaimPayment, dialect, names, ready, ready=True, tail=tail_ready
        )
        assert repr(got) == repr(expected)
        if dialect is PG:
            # more than SMALL_INSERT_ROWS: COPY text; else values
            assert (got.copy_text is not None) is (count > repository.SMALL_INSERT_ROWS)


MONEY = Decimal(10) ** 10  # NUMERIC(12, 2): |value| < 10**10 - 1 is stored
QUANTITY = Decimal(10) ** 9  # NUMERIC(12, 3)


def _around(bound: Decimal) -> st.SearchStrategy[Decimal | None]:
    values = [Decimal(0), Decimal("0.00"), Decimal("12.5"), bound - 2, bound - 1, bound]
    return st.none() | st.sampled_from(values).flatmap(lambda d: st.sampled_from([d, -d]))


CODE = st.none() | st.text("ab", max_size=7)  # the qualifiers hold 4


@given(
    st.lists(st.tuples(CODE, _around(MONEY)), min_size=1, max_size=6),
    st.tuples(CODE, _around(QUANTITY)),
)
def test_the_batch_size_check_answers_whether_fit_changes_nothing(
    rows: list[tuple[Any, ...]], tail: tuple[Any, ...]
) -> None:
    """``_fits`` (over groups of columns of one limit, the tail's values once) is True
    exactly where ``fit`` cuts nothing and rejects nothing, for whole rows too."""
    names = ("procedure_qualifier", "charge_amount", "original_qualifier", "units")
    whole = [row + tail for row in rows]
    fits = prepare._fits(models.ServiceLine, names, list(rows), tail)
    assert fits == prepare._fits(models.ServiceLine, names, whole)
    dicts = [dict(zip(names, row, strict=True)) for row in whole]
    where = x12.Finding("the claim payment", segment_number=1, segment="CLP", loop="2100")
    try:
        prepare.fit(models.ServiceLine, dicts, where=where)
    except X12Rejected:
        assert not fits
    else:
        assert fits is ([tuple(d.values()) for d in dicts] == whole)


# --------------------------------------------------------------------- CAS as JSON


@pytest.mark.parametrize(
    ("group", "reason"),
    [
        ("CO", "45"),  # plain: formatted
        ("PR", "A1"),
        ('C"', "4\\5"),  # a quote, a backslash
        ("é", "ñ1"),  # not ASCII
        ("", "A B"),  # empty, a space
        ("CO1", "1234567"),  # cut to 2 and 5
        ("\t", "\x01"),  # controls
    ],
)
def test_cas_json_is_what_json_dumps_gives(group: str, reason: str) -> None:
    adjustments = [
        x12.Adjustment(group, reason, Decimal("12"), None),
        x12.Adjustment(group, reason, Decimal("-0.004"), Decimal("2.0005")),
        x12.Adjustment("PR", "2", Decimal("1E+2"), Decimal("-0.0004")),
        x12.Adjustment("OA", reason, Decimal("-3.505"), Decimal("1.5")),
    ]
    for some in (adjustments[:1], adjustments, []):
        amounts: list[Decimal] = []
        quantities: list[Decimal] = []
        text = prepare.cas_json(some, amounts, quantities)
        assert text == json.dumps(prepare.cas_values(some))
        assert amounts == [a.amount for a in some]
        assert quantities == [a.quantity for a in some if a.quantity is not None]
    # amounts as the Money column stored them (half-up to cents, no negative zero),
    # quantities as the Quantity column (to 0.001 half-up)
    assert json.loads(prepare.cas_json(adjustments, [], [])) == [
        [group[:2], reason[:5], "12.00", None],
        [group[:2], reason[:5], "0.00", "2.001"],
        ["PR", "2", "100.00", "0.000"],
        ["OA", reason[:5], "-3.51", "1.500"],
    ]


@given(AMOUNTS, st.none() | AMOUNTS)
def test_cas_amounts_are_the_stored_values_text(amount: Decimal, quantity: Decimal | None) -> None:
    [[_, _, cents, thousandths]] = json.loads(
        prepare.cas_json([x12.Adjustment("CO", "45", amount, quantity)], [], [])
    )
    assert Decimal(cents) == to_cents(amount)
    assert cents == f"{to_cents(amount) + 0:.2f}"  # + 0: what NUMERIC holds of a -0
    if quantity is None:
        assert thousandths is None
    else:
        assert Decimal(thousandths) == _q3(quantity)
        assert thousandths == f"{_q3(quantity) + 0:.3f}"
