"""Rows of a large batch cross to the writer as COPY text (``PreparedRows.copy_text``),
formatted where they are built by psycopg's own formatter: the same bytes as the
values path's ``write_row``, the same rows stored, the same rows taken apart when a
claim is dropped, and the fast path really on (not silently the values path)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, select, text
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from app.db import models
from app.reconciliation import prepare, repository
from tests.factories import make_remittance
from tests.reconciliation.builders import Claim, Line, era
from tests.reconciliation.conftest import Ingest

PG = repository.dialect_named("postgresql+psycopg")
COPIED = repository.SMALL_INSERT_ROWS + 9  # past the INSERT: a COPY

# texts COPY's text format has to escape, or could mistake for its own markers
TRICKY = [
    "tab\there",
    "new\nline",
    "carriage\rreturn\r\n",
    "back\\slash \\N \\.",
    "\\.",
    "é ñ ü 😀 中文",
    "",
    "NULL",
    '"quoted", comma',
    "\x08\x0b\x0c controls",
]


def test_the_c_formatter_is_what_the_ingest_uses() -> None:
    # the private formatter must be there, and psycopg's C one: otherwise large
    # batches would silently cross as values (or be formatted in slow Python)
    from psycopg import pq
    from psycopg._copy_base import format_row_text

    assert pq.__impl__ in ("c", "binary")
    assert repository.COPY_TEXT_READY
    assert format_row_text is repository._format_row_text
    assert format_row_text.__module__ in ("psycopg_binary._psycopg", "psycopg_c._psycopg")
    prepared = repository.prepare_rows(
        models.ProviderAdjustment, PG, PLB_COLUMNS, _plb_rows(COPIED)
    )
    assert prepared.values is None
    assert prepared.copy_text is not None
    assert len(prepared) == COPIED


# ------------------------------------------------------------------ the same bytes


def _converted(model: type[Any], names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Any:
    """The values path's values of ``rows``: each column's converter, as ``_writer``
    picks them (Decimal, date → str; JSON dumped, None as 'null')."""
    converters = []
    for index, name in enumerate(names):
        kind = model.__table__.c[name].type
        convert = repository._converter(kind, PG)
        if convert is not None:
            converters.append((index, convert, not isinstance(kind, JSON)))
    return repository._convert(converters, list(rows))


# any text PostgreSQL can store: no NUL, no lone surrogate (see the test below)
TEXT = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d) < Decimal(10) ** 12
)


@given(
    st.lists(
        st.tuples(
            DECIMALS,
            st.one_of(st.none(), DECIMALS),
            st.text(TEXT, max_size=8),
            st.sampled_from(["CO", "PR", "OA", "é\t"]),
        ),
        min_size=1,
        max_size=COPIED + 5,
    )
)
def test_raw_values_format_as_the_converted_ones(
    rows: list[tuple[Decimal, Decimal | None, str, str]],
) -> None:
    # the COPY text is formatted from the raw Decimals and dates (only JSON dumped
    # first); it must be byte for byte what the values path's str() values give
    names = ("charge_amount", "units", "procedure_code", "procedure_qualifier")
    converted = _converted(models.ServiceLine, names, rows)
    assert repository.copy_text_of(rows) == repository.copy_text_of(converted)


@given(
    st.lists(
        st.tuples(
            st.dates(),
            st.one_of(st.none(), st.dates()),
            st.lists(st.text(max_size=5), max_size=4),  # as JSON: \u0000, \ud800
            st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_dates_json_and_times_format_as_the_converted_ones(
    rows: list[tuple[date, date | None, list[str], datetime]],
) -> None:
    names = ("service_date", "dispute_deadline", "carc", "priced_at")
    converted = _converted(models.PricingResult, names, rows)
    dumped = [(a, b, repository._dump_json(c), d) for a, b, c, d in rows]
    assert repository.copy_text_of(dumped) == repository.copy_text_of(converted)


@pytest.mark.parametrize(
    ("refused", "error"), [("4\x005", DataError), ("\ud800", UnicodeEncodeError)]
)
def test_a_text_the_driver_refuses_fails_as_through_values(
    session: Session, is_postgres: bool, refused: str, error: type[Exception]
) -> None:
    # the reader rejects a file with a NUL byte and reads text as ASCII; were such a
    # text to reach a row anyway, its write fails as it always did (at the COPY),
    # not while preparing
    rows = _plb_rows(COPIED)
    rows[COPIED // 2] = (*rows[COPIED // 2][:4], refused, *rows[COPIED // 2][5:])
    prepared = repository.prepare_rows(models.ProviderAdjustment, PG, PLB_COLUMNS, rows)
    assert prepared.copy_text is None
    assert prepared.values is not None
    few, _ = _both(_plb_rows(COPIED))
    with pytest.raises(error):
        few.extend(
            repository.PreparedRows("provider_adjustments", prepared.names, values=prepared.values)
        )
    if is_postgres:
        writer = repository.BulkWriter(session)

        def write() -> None:
            with session.begin_nested():
                writer.insert_prepared(models.ProviderAdjustment, prepared)
                writer.wait()

        try:
            with pytest.raises(error):
                write()
        finally:
            writer.close()


# --------------------------------------------------------- taking rows apart, joining


# a small table's rows (PLB) to take apart and join: ids, texts, NULLs, dates, amounts
PLB_COLUMNS = (
    "id",
    "remittance_id",
    "provider_id",
    "fiscal_period_date",
    "reason_code",
    "reference_id",
    "amount",
)


def _plb_rows(count: int) -> list[tuple[Any, ...]]:
    return [
        (
            str(uuid.UUID(int=n + 1)),
            str(uuid.UUID(int=1000 + n // 3)),
            None if n % 4 else TRICKY[n % len(TRICKY)],
            None if n % 2 else date(2026, 1 + n % 12, 1 + n % 28),
            TRICKY[(n + 3) % len(TRICKY)][:4],
            TRICKY[(n + 5) % len(TRICKY)],
            Decimal(n) / 7 if n % 3 else Decimal(-n) / 3,
        )
        for n in range(count)
    ]


def _both(rows: list[tuple[Any, ...]]) -> tuple[repository.PreparedRows, repository.PreparedRows]:
    """The rows prepared as COPY text and as values."""
    names = PLB_COLUMNS
    as_text = repository.prepare_rows(models.ProviderAdjustment, PG, names, rows)
    as_values = repository.PreparedRows(
        "provider_adjustments", names, values=_converted(models.ProviderAdjustment, names, rows)
    )
    assert as_text.copy_text is not None
    return as_text, as_values


def _text_of(prepared: repository.PreparedRows) -> tuple[bytes, list[int]]:
    if prepared.copy_text is not None:
        assert prepared.ends is not None
        return prepared.copy_text, prepared.ends
    assert prepared.values is not None
    return repository.copy_text_of(prepared.values)


@pytest.mark.parametrize(
    "ranges",
    [
        [(0, COPIED)],
        [(0, 3), (4, COPIED)],  # one dropped near the start
        [(0, 20), (20, 20), (21, 30), (31, COPIED - 1)],  # an empty range, the last dropped
        [(1, 2), (COPIED - 1, COPIED)],
        [(5, 5)],
        [],
    ],
)
def test_taking_rows_of_the_text_takes_the_same_rows(ranges: list[tuple[int, int]]) -> None:
    as_text, as_values = _both(_plb_rows(COPIED))
    taken_text, taken_values = as_text.take(ranges), as_values.take(ranges)
    assert len(taken_text) == len(taken_values) == sum(b - a for a, b in ranges)
    assert _text_of(taken_text) == _text_of(taken_values)
    # every row ends with its newline: nothing cut in the middle of a row
    assert taken_text.copy_text is not None
    assert taken_text.copy_text.count(b"\n") == len(taken_text)


def test_joining_text_and_values_gives_one_text() -> None:
    rows = _plb_rows(2 * COPIED + 10)
    big, _ = _both(rows[:COPIED])
    small = repository.prepare_rows(
        models.ProviderAdjustment, PG, PLB_COLUMNS, rows[COPIED : COPIED + 10]
    )
    assert small.values is not None  # few rows: values, as before
    more, _ = _both(rows[COPIED + 10 :])
    joined = repository.PreparedRows("provider_adjustments", PLB_COLUMNS)
    for part in (small, big, small, more):
        joined.extend(part)
    expected = rows[COPIED : COPIED + 10] + rows[:COPIED] + rows[COPIED : COPIED + 10]
    expected += rows[COPIED + 10 :]
    assert len(joined) == len(expected)
    assert _text_of(joined) == repository.copy_text_of(
        _converted(models.ProviderAdjustment, PLB_COLUMNS, expected)
    )
    # the parts joined are left as they were
    assert len(big) == COPIED
    assert len(small) == 10


# ------------------------------------------------------------- stored, read back


def _batch_rows(remittance: models.Remittance, tag: str) -> list[list[tuple[Any, ...]]]:
    """Rows of claims (with CAS), lines (with CAS) and results
    (``prepare.BATCH_TABLES``) holding texts, JSON, NULLs, amounts and dates COPY's
    text format must carry exactly."""
    ids = prepare.FileIds(uuid.uuid4())
    state_key, file_key = str(remittance.id), str(remittance.file_id)
    priced_at = datetime(2026, 11, 27, 8, 0, 1, 123456, tzinfo=timezone(timedelta(hours=-5)))
    claims, lines, results = [], [], []
    for n in range(COPIED):
        word = TRICKY[n % len(TRICKY)]
        other = TRICKY[(n + 1) % len(TRICKY)]
        codes = [word[:3], "é", 'q"', "\\"] if n % 3 else []
        day = date(1999 + n % 30, 1 + n % 12, 1 + n % 28)
        claim_key, line_key = ids.text(), ids.text()
        cas = [[word[:2], other[:5], f"-{n}.02", "2.500" if n % 2 else None]] * (n % 3)
        claims.append(
            (claim_key, state_key, file_key, n, f"{tag}{n}", word[:50], "1")
            + (Decimal("12345678.905"), Decimal(f"-{n}.995"), None if n % 2 else Decimal("0"))
            + ("12", other[:50], None, "1", word, other if n % 2 else None, word[:80], None)
            + (day, None if n % 2 else day, codes, cas[:1], None, None, "55123", "1326048597")
            + (day,)
        )
        lines.append(
            (line_key, claim_key, 1, "HC", word[:48], codes, Decimal("-1.005"))
            + (Decimal("999999.99"), None, Decimal("123456789.1235"), None, other[:48], [])
            + (Decimal("-0.0005"), day, None, word[:50], Decimal("0.125"), list(reversed(codes)))
            + (cas,)
        )
        results.append(
            (None, f"c-{word}"[:80], "55123", other[:120], day, word[:48], codes, Decimal("1"))
            + (Decimal("1.1"), None, Decimal("0.5"), n % 4, Decimal("33.3335"), None)
            + (Decimal("100.00"), Decimal(f"-{n}.50"), Decimal("-0.01"), "underpaid", n % 2 == 0)
            + (None, word * 3, f"{word}\n{other}\t{word}", codes, [], None if n % 5 else day)
            + (ids.text(), line_key, claim_key, state_key, file_key, "55123", "1326048597")
            + (day, "open", None, None, priced_at)
        )
    return [claims, lines, results]


def _write(session: Session, tables: list[list[tuple[Any, ...]]], *, fast: bool) -> None:
    writer = repository.BulkWriter(session)
    try:
        for (model, names), rows in zip(prepare.BATCH_TABLES, tables, strict=True):
            prepared = repository.prepare_rows(model, PG, names, rows)
            assert (prepared.copy_text is not None) is fast
            writer.insert_prepared(model, prepared)
        writer.wait()
    finally:
        writer.close()


# the ids and links: the two copies' differ
LINKS = {
    "id",
    "identity",
    "remittance_id",
    "file_id",
    "claim_payment_id",
    "service_line_id",
    "reverses_id",
    "reversed_by_id",
    "filed_packet_id",
}


def _read(session: Session, remittance: models.Remittance) -> list[list[tuple[Any, ...]]]:
    """Each table's rows of ``remittance`` in the order written, without their ids
    and links."""
    out = []
    claims = select(models.ClaimPayment.id).where(
        models.ClaimPayment.remittance_id == remittance.id
    )
    for model, names in prepare.BATCH_TABLES:
        columns = [model.__table__.c[name] for name in names if name not in LINKS]
        query = select(*columns).order_by(model.id)
        if model in (models.ClaimPayment, models.PricingResult):
            query = query.where(model.remittance_id == remittance.id)
        else:
            query = query.where(model.claim_payment_id.in_(claims))
        out.append([tuple(row) for row in session.execute(query)])
    return out


def test_rows_written_as_copy_text_read_back_as_through_values(
    session: Session, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not is_postgres:
        pytest.skip("COPY text is PostgreSQL's; SQLite's rows go by executemany")
    fast, plain = make_remittance(session), make_remittance(session)
    fast_rows = _batch_rows(fast, "fast")
    _write(session, fast_rows, fast=True)
    monkeypatch.setattr(repository, "COPY_TEXT_READY", False)
    _write(session, _batch_rows(plain, "plain"), fast=False)
    session.expire_all()

    stored = _read(session, fast)
    assert [len(rows) for rows in stored] == [COPIED] * 3
    assert stored == _read(session, plain)
    # and what was meant, exactly: texts, JSON lists, NULLs, dates, rounded amounts
    claims = session.scalars(
        select(models.ClaimPayment)
        .where(models.ClaimPayment.remittance_id == fast.id)
        .order_by(models.ClaimPayment.id)
    ).all()
    assert [c.claim_id for c in claims] == [row[5] for row in fast_rows[0]]
    assert [c.patient_name for c in claims] == [row[14] for row in fast_rows[0]]
    assert [c.patient_member_id for c in claims] == [row[15] for row in fast_rows[0]]
    assert [c.remark_codes for c in claims] == [row[20] for row in fast_rows[0]]
    assert [c.adjustments for c in claims] == [row[21] for row in fast_rows[0]]
    assert [c.statement_to_date for c in claims] == [row[19] for row in fast_rows[0]]
    assert {c.charge_amount for c in claims} == {Decimal("12345678.91")}
    assert claims[3].paid_amount == Decimal("-4.00")  # -3.995, half away from zero
    results = session.scalars(
        select(models.PricingResult)
        .where(models.PricingResult.remittance_id == fast.id)
        .order_by(models.PricingResult.id)
    ).all()
    assert [r.explanation for r in results] == [row[21] for row in fast_rows[2]]
    assert [r.clause for r in results] == [row[20] for row in fast_rows[2]]
    assert {r.priced_at for r in results} == {fast_rows[2][0][-1]}
    assert {r.mpr_percent for r in results} == {Decimal("33.334")}


def test_copy_text_is_read_as_utf8_whatever_the_client_encoding(
    session: Session, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("client encodings are PostgreSQL's")
    remittance = make_remittance(session)
    tables = _batch_rows(remittance, "latin")
    # texts a LATIN1 client can read back; the COPY text holds them as UTF-8
    claims = [row[:14] + ("Muñoz, José",) + row[15:] for row in tables[0]]
    session.execute(text("SET LOCAL client_encoding TO 'LATIN1'"))
    try:
        _write(session, [claims, *tables[1:]], fast=True)
    finally:
        session.execute(text("SET LOCAL client_encoding TO 'UTF8'"))
    names = session.scalars(
        select(models.ClaimPayment.patient_name).where(
            models.ClaimPayment.remittance_id == remittance.id
        )
    ).all()
    assert names == ["Muñoz, José"] * COPIED


# -------------------------------------------------------------- ingest, claims dropped


def _claim(n: int) -> Claim:
    return Claim(
        f"C{n}",
        [
            Line("64483", "412.00", lcn=f"C{n}A"),
            Line("64493", "124.00", charge="900.00", lcn=f"C{n}B", reason="59"),
        ],
        payer_claim_number=f"PH{n}",
    )


def test_claims_dropped_from_a_copied_batch_leave_exactly_the_kept_ones(
    session: Session, ingest: Ingest, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 60 claims, 120 lines with their CAS, results: every table past SMALL_INSERT_ROWS in
    # one batch, so its rows cross as COPY text; two claims already stored and two
    # repeated in the file are taken out of the middle of it
    assert 60 > repository.SMALL_INSERT_ROWS
    sent: list[int] = []
    send = repository._send_copy_text

    def counted(driver: Any, dialect: Any, statement: str, data: bytes) -> None:
        sent.append(data.count(b"\n"))
        send(driver, dialect, statement, data)

    monkeypatch.setattr(repository, "_send_copy_text", counted)
    ingest(era([_claim(7), _claim(40)]))
    claims = [_claim(n) for n in range(60)]
    claims[31:31] = [_claim(10)]  # repeated
    claims.append(_claim(59))  # repeated, last
    answer = ingest(era(claims, control="7"))

    assert (answer.status, answer.claims, answer.duplicates) == ("processed", 62, 4)
    kept = [n for n in range(60) if n not in (7, 40)]
    file_id = uuid.UUID(answer.file_id)
    stored = session.execute(
        select(models.ClaimPayment.claim_id, models.ClaimPayment.position)
        .where(models.ClaimPayment.file_id == file_id)
        .order_by(models.ClaimPayment.id)
    ).all()
    positions = [n + 1 + (n >= 31) for n in kept]  # the repeat took position 32
    assert [tuple(row) for row in stored] == [
        (f"C{n}", p) for n, p in zip(kept, positions, strict=True)
    ]
    lines = session.execute(
        select(models.ClaimPayment.claim_id, models.ServiceLine.line_control_number)
        .join(models.ServiceLine, models.ServiceLine.claim_payment_id == models.ClaimPayment.id)
        .where(models.ClaimPayment.file_id == file_id)
        .order_by(models.ServiceLine.id)
    ).all()
    assert [tuple(row) for row in lines] == [(f"C{n}", f"C{n}{s}") for n in kept for s in "AB"]
    results = session.execute(
        select(models.ServiceLine.line_control_number, models.PricingResult.actual_amount)
        .join(models.ServiceLine, models.ServiceLine.id == models.PricingResult.service_line_id)
        .where(models.PricingResult.file_id == file_id)
        .order_by(models.PricingResult.id)
    ).all()
    assert [row[0] for row in results] == [f"C{n}{s}" for n in kept for s in "AB"]
    assert {row[1] for row in results} == {Decimal("412.00"), Decimal("124.00")}
    adjustments = session.execute(
        select(models.ServiceLine.line_control_number, models.ServiceLine.adjustments)
        .where(
            models.ServiceLine.claim_payment_id.in_(
                select(models.ClaimPayment.id).where(models.ClaimPayment.file_id == file_id)
            )
        )
        .order_by(models.ServiceLine.id)
    ).all()
    assert [tuple(row) for row in adjustments] == [
        (f"C{n}{s}", [["CO", reason, amount, None]])
        for n in kept
        for s, reason, amount in (("A", "45", "838.00"), ("B", "59", "776.00"))
    ]
    if is_postgres:
        # the three tables went as COPY text, with the dropped claims' rows taken out
        assert sorted(sent) == sorted([len(kept), 2 * len(kept), 2 * len(kept)])
    else:
        assert sent == []
