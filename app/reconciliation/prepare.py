"""Reading, pricing and row building of one 835 file, away from the database.

``prepare(data, …)`` streams the file (``app.x12.reader.stream_835``), prices every
claim payment against the contract index and builds the rows of ``claim_payments``
and ``service_lines`` (each with its CAS as JSON, ``cas_json``) and ``pricing_results``
in batches, already in the form the database driver sends (``repository.prepare_rows``:
on PostgreSQL a large table's rows as COPY text, else values converted for the
driver). It needs no
session, so for a large file it runs in a child process (``prepare_in_process``) while
the parent writes the previous batch: the two cores both busy. The parent decides
what is stored (duplicates, reversals, the remittance rows) and writes it all in one
transaction, as before.

Events, in file order: ``Start`` (an ST begins), ``Batch`` (claim payments with their
rows, never across an ST boundary), ``End`` (its SE), then one ``Done`` with the file's
warnings. ``X12Rejected`` is raised where the reader raises it.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import multiprocessing
import pickle
import resource
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Numeric, String

from app.contracts.schemas import Contract, ContractTerms
from app.db import models
from app.db.types import CENTS, Money, Quantity, to_cents
from app.disputes.deadlines import dispute_deadline
from app.reconciliation import repository
from app.repricing.engine import ExpectedCache, price_claim_with_terms
from app.repricing.schemas import LineResult
from app.x12 import schemas as x12
from app.x12.errors import X12Rejected

if TYPE_CHECKING:
    from app.x12.reader import ParsedFile, Stream

THOUSANDTH = Decimal("0.001")
logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------ identity


def claim_identity(remittance: x12.Remittance, claim: x12.ClaimPayment) -> str:
    """The duplicate key of repricing.md §7: SHA-256 of payer id, TRN02, CLP01, CLP07,
    CLP02 and CLP04 (in cents, so ``536`` and ``536.00`` are the same payment)."""
    return _identity(_identity_head(remittance), claim)


def _identity_head(remittance: x12.Remittance) -> str:
    """What ``claim_identity`` hashes of the remittance (payer id, TRN02), the same for
    each of its claims: a batch works it out once."""
    return f"{remittance.payer_id or ''}\x1f{remittance.trace_number or ''}\x1f"


def _identity(head: str, claim: x12.ClaimPayment) -> str:
    parts = (
        claim.claim_id,
        claim.payer_claim_number or "",
        claim.status_code,
        _cents_text(claim.paid_amount),
    )
    return hashlib.sha256((head + "\x1f".join(parts)).encode()).hexdigest()


# CLP04's text in cents by its own text: a file's claims repeat a few hundred paid
# amounts, and ``str`` and a look-up cost a sixth of rounding and formatting one (the
# text, not the Decimal, is the key: 0 and -0 are equal but round to "0.00" and
# "-0.00"). Bounded: it starts again when full.
_CENTS_TEXT: dict[str, str] = {}


def _cents_text(amount: Decimal) -> str:
    key = str(amount)
    text = _CENTS_TEXT.get(key)
    if text is None:
        text = f"{to_cents(amount):.2f}"
        if len(_CENTS_TEXT) >= 4096:
            _CENTS_TEXT.clear()
        _CENTS_TEXT[key] = text
    return text


class FileIds:
    """Ids for the rows of one file that ascend in file order: the file id's first 8
    bytes, then a counter. Ordering by id then gives back the order of the file, and
    a file's rows cluster in indexes. ``start`` gives a second writer of the same file
    a range of its own."""

    def __init__(self, file_id: uuid.UUID, start: int = 0) -> None:
        prefix = str(file_id)[:19]  # the first 8 bytes, as in str(UUID)
        first = start + 1
        # ``text`` is the next id's text: str(UUID) of the counter's value, its top 16
        # bits and its low 48 formatted apart. Every row takes one (~115,000 for
        # 10,000 claims), so the counter and its formatting run in C (``map`` over a
        # ``range``, one format string per 2**48 ids), not in a Python call per id.
        blocks = (
            map(f"{prefix}{high:04x}-%012x".__mod__, range(low, 1 << 48))
            for high, low in _blocks(first >> 48, first & 0xFFFFFFFFFFFF)
        )
        self.text: Callable[[], str] = chain.from_iterable(blocks).__next__

    def __call__(self) -> uuid.UUID:
        """The next id (of the same counter as ``text``) as a UUID."""
        return uuid.UUID(self.text())


def _blocks(high: int, low: int) -> Iterator[tuple[int, int]]:
    """(top 16 bits, first low 48 bits) of each block of 2**48 ids from ``high``,
    ``low`` to the last of 64 bits."""
    yield high, low
    for later in range(high + 1, 1 << 16):
        yield later, 0


def q3(value: Decimal | None) -> Decimal | None:
    # rounding by position: see to_cents
    return None if value is None else value.quantize(THOUSANDTH, ROUND_HALF_UP)


# ----------------------------------------------------------------- storable values


_LIMITS: dict[str, tuple[dict[str, int], dict[str, Decimal]]] = {}


def _column_limits(model: type[Any]) -> tuple[dict[str, int], dict[str, Decimal]]:
    """Per table: the length of each string column, and the bound (exclusive) of each
    NUMERIC column's absolute value (``NUMERIC(12, 2)``: 10**10)."""
    name: str = model.__tablename__
    if name in _LIMITS:
        return _LIMITS[name]
    strings: dict[str, int] = {}
    numbers: dict[str, Decimal] = {}
    for column in model.__table__.columns:
        kind = getattr(column.type, "impl", column.type)
        if isinstance(kind, String) and kind.length:
            strings[column.name] = kind.length
        elif isinstance(kind, Numeric) and kind.precision:
            numbers[column.name] = Decimal(10) ** (kind.precision - (kind.scale or 0))
    _LIMITS[name] = (strings, numbers)
    return strings, numbers


def fit(model: type[Any], rows: list[dict[str, Any]], *, where: x12.Finding) -> None:
    """Make rows of file data storable on every database (PostgreSQL enforces column
    sizes, SQLite does not). A text longer than its column is past the X12 maximum
    length of its element (pyx12's validation warns about it): it is cut to the
    column. An amount or quantity too large for its column cannot be stored, so the
    file is rejected (spec/parsing.md: nothing stored), located at ``where``."""
    strings, numbers = _column_limits(model)
    for row in rows:
        for name, length in strings.items():
            value = row.get(name)
            if isinstance(value, str) and len(value) > length:
                row[name] = value[:length]
        for name, bound in numbers.items():
            value = row.get(name)
            # a unit below the bound: half-up rounding to the column's scale stays in
            if value is not None and abs(value) >= bound - 1:
                raise _too_large(where, bound)


def _too_large(where: x12.Finding, bound: Decimal) -> X12Rejected:
    """``fit``'s rejection of a value of a NUMERIC column of ``bound``, at ``where``."""
    return X12Rejected(
        [
            x12.Finding(
                f"{where.message}: an amount or quantity is too large to store "
                f"(at most {bound - 1:,} is accepted)",
                segment_number=where.segment_number,
                segment=where.segment,
                loop=where.loop,
                code="amount_out_of_range",
            )
        ]
    )


def _bound(kind: type[Money] | type[Quantity]) -> Decimal:
    """The bound (exclusive) of a column type's absolute value, as ``_column_limits``."""
    numeric = kind.impl
    assert isinstance(numeric, Numeric)
    assert numeric.precision is not None
    return Decimal(10) ** (numeric.precision - (numeric.scale or 0))


# a CAS amount and quantity must fit the Money and Quantity columns they were stored
# in as rows of their own (fit's rule: a unit below the bound)
CAS_AMOUNT_BOUND = _bound(Money)
CAS_QUANTITY_BOUND = _bound(Quantity)


def fit_adjustments(claim: x12.ClaimPayment, *, where: x12.Finding) -> None:
    """``fit`` of a claim payment's CAS, claim-level then line by line, each amount
    then its quantity (the order of their rows before): their codes are cut where
    the JSON is built; an amount or quantity too large rejects the file."""
    for adj in chain(claim.adjustments, *(line.adjustments for line in claim.lines)):
        if abs(adj.amount) >= CAS_AMOUNT_BOUND - 1:
            raise _too_large(where, CAS_AMOUNT_BOUND)
        quantity = adj.quantity
        if quantity is not None and abs(quantity) >= CAS_QUANTITY_BOUND - 1:
            raise _too_large(where, CAS_QUANTITY_BOUND)


def _cas_fit(amounts: list[Decimal], quantities: list[Decimal]) -> bool:
    """True when no CAS amount or quantity of a batch (``cas_json`` gathers them) is
    too large: the largest and the smallest of each against its bound, as ``_fits``."""
    try:
        for values, limit in (
            (amounts, CAS_AMOUNT_BOUND - 1),
            (quantities, CAS_QUANTITY_BOUND - 1),
        ):
            if values and (max(values) >= limit or min(values) <= -limit):
                return False
    except ArithmeticError:  # pragma: no cover - the reader gives plain numbers
        return False
    return True


# ----------------------------------------------------------------------- CAS as JSON


def cas_values(
    adjustments: list[x12.Adjustment],
    amounts: list[Decimal] | None = None,
    quantities: list[Decimal] | None = None,
) -> list[list[str | None]]:
    """The stored form of a claim's or line's CAS (``models``' text): per CAS, in file
    order, ``[group, reason, amount, quantity]``, the codes cut to their old columns'
    2 and 5 characters, the amount as the text of the Money value it was stored as
    (half-up to cents, never ``-0.00``: NUMERIC has no negative zero), the quantity
    that of the Quantity value (0.001 half-up) or None. ``amounts`` and
    ``quantities``, when given, gather the values for the batch's size check."""
    out: list[list[str | None]] = []
    for adj in adjustments:
        if amounts is not None:
            amounts.append(adj.amount)
        quantity = adj.quantity
        if quantity is not None and quantities is not None:
            quantities.append(quantity)
        out.append(
            [
                adj.group_code[:2],
                adj.reason_code[:5],
                _cents(adj.amount),
                None if quantity is None else _thousandths(quantity),
            ]
        )
    return out


def _cents(amount: Decimal) -> str:
    try:
        text = str(to_cents(amount))
    except ArithmeticError:  # past Decimal's precision: rejected by the size check
        return str(amount)
    return "0.00" if text == "-0.00" else text


def _thousandths(quantity: Decimal) -> str:
    try:
        text = str(quantity.quantize(THOUSANDTH, ROUND_HALF_UP))
    except ArithmeticError:  # past Decimal's precision: rejected by the size check
        return str(quantity)
    return "0.000" if text == "-0.000" else text


def cas_json(
    adjustments: list[x12.Adjustment], amounts: list[Decimal], quantities: list[Decimal]
) -> str:
    """``json.dumps(cas_values(adjustments))``, the JSON column's text, gathering the
    amounts and quantities as ``cas_values`` does. Every CAS of a file takes this
    (~46,000 for 10,000 claims), so a CAS whose codes are plain (ASCII letters and
    digits, as nearly all are) is formatted, not dumped (~0.35 µs against ~1.5); any
    other goes through ``json.dumps``. The amount's text is worked out for each CAS
    by one quantize and ``str`` (the C methods; no format spec), not looked up: a
    file repeats few CAS amounts, and ``_cents_text`` (CLP04's, keyed by its text)
    keeps the ``-0.00`` of a negative zero that the claim identity hashes, where the
    NUMERIC column held ``0.00``."""
    if not adjustments:
        return "[]"
    items: list[str] = []
    quantize = Decimal.quantize
    for adj in adjustments:
        amount = adj.amount
        amounts.append(amount)
        group = adj.group_code[:2]
        reason = adj.reason_code[:5]
        try:
            cents = str(quantize(amount, CENTS, ROUND_HALF_UP))
        except ArithmeticError:  # past Decimal's precision: rejected by the size check
            cents = str(amount)
        if cents == "-0.00":
            cents = "0.00"
        quantity = adj.quantity
        if quantity is None:
            thousandths = None
        else:
            quantities.append(quantity)
            thousandths = _thousandths(quantity)
        if group.isascii() and group.isalnum() and reason.isascii() and reason.isalnum():
            if thousandths is None:
                items.append(f'["{group}", "{reason}", "{cents}", null]')
            else:
                items.append(f'["{group}", "{reason}", "{cents}", "{thousandths}"]')
        else:
            items.append(json.dumps([group, reason, cents, thousandths]))
    if len(items) == 1:
        return f"[{items[0]}]"
    return "[" + ", ".join(items) + "]"


def _fits(
    model: type[Any],
    names: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    tail: tuple[Any, ...] = (),
) -> bool:
    """True when ``fit`` would change nothing in ``rows`` (tuples of the values of
    ``names``, each followed by ``tail``'s) and raise nothing: one pass per group of
    columns of the same limit over the whole batch (``map``/``max`` in C rather than
    a Python loop per value; zeros and None left out, as fit leaves them), the
    tail's values once. Anything unusual answers False, and ``fit`` then decides."""
    try:
        for kind, limit, getter, width, at in _fit_plan(model, names, len(tail)):
            values = (
                [tail[i] for i in at]
                if getter is None
                else chain.from_iterable(map(getter, rows))
                if width > 1
                else map(getter, rows)
            )
            if kind is str:
                if max(map(len, filter(None, values)), default=0) > limit:
                    return False
            else:
                # the largest and the smallest against the bound: no abs() made per
                # value (a third less time than ``max(map(abs, …))``)
                numbers = list(filter(None, values))
                if numbers and (max(numbers) >= limit or min(numbers) <= -limit):
                    return False
    except (TypeError, ArithmeticError):
        return False
    return True


# (kind: str or Decimal, limit, a getter of the columns of that limit in a row (None:
# the tail's), how many it gets, the tail's positions)
_FitGroup = tuple[type, Any, Callable[[tuple[Any, ...]], Any] | None, int, tuple[int, ...]]
_FIT_PLANS: dict[tuple[str, tuple[str, ...], int], list[_FitGroup]] = {}


def _fit_plan(model: type[Any], names: tuple[str, ...], tail: int) -> list[_FitGroup]:
    """``_fits``' groups of columns of ``names`` (the last ``tail`` of them in the
    tail) by kind and limit: a string column's length, a NUMERIC column's bound
    less one (a unit below the bound: half-up rounding to the column's scale stays
    in)."""
    key = (model.__tablename__, names, tail)
    found = _FIT_PLANS.get(key)
    if found is not None:
        return found
    strings, numbers = _column_limits(model)
    width = len(names) - tail
    limits: dict[tuple[type, Any], list[int]] = {}
    for index, name in enumerate(names):
        if name in strings:
            limits.setdefault((str, strings[name]), []).append(index)
        elif name in numbers:
            limits.setdefault((Decimal, numbers[name] - 1), []).append(index)
    plan: list[_FitGroup] = []
    for (kind, limit), indexes in limits.items():
        own = [i for i in indexes if i < width]
        if own:
            plan.append((kind, limit, itemgetter(*own), len(own), ()))
        after = tuple(i - width for i in indexes if i >= width)
        if after:
            plan.append((kind, limit, None, 0, after))
    _FIT_PLANS[key] = plan
    return plan


Table = tuple[type[Any], tuple[str, ...], list[tuple[Any, ...]], list[int]]


def fit_claims(
    claims: list[x12.ClaimPayment],
    tables: list[Table],
    tails: list[tuple[Any, ...]] | None = None,
    cas: tuple[list[Decimal], list[Decimal]] | None = None,
) -> list[tuple[Any, ...]]:
    """``fit`` of a batch whose rows of each table — (model, column names, rows as
    tuples, ``starts``: where each claim's rows begin) — are grouped by claim: checked
    as a whole, and claim by claim (the same cuts, the same located rejection) only
    when something does not fit; the rows are then replaced by their fitted values.
    A claim's CAS (JSON in its claim and line rows: no column of theirs to check) are
    checked by ``fit_adjustments``, after its lines, where their own rows came.

    ``tails[i]``: the values every row of ``tables[i]`` ends with, left out of its
    rows (``repository.prepare_rows``' ``tail``). The tails left are returned: the
    same when all fits, else each appended to its rows before fitting (then ()).
    ``cas``: the batch's CAS amounts and quantities, as ``cas_json`` gathered them
    (else they are gathered from ``claims`` here)."""
    if tails is None:
        tails = [() for _ in tables]
    if cas is None:
        cas = ([], [])
        for claim in claims:
            cas_values(claim.adjustments, *cas)
            for line in claim.lines:
                cas_values(line.adjustments, *cas)
    if _cas_fit(*cas) and all(
        _fits(model, names, rows, tail)
        for (model, names, rows, _), tail in zip(tables, tails, strict=True)
    ):
        return tails
    for (_, _, rows, _), tail in zip(tables, tails, strict=True):
        if tail:
            rows[:] = [row + tail for row in rows]
    as_dicts = [
        [dict(zip(names, row, strict=True)) for row in rows] for _, names, rows, _ in tables
    ]
    for index, claim in enumerate(claims):
        where = at_claim(claim)
        for (model, _, rows, starts), dicts in zip(tables, as_dicts, strict=True):
            end = starts[index + 1] if index + 1 < len(starts) else len(rows)
            fit(model, dicts[starts[index] : end], where=where)
            if model is models.ServiceLine:
                fit_adjustments(claim, where=where)
    for (_, names, rows, _), dicts in zip(tables, as_dicts, strict=True):
        rows[:] = [tuple(row[name] for name in names) for row in dicts]
    return [() for _ in tables]


def at_claim(claim: x12.ClaimPayment) -> x12.Finding:
    return x12.Finding(
        "the claim payment", segment_number=claim.segment_number, segment="CLP", loop="2100"
    )


def at_transaction(remittance: x12.Remittance) -> x12.Finding:
    return x12.Finding(
        "the transaction set (BPR, PLB)", segment_number=remittance.segment_number, segment="ST"
    )


# ------------------------------------------------------------------------- pricing


@dataclass(slots=True)
class Payee:
    """What contract matching needs of a remittance (repricing.md §1)."""

    payer_identifiers: tuple[str, ...]
    payee_npi: str | None
    payee_tin: str | None

    @classmethod
    def of(cls, remittance: x12.Remittance) -> Payee:
        return cls(remittance.payer_identifiers, remittance.payee_npi, remittance.payee_tin)


class Pricer:
    """Contracts (an ``app.contracts.index.ContractIndex``) and reference data for one
    unit of work; contracts are matched once per (payer, payee, date of service)."""

    def __init__(self, index: Any, reference: Any) -> None:
        self.index = index
        self.reference = reference
        # per (payer ids, payee NPI, payee TIN): its look-up, which remembers each date
        self._lookups: dict[
            tuple[tuple[str, ...], str | None, str | None],
            Callable[[date | None], ContractTerms | None],
        ] = {}
        self.expected = ExpectedCache()

    def contract_for(self, payee: Payee) -> Callable[[date | None], ContractTerms | None]:
        key = (payee.payer_identifiers, payee.payee_npi, payee.payee_tin)
        found = self._lookups.get(key)
        if found is not None:
            return found
        matched: dict[date | None, ContractTerms | None] = {}
        index = self.index

        def lookup(service_date: date | None) -> ContractTerms | None:
            if service_date in matched:
                return matched[service_date]
            terms: ContractTerms | None = index.match(
                payer_identifiers=payee.payer_identifiers,
                payee_npi=payee.payee_npi,
                payee_tin=payee.payee_tin,
                service_date=service_date,
            )
            matched[service_date] = terms
            return terms

        self._lookups[key] = lookup
        return lookup

    def price(
        self, claim: x12.ClaimPayment, payee: Payee
    ) -> list[tuple[LineResult, ContractTerms | None, date | None]]:
        """Each line's result with the contract it was priced under and its date of
        service (reversals and line-less claims: nothing)."""
        return price_claim_with_terms(
            claim, self.contract_for(payee), self.reference, cache=self.expected
        )


# the priced columns of a ``pricing_results`` row (everything but ids, links and
# lifecycle), in the order ``priced_values`` gives them
PRICED_COLUMNS = (
    "contract_version_id",
    "contract_id",
    "packet_payer_id",
    "packet_payer_name",
    "service_date",
    "procedure_code",
    "modifiers",
    "units",
    "base_amount",
    "bundled_into",
    "bilateral_percent",
    "mpr_rank",
    "mpr_percent",
    "amount_before_mpr",
    "expected_amount",
    "actual_amount",
    "variance_amount",
    "category",
    "disputable",
    "payer_reduction_percent",
    "clause",
    "explanation",
    "carc",
    "rarc",
    "dispute_deadline",
)


# (contract, payment date, date of service) → its dispute deadline: a file's lines share
# a handful of each. The contract is kept with its entry so that its id is not reused
# while the entry lives; bounded.
_DEADLINES: dict[tuple[int, date | None, date | None], tuple[Contract, date | None]] = {}


def _deadline(
    contract: Contract, payment_date: date | None, service_date: date | None
) -> date | None:
    key = (id(contract), payment_date, service_date)
    found = _DEADLINES.get(key)
    if found is not None and found[0] is contract:
        return found[1]
    deadline = dispute_deadline(contract, payment_date=payment_date, service_date=service_date)
    if len(_DEADLINES) >= 4096:
        _DEADLINES.clear()
    _DEADLINES[key] = (contract, deadline)
    return deadline


def contract_side(
    terms: ContractTerms | None,
    service_date: date | None,
    *,
    payer_id: str | None,
    payer_name: str | None,
    payment_date: date | None,
) -> tuple[uuid.UUID | None, str | None, str | None, date | None]:
    """What a result takes from its contract: the contract version, the payer its
    dispute packet goes to (the contract's first payer id and name; without a
    contract the remittance's) and its dispute deadline."""
    if terms is None:
        return None, payer_id, payer_name, None
    contract = terms.contract
    deadline = _deadline(contract, payment_date, service_date)
    return terms.version_id, contract.payer.ids[0], contract.payer.name, deadline


def priced_values(
    result: LineResult,
    terms: ContractTerms | None,
    service_date: date | None,
    *,
    payer_id: str | None,
    payer_name: str | None,
    payment_date: date | None,
) -> tuple[Any, ...]:
    """The values of ``PRICED_COLUMNS`` for one result, for re-pricing; ingest's
    ``_Producer.batch`` writes the same values out in its rows (test_rows compares)."""
    version_id, packet_payer_id, packet_payer_name, deadline = contract_side(
        terms, service_date, payer_id=payer_id, payer_name=payer_name, payment_date=payment_date
    )
    return (
        version_id,
        result.contract_id,
        packet_payer_id,
        packet_payer_name,
        service_date,
        result.procedure_code,
        list(result.modifiers),
        result.units.quantize(THOUSANDTH, ROUND_HALF_UP),
        result.base_amount,
        result.bundled_into,
        q3(result.bilateral_percent),
        result.mpr_rank,
        q3(result.mpr_percent),
        result.amount_before_mpr,
        result.expected_allowed,
        result.actual_allowed,
        result.variance,
        result.category.value,
        result.disputable,
        q3(result.payer_reduction_percent),
        result.clause,
        result.explanation,
        list(result.carc),
        list(result.rarc),
        deadline,
    )


def result_values(
    result: LineResult,
    terms: ContractTerms | None,
    service_date: date | None,
    *,
    payer_id: str | None,
    payer_name: str | None,
    payment_date: date | None,
) -> dict[str, Any]:
    """``priced_values`` by column name (re-pricing updates stored rows with them)."""
    values = priced_values(
        result,
        terms,
        service_date,
        payer_id=payer_id,
        payer_name=payer_name,
        payment_date=payment_date,
    )
    return dict(zip(PRICED_COLUMNS, values, strict=True))


# --------------------------------------------------------------------- the events


@dataclass(slots=True)
class Start:
    """An 835 transaction (ST) begins; ``state_id`` is its ``remittances`` row id."""

    remittance: x12.Remittance
    state_id: uuid.UUID


@dataclass(slots=True)
class End:
    """Its SE: ``provider_adjustments`` and ``warnings`` are complete."""

    remittance: x12.Remittance


@dataclass(slots=True)
class ClaimInfo:
    """What the writer needs of a claim payment whose rows are in a ``Batch``."""

    identity: str
    key: str  # its claim_payments.id, as text
    claim_id: str  # CLP01
    is_reversal: bool
    segment_number: int | None
    lines: int
    # (category, variance in cents) of each disputable result: the underpaid totals
    # of the File summary, without reading them back
    underpaid: tuple[tuple[str, int], ...] = ()

    def __reduce__(self) -> tuple[type[ClaimInfo], tuple[Any, ...]]:
        # every claim of a batch crosses the pipe: pickled as its fields in order, it
        # costs a third of a slots dataclass's own state (a list of its fields made by
        # a Python loop each time, set again one by one on the other side)
        return ClaimInfo, (
            self.identity,
            self.key,
            self.claim_id,
            self.is_reversal,
            self.segment_number,
            self.lines,
            self.underpaid,
        )


# the columns of each table's rows, in the order the row functions give them (a JSON
# column's list as the domain object's tuple: the bulk writer dumps either)
CLAIM_COLUMNS = (
    "id",
    "remittance_id",
    "file_id",
    "position",
    "identity",
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
    "reverses_id",
    "reversed_by_id",
    # the remittance's, copied onto each claim
    "payer_id",
    "practice_key",
    "payment_date",
)
LINE_COLUMNS = (
    "id",
    "claim_payment_id",
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
)
RESULT_COLUMNS = PRICED_COLUMNS + (
    "id",
    "service_line_id",
    # copied from the claim and its remittance
    "claim_payment_id",
    "remittance_id",
    "file_id",
    "payer_id",
    "practice_key",
    "payment_date",
    # the lifecycle of a new result
    "status",
    "recovered_amount",
    "filed_packet_id",
    "priced_at",
)

# the tables of a batch and their columns, in the order they are written (foreign keys)
BATCH_TABLES: tuple[tuple[type[Any], tuple[str, ...]], ...] = (
    (models.ClaimPayment, CLAIM_COLUMNS),
    (models.ServiceLine, LINE_COLUMNS),
    (models.PricingResult, RESULT_COLUMNS),
)


@dataclass(slots=True)
class Batch:
    """Claim payments of one transaction and their rows: ``tables[i]`` holds the rows
    of ``BATCH_TABLES[i]``, and ``starts[i][k]`` where claim ``k``'s rows begin.
    ``full``: it ended at its size, not at its transaction's end (the writer stores a
    full batch at once, and gathers the others)."""

    state_id: uuid.UUID
    claims: list[ClaimInfo]
    tables: list[repository.PreparedRows]
    starts: list[list[int]]
    full: bool = False

    def rows_of(self, keep: list[bool]) -> list[repository.PreparedRows]:
        """The rows of the claims whose ``keep`` is true."""
        if all(keep):
            return self.tables
        out = []
        count = len(self.claims)
        for table, starts in zip(self.tables, self.starts, strict=True):
            ranges = [
                (starts[k], starts[k + 1] if k + 1 < count else len(table))
                for k in range(count)
                if keep[k]
            ]
            out.append(table.take(ranges))
        return out


@dataclass(slots=True)
class Done:
    """The file's own warnings (envelopes, decoding), complete after the last ST."""

    warnings: list[x12.Finding]


Event = Start | Batch | End | Done


# --------------------------------------------------------------------- producing


class _Producer:
    def __init__(self, file_id: uuid.UUID, pricer: Pricer, dialect_key: str, now: datetime) -> None:
        self.ids = FileIds(file_id)
        self.file_key = str(file_id)
        self.pricer = pricer
        self.dialect = repository.dialect_named(dialect_key)
        self.now = now
        # rows are built with their JSON and DATE columns' texts (looked up by value,
        # each computed once), which the fast inserts would otherwise convert value
        # by value over the whole batch again
        texts = repository.column_texts(self.dialect)
        if not all(
            repository.fast_insert(model, self.dialect, names) for model, names in BATCH_TABLES
        ):
            texts = repository.UNCHANGED_TEXTS
        self.ready = texts.ready
        self.json = texts.json
        self.date = texts.date
        # a CAS column's text, or its list where nothing is built ready
        self.cas: Callable[[list[x12.Adjustment], list[Decimal], list[Decimal]], Any] = (
            cas_json if texts.ready else cas_values
        )

    def batch(
        self, state_id: uuid.UUID, remittance: x12.Remittance, claims: list[x12.ClaimPayment]
    ) -> Batch:
        """The rows of ``claims`` (``BATCH_TABLES``' columns, in file order). A row's
        values are written out in one tuple here, not by a function per row: a batch
        of 500 claims has ~4,000 rows."""
        state_key = str(state_id)
        file_key = self.file_key
        payee = Payee.of(remittance)
        text_id = self.ids.text
        json = self.json
        day = self.date
        price = self.pricer.price
        infos: list[ClaimInfo] = []
        claim_rows: list[tuple[Any, ...]] = []
        line_rows: list[tuple[Any, ...]] = []
        result_rows: list[tuple[Any, ...]] = []
        line_starts: list[int] = []
        result_starts: list[int] = []
        # every CAS amount and quantity of the batch, for its one size check
        cas_amounts: list[Decimal] = []
        cas_quantities: list[Decimal] = []
        cas = self.cas
        underpaid: list[tuple[str, int]] = []
        payer_id = remittance.payer_id
        practice_key = remittance.practice_key
        payment_date = remittance.effective_payment_date
        payer_name = remittance.payer.name
        # the columns every row of a table in this batch ends with, the same in each
        # (prepare_rows formats them once): a claim's remittance columns; a result's
        # remittance and file links, remittance columns and lifecycle of a new result
        claim_tail = (payer_id, practice_key, day[payment_date])
        result_tail: tuple[Any, ...] = (state_key, file_key, payer_id, practice_key)
        result_tail += (day[payment_date], "open", None, None, self.now)
        quantize = Decimal.quantize
        identity_head = _identity_head(remittance)
        identity_of = _identity
        side = contract_side
        for claim in claims:
            line_starts.append(len(line_rows))
            result_starts.append(len(result_rows))
            claim_key = text_id()
            identity = identity_of(identity_head, claim)
            lines = claim.lines
            is_reversal = claim.is_reversal
            info = ClaimInfo(
                identity, claim_key, claim.claim_id, is_reversal, claim.segment_number, len(lines)
            )
            infos.append(info)
            claim_rows.append(
                (
                    claim_key,
                    state_key,
                    file_key,
                    claim.position,
                    identity,
                    claim.claim_id,
                    claim.status_code,
                    claim.charge_amount,
                    claim.paid_amount,
                    claim.patient_responsibility_amount,
                    claim.filing_indicator,
                    claim.payer_claim_number,
                    claim.place_of_service,
                    claim.frequency_code,
                    claim.patient_name,
                    claim.patient_member_id,
                    claim.insured_name,
                    claim.insured_member_id,
                    day[claim.statement_from_date],
                    day[claim.statement_to_date],
                    json[claim.remark_codes],
                    cas(claim.adjustments, cas_amounts, cas_quantities),
                    None,  # reverses_id
                    None,  # reversed_by_id
                )
            )
            line_ids: dict[int, str] = {}
            for line in lines:
                line_id = line_ids[line.position] = text_id()
                units, original_units = line.units, line.original_units
                line_rows.append(
                    (
                        line_id,
                        claim_key,
                        line.position,
                        line.procedure_qualifier,
                        line.procedure_code,
                        json[line.modifiers],
                        line.charge_amount,
                        line.paid_amount,
                        line.revenue_code,
                        None if units is None else quantize(units, THOUSANDTH, ROUND_HALF_UP),
                        line.original_qualifier,
                        line.original_procedure_code,
                        json[line.original_modifiers],
                        None
                        if original_units is None
                        else quantize(original_units, THOUSANDTH, ROUND_HALF_UP),
                        day[line.service_date],
                        day[line.service_end_date],
                        line.line_control_number,
                        line.allowed_amount,
                        json[line.remark_codes],
                        cas(line.adjustments, cas_amounts, cas_quantities),
                    )
                )
            if is_reversal or not lines:
                continue  # no results; its start above keeps the claims aligned
            for result, terms, service_date in price(claim, payee):
                # ``priced_values`` written out in the row (test_rows checks the two
                # agree): its lists of codes and its tuple, each taken apart again
                # here, cost more than the rest of a result's row; what the result
                # takes from its contract is found by the same ``contract_side``
                version_id, packet_payer_id, packet_payer_name, deadline = side(
                    terms,
                    service_date,
                    payer_id=payer_id,
                    payer_name=payer_name,
                    payment_date=payment_date,
                )
                bilateral = result.bilateral_percent
                mpr_percent = result.mpr_percent
                reduction = result.payer_reduction_percent
                # PRICED_COLUMNS with the texts of service_date, modifiers, carc,
                # rarc and dispute_deadline, then id, service_line_id, claim_payment_id
                result_rows.append(
                    (
                        version_id,
                        result.contract_id,
                        packet_payer_id,
                        packet_payer_name,
                        day[service_date],
                        result.procedure_code,
                        json[tuple(result.modifiers)],
                        quantize(result.units, THOUSANDTH, ROUND_HALF_UP),
                        result.base_amount,
                        result.bundled_into,
                        None
                        if bilateral is None
                        else quantize(bilateral, THOUSANDTH, ROUND_HALF_UP),
                        result.mpr_rank,
                        None
                        if mpr_percent is None
                        else quantize(mpr_percent, THOUSANDTH, ROUND_HALF_UP),
                        result.amount_before_mpr,
                        result.expected_allowed,
                        result.actual_allowed,
                        result.variance,
                        result.category.value,
                        result.disputable,
                        None
                        if reduction is None
                        else quantize(reduction, THOUSANDTH, ROUND_HALF_UP),
                        result.clause,
                        result.explanation,
                        json[tuple(result.carc)],
                        json[tuple(result.rarc)],
                        day[deadline],
                        text_id(),
                        line_ids[result.position],
                        claim_key,
                    )
                )
                if result.disputable and result.variance is not None:
                    underpaid.append((result.category.value, int(to_cents(result.variance) * 100)))
            if underpaid:
                info.underpaid = tuple(underpaid)
                underpaid.clear()
        claim_starts = list(range(len(claim_rows)))
        starts = [claim_starts, line_starts, result_starts]
        all_rows = [claim_rows, line_rows, result_rows]
        tables = [
            (model, names, rows, table_starts)
            for (model, names), rows, table_starts in zip(
                BATCH_TABLES, all_rows, starts, strict=True
            )
        ]
        tails = fit_claims(
            claims, tables, [claim_tail, (), result_tail], (cas_amounts, cas_quantities)
        )
        return Batch(
            state_id=state_id,
            claims=infos,
            tables=[
                repository.prepare_rows(
                    model, self.dialect, names, rows, ready=self.ready, tail=tail
                )
                for (model, names, rows, _), tail in zip(tables, tails, strict=True)
            ],
            starts=starts,
        )


def prepare(
    data: bytes | None,
    *,
    file_id: uuid.UUID,
    pricer: Pricer,
    dialect_key: str,
    now: datetime,
    batch_claims: int,
    parsed: ParsedFile | None = None,
    taper: bool = False,
    stream: Stream | None = None,
    claims: int | None = None,
) -> Iterator[Event]:
    """The events of one file (see the module's text), in this process. ``parsed``:
    the file already read whole (``parse_835`` of ``data``; a small file is, to take
    its locks), whose remittances are replayed instead of reading the bytes again —
    the same events, batches and rows. ``taper``: for a file of four batches or more,
    batches grow to ``batch_claims`` and shrink again towards its end
    (``batch_limit``), for a writer working beside this reading; the claims and their
    rows are the same. ``stream``: ``stream_835(data)`` made already (the reading
    child makes it before its arguments come); ``claims``: ``claims_in(data)``,
    counted already. With both, ``data`` may be None (the reading child lets its
    bytes go once decoded)."""
    from app.x12.reader import TransactionEnd, TransactionStart, stream_835

    producer = _Producer(file_id, pricer, dialect_key, now)
    if parsed is not None:
        yield from _replay(producer, parsed, batch_claims)
        return
    if stream is None:
        if data is None:
            raise ValueError("prepare needs the file's bytes or its stream")
        stream = stream_835(data)
    current: tuple[uuid.UUID, x12.Remittance] | None = None
    pending: list[x12.ClaimPayment] = []
    expected = 0
    if taper:
        if claims is None:
            if data is None:
                raise ValueError("a tapered prepare needs the file's bytes or its claims")
            claims = claims_in(data)
        expected = claims
    # a file of a few batches gains little and is read in one or two
    taper = taper and expected >= 4 * batch_claims
    done = 0
    limit = batch_limit(0, expected, batch_claims) if taper else batch_claims
    for event in stream:
        if isinstance(event, TransactionStart):
            current = (producer.ids(), event.remittance)
            yield Start(event.remittance, current[0])
        elif isinstance(event, TransactionEnd):
            assert current is not None
            if pending:
                yield producer.batch(current[0], current[1], pending)
                if taper:
                    done += len(pending)
                    limit = batch_limit(done, expected, batch_claims)
                pending = []
            yield End(event.remittance)
        else:
            assert current is not None
            pending.append(event)
            if len(pending) >= limit:
                batch = producer.batch(current[0], current[1], pending)
                batch.full = True
                yield batch
                if taper:
                    done += len(pending)
                    limit = batch_limit(done, expected, batch_claims)
                pending = []
    if pending:  # pragma: no cover - the reader rejects a transaction without its SE
        assert current is not None
        yield producer.batch(current[0], current[1], pending)
    yield Done(list(stream.warnings))


def claims_in(data: bytes) -> int:
    """About how many claim payments ``data`` holds: its ``CLP`` segments, counted in
    the bytes (an estimate for ``batch_limit`` only; a CLP inside an element's value
    counts too)."""
    start = data.find(b"ISA")
    if start < 0 or len(data) < start + 4:
        return 0
    return data.count(b"CLP" + data[start + 3 : start + 4])


def batch_limit(done: int, expected: int, batch_claims: int) -> int:
    """The claim payments of the next batch, ``done`` of about ``expected`` read.

    The writer cannot start before the first batch arrives, and what it still has to
    write when the reading ends is the wall time's tail: so the batches double from a
    tenth of ``batch_claims`` up to it, and towards the end each takes half of what is
    left. A file of 10,000 claims goes in 27 batches instead of 20; its first reaches
    the writer after 50 claims are read, and its last holds a few."""
    floor = max(1, batch_claims // 10)
    limit = min(batch_claims, max(floor, done))
    left = expected - done
    if left < 2 * batch_claims:
        limit = min(limit, max(floor, left // 2))
    return limit


def _replay(producer: _Producer, parsed: ParsedFile, batch_claims: int) -> Iterator[Event]:
    """``prepare``'s events of a file read whole: per remittance its Start, its claims
    in batches of ``batch_claims``, its End; then Done. Only the Start differs from
    the stream's: its remittance is complete already (PLB, warnings), which nothing
    reads before the End."""
    for remittance in parsed.remittances:
        state_id = producer.ids()
        yield Start(remittance, state_id)
        claims = remittance.claims
        for start in range(0, len(claims), batch_claims):
            batch = producer.batch(state_id, remittance, claims[start : start + batch_claims])
            batch.full = len(batch.claims) == batch_claims  # as the stream's
            yield batch
        yield End(remittance)
    yield Done(list(parsed.file_warnings))


# ------------------------------------------------------------ in a child process

_CONTEXT: Any = None


def _context() -> Any:
    """A forkserver context: children are forked from a clean server process that has
    imported this module, never from the caller (which has threads: the web server's,
    the database pool's)."""
    global _CONTEXT
    if _CONTEXT is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(preload_modules())
        _CONTEXT = context
    return _CONTEXT


def preload_modules() -> list[str]:
    """What the fork server imports as it starts: this module and the reader, and
    every era-recon module this process has imported by now.

    A child re-runs the caller's main script before its target (multiprocessing's
    ``spawn.prepare``; preloading ``"__main__"`` does not avoid that on Python 3.11).
    For ``era-recon`` that script imports the whole CLI (Typer, uvicorn, FastAPI…):
    ~0.35 s before each large file's reading could start, unless the server already
    holds those modules, as it does once ``app.cli.main`` is among them. And
    ``fork_preload``, whose import loads what each child would otherwise load first
    (the reference data)."""
    loaded = sorted(name for name in sys.modules if name.startswith("app."))
    preload = [__name__, "app.x12.reader", "app.reconciliation.fork_preload", *loaded]
    return list(dict.fromkeys(preload))


def warm_up(*, wait: bool = False) -> None:
    """Start the fork server now: its imports take about a second, which the first
    large file would otherwise wait for. The ingest command and the web app call it
    as they start, and go on meanwhile; ``wait``: return once it serves (a child that
    does nothing has run), as the benchmarks do before they time an ingest."""
    from multiprocessing import forkserver

    context = _context()
    forkserver.ensure_running()
    if wait:
        child = context.Process(target=_nothing, name="era-recon-warm-up")
        child.start()
        child.join()


def _nothing() -> None:
    """A child that only proves the fork server serves (``warm_up``)."""


# the reading child's full collections: one per this many events (batches of up to
# BATCH_CLAIMS claims: one per ~10,000 claims)
COLLECT_EVERY = 20


def _child(connection: Any, source: Any) -> None:
    """The child's side: the file's bytes, then its arguments, both from ``source``;
    every event pickled through ``connection``, then ("done", its peak memory); a
    rejection or any other error as a tagged tuple (nothing is raised across the
    pipe). The bytes come first so the file's text is decoded and prepared for the
    reader (``stream_835``: ~30 ms for 10,000 claims) while the writer still looks
    up what the ingest needs (``ReadingChild``)."""
    from app.contracts.reference import load_reference
    from app.x12.reader import stream_835_taking

    # what the child holds from the start (the imported modules; then the contracts,
    # the reference data, the bytes) lives as long as it does: frozen out of the
    # cyclic collector's way (a full collection over every module's objects costs
    # ~50 ms). And no automatic collections: reading makes no garbage cycles of note
    # (a 10,000-claim file peaks at the same memory without them; refcounting frees
    # the rest), yet the collector's ~280 passes over the young objects (rows,
    # parsed segments) took ~8 % of the child's CPU. One full collection every
    # COLLECT_EVERY events still bounds what a cycle could hold on to.
    gc.freeze()
    gc.disable()
    try:
        data = source.recv_bytes()  # the file's bytes, sent apart from the arguments
        claims = claims_in(data)
        # the reader needs only the text: the bytes go once decoded (a large file's
        # peak is while its text is prepared)
        holder = [data]
        del data
        stream = stream_835_taking(holder)
        arguments = pickle.loads(source.recv_bytes())
        source.close()
        pricer = Pricer(pickle.loads(arguments.pop("index")), load_reference())
        gc.freeze()
        events = prepare(None, pricer=pricer, stream=stream, claims=claims, **arguments)
        for count, event in enumerate(events, 1):
            connection.send_bytes(pickle.dumps(event, pickle.HIGHEST_PROTOCOL))
            if count % COLLECT_EVERY == 0:
                gc.collect()
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        connection.send_bytes(pickle.dumps(("done", peak_kb)))
    except X12Rejected as exc:
        connection.send_bytes(pickle.dumps(("rejected", exc.findings)))
    except EOFError:
        pass  # the writer closed the file's pipe before its arguments: not wanted
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        connection.send_bytes(pickle.dumps(("error", traceback.format_exc())))
    finally:
        connection.close()


# the peak resident memory (KB) of the last child that finished, for the benchmarks
last_child_peak_kb = 0


class PrepareError(RuntimeError):
    """The child process failed (not a rejection of the file): a bug, or it died."""


# the events' pipe's capacity: the batches of a file's start (~0.15, 0.3, 0.65 MB) fit
# in it while the writer stores the file's row and first batch, and a full batch
# (~1.6 MB) goes in without waiting for the writer to read the first part
PIPE_BYTES = 1 << 20


def _widen(connection: Any) -> None:
    """Give the pipe behind ``connection`` ``PIPE_BYTES`` of room (64 KB by default on
    Linux): the child then blocks on a busy writer only when that much is waiting.
    Where the system does not allow it (another OS, a lower limit), it stays as
    it is."""
    import fcntl

    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is None:
        return
    try:
        fcntl.fcntl(connection.fileno(), setting, PIPE_BYTES)
    except OSError:
        pass


class ReadingChild:
    """A large file's reading process, started as soon as the file is known
    (``start``), before what the reading needs is (the contracts, the file's id):
    the child decodes and prepares the file's text meanwhile, and the writer sends
    it the rest when it starts taking the events (``events``). Close it when it is
    not wanted (a duplicate file, an error): the child then ends."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        context = _context()
        self._receiver, sender = context.Pipe(duplex=False)
        _widen(self._receiver)
        # the bytes go through a pipe of their own: as a process argument they would
        # be pickled into one more copy of the file here. A thread sends them, so the
        # writer goes on while the child reads them in.
        source, self._source = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child, args=(sender, source), name="era-recon-prepare"
        )
        self._process.start()
        sender.close()
        source.close()
        self._sending = threading.Thread(
            target=self._send, args=(data,), name="era-recon-prepare-send", daemon=True
        )
        self._sending.start()
        self._used = False

    @classmethod
    def start(cls, data: bytes) -> ReadingChild:
        return cls(data)

    def _send(self, payload: bytes) -> None:
        try:
            self._source.send_bytes(payload)
        except OSError:
            pass  # the child ended before reading: what it sent (or EOF) tells why

    def events(
        self,
        *,
        file_id: uuid.UUID,
        pricer: Pricer,
        dialect_key: str,
        now: datetime,
        batch_claims: int,
        taper: bool = False,
    ) -> Iterator[Event]:
        """``prepare``'s events for the file, read from the child (once). The child
        works at most a batch or two ahead (the pipe holds ``PIPE_BYTES``), so memory
        stays bounded; closing the iterator early ends the child."""
        if self._used:
            raise RuntimeError("a reading child's events can be taken once")
        self._used = True
        arguments = {
            "file_id": file_id,
            "index": pickle.dumps(pricer.index, pickle.HIGHEST_PROTOCOL),
            "dialect_key": dialect_key,
            "now": now,
            "batch_claims": batch_claims,
            "taper": taper,
        }
        try:
            self._sending.join()
            try:
                self._source.send_bytes(pickle.dumps(arguments, pickle.HIGHEST_PROTOCOL))
            except OSError:
                pass  # as above
            finally:
                self._source.close()
            started = False
            while True:
                try:
                    message = pickle.loads(self._receiver.recv_bytes())
                except EOFError:
                    if started:
                        raise PrepareError(
                            "the file's reading process ended unexpectedly"
                        ) from None
                    # it never started: multiprocessing could not re-import the
                    # caller's main module (a script read from stdin, say); read the
                    # file here
                    logger.warning("the reading process could not start; reading in process")
                    yield from prepare(
                        self.data,
                        file_id=file_id,
                        pricer=pricer,
                        dialect_key=dialect_key,
                        now=now,
                        batch_claims=batch_claims,
                        taper=taper,
                    )
                    return
                started = True
                if isinstance(message, tuple):
                    kind, detail = message
                    if kind == "done":
                        global last_child_peak_kb
                        last_child_peak_kb = detail
                        return
                    if kind == "rejected":
                        raise X12Rejected(detail)
                    raise PrepareError(f"reading the file failed:\n{detail}")
                yield message
        finally:
            self.close()

    def close(self) -> None:
        """End the child (at once if it is still reading) and release its pipes: the
        child first, so a send still under way fails (its reader is gone) and ends."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._sending.join()
        self._source.close()
        self._receiver.close()


def prepare_in_process(
    data: bytes,
    *,
    file_id: uuid.UUID,
    pricer: Pricer,
    dialect_key: str,
    now: datetime,
    batch_claims: int,
    taper: bool = False,
) -> Iterator[Event]:
    """``prepare`` in a child process (``ReadingChild``), started now: the same
    events, read from a pipe."""
    yield from ReadingChild.start(data).events(
        file_id=file_id,
        pricer=pricer,
        dialect_key=dialect_key,
        now=now,
        batch_claims=batch_claims,
        taper=taper,
    )
