"""Reading, pricing and row building of one 835 file, away from the database.

``prepare(data, …)`` streams the file (``app.x12.reader.stream_835``), prices every
claim payment against the contract index and builds the rows of ``claim_payments``,
``service_lines``, ``adjustments`` and ``pricing_results`` in batches, their values
already converted for the database driver (``repository.prepare_rows``). It needs no
session, so for a large file it runs in a child process (``prepare_in_process``) while
the parent writes the previous batch: the two cores both busy. The parent decides
what is stored (duplicates, reversals, the remittance rows) and writes it all in one
transaction, as before.

Events, in file order: ``Start`` (an ST begins), ``Batch`` (claim payments with their
rows, never across an ST boundary), ``End`` (its SE), then one ``Done`` with the file's
warnings. ``X12Rejected`` is raised where the reader raises it.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import pickle
import resource
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Numeric, String

from app.contracts.schemas import ContractTerms
from app.db import models
from app.db.types import to_cents
from app.disputes.deadlines import dispute_deadline
from app.reconciliation import repository
from app.repricing.engine import date_of_service, price_claim
from app.repricing.schemas import LineResult
from app.x12 import schemas as x12
from app.x12.errors import X12Rejected

if TYPE_CHECKING:
    from app.x12.reader import ParsedFile

THOUSANDTH = Decimal("0.001")
logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------ identity


def claim_identity(remittance: x12.Remittance, claim: x12.ClaimPayment) -> str:
    """The duplicate key of repricing.md §7: SHA-256 of payer id, TRN02, CLP01, CLP07,
    CLP02 and CLP04 (in cents, so ``536`` and ``536.00`` are the same payment)."""
    parts = (
        remittance.payer_id or "",
        remittance.trace_number or "",
        claim.claim_id,
        claim.payer_claim_number or "",
        claim.status_code,
        f"{to_cents(claim.paid_amount):.2f}",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class FileIds:
    """Ids for the rows of one file that ascend in file order: the file id's first 8
    bytes, then a counter. Ordering by id then gives back the order of the file (CAS
    triples have no position column), and a file's rows cluster in indexes. ``start``
    gives a second writer of the same file a range of its own."""

    def __init__(self, file_id: uuid.UUID, start: int = 0) -> None:
        self._prefix = file_id.bytes[:8]
        self._text_prefix = str(file_id)[:19]  # the first 8 bytes, as in str(UUID)
        self._next = start

    def __call__(self) -> uuid.UUID:
        self._next += 1
        return uuid.UUID(bytes=self._prefix + self._next.to_bytes(8, "big"))

    def text(self) -> str:
        """The next id as ``str(UUID)`` writes it, without building the UUID: for rows
        only the bulk writer sees (the drivers take the text for a UUID column)."""
        self._next += 1
        n = self._next
        return f"{self._text_prefix}{n >> 48:04x}-{n & 0xFFFFFFFFFFFF:012x}"


def q3(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(THOUSANDTH, rounding=ROUND_HALF_UP)


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
                raise X12Rejected(
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


def _fits(model: type[Any], rows: list[dict[str, Any]]) -> bool:
    """True when ``fit`` would change nothing in ``rows`` and raise nothing: one pass
    per column over the whole batch (``map``/``max`` in C rather than a Python loop
    per value). Anything unusual answers False, and ``fit`` then decides."""
    strings, numbers = _column_limits(model)
    try:
        for name, length in strings.items():
            if max(map(len, filter(None, map(itemgetter(name), rows))), default=0) > length:
                return False
        for name, bound in numbers.items():
            if max(map(abs, filter(None, map(itemgetter(name), rows))), default=0) >= bound - 1:
                return False
    except (KeyError, TypeError, ArithmeticError):
        return False
    return True


def fit_claims(
    claims: list[x12.ClaimPayment],
    tables: list[tuple[type[Any], list[dict[str, Any]], list[int]]],
) -> None:
    """``fit`` of a batch whose rows of each table are grouped by claim (``starts``:
    where each claim's rows begin): checked as a whole, and claim by claim (the same
    cuts, the same located rejection) only when something does not fit."""
    if all(_fits(model, rows) for model, rows, _ in tables):
        return
    for index, claim in enumerate(claims):
        where = at_claim(claim)
        for model, rows, starts in tables:
            end = starts[index + 1] if index + 1 < len(starts) else len(rows)
            fit(model, rows[starts[index] : end], where=where)


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
        self._memo: dict[tuple[tuple[str, ...], str | None, str | None, date | None], Any] = {}

    def contract_for(self, payee: Payee) -> Callable[[date | None], ContractTerms | None]:
        def lookup(service_date: date | None) -> ContractTerms | None:
            key = (payee.payer_identifiers, payee.payee_npi, payee.payee_tin, service_date)
            if key not in self._memo:
                self._memo[key] = self.index.match(
                    payer_identifiers=payee.payer_identifiers,
                    payee_npi=payee.payee_npi,
                    payee_tin=payee.payee_tin,
                    service_date=service_date,
                )
            terms: ContractTerms | None = self._memo[key]
            return terms

        return lookup

    def price(
        self, claim: x12.ClaimPayment, payee: Payee
    ) -> list[tuple[LineResult, ContractTerms | None, date | None]]:
        """Each line's result with the contract it was priced under and its date of
        service (reversals and line-less claims: nothing)."""
        contract_for = self.contract_for(payee)
        results = price_claim(claim, contract_for, self.reference)
        lines = {line.position: line for line in claim.lines}
        priced = []
        for result in results:
            line = lines[result.position]
            service_date = date_of_service(claim, line)
            priced.append((result, contract_for(service_date), service_date))
        return priced


def result_values(
    result: LineResult,
    terms: ContractTerms | None,
    service_date: date | None,
    *,
    payer_id: str | None,
    payer_name: str | None,
    payment_date: date | None,
) -> dict[str, Any]:
    """The priced columns of a ``pricing_results`` row (everything but ids, links and
    lifecycle), shared by ingest and re-pricing."""
    contract = terms.contract if terms is not None else None
    deadline = (
        dispute_deadline(contract, payment_date=payment_date, service_date=service_date)
        if contract is not None
        else None
    )
    return {
        "contract_version_id": terms.version_id if terms is not None else None,
        "contract_id": result.contract_id,
        "packet_payer_id": contract.payer.ids[0] if contract is not None else payer_id,
        "packet_payer_name": contract.payer.name if contract is not None else payer_name,
        "service_date": service_date,
        "procedure_code": result.procedure_code,
        "modifiers": list(result.modifiers),
        "units": q3(result.units),
        "base_amount": result.base_amount,
        "bundled_into": result.bundled_into,
        "bilateral_percent": q3(result.bilateral_percent),
        "mpr_rank": result.mpr_rank,
        "mpr_percent": q3(result.mpr_percent),
        "amount_before_mpr": result.amount_before_mpr,
        "expected_amount": result.expected_allowed,
        "actual_amount": result.actual_allowed,
        "variance_amount": result.variance,
        "category": result.category.value,
        "disputable": result.disputable,
        "payer_reduction_percent": q3(result.payer_reduction_percent),
        "clause": result.clause,
        "explanation": result.explanation,
        "carc": list(result.carc),
        "rarc": list(result.rarc),
        "dispute_deadline": deadline,
    }


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


# the tables of a batch, in the order they are written (foreign keys)
BATCH_TABLES: tuple[type[Any], ...] = (
    models.ClaimPayment,
    models.ServiceLine,
    models.Adjustment,
    models.PricingResult,
)


@dataclass(slots=True)
class Batch:
    """Claim payments of one transaction and their rows: ``tables[i]`` holds the rows
    of ``BATCH_TABLES[i]``, and ``starts[i][k]`` where claim ``k``'s rows begin."""

    state_id: uuid.UUID
    claims: list[ClaimInfo]
    tables: list[repository.PreparedRows]
    starts: list[list[int]]

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

    def batch(
        self, state_id: uuid.UUID, remittance: x12.Remittance, claims: list[x12.ClaimPayment]
    ) -> Batch:
        state_key = str(state_id)
        payee = Payee.of(remittance)
        text_id = self.ids.text
        infos: list[ClaimInfo] = []
        claim_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        adjustment_rows: list[dict[str, Any]] = []
        result_rows: list[dict[str, Any]] = []
        line_starts: list[int] = []
        adjustment_starts: list[int] = []
        result_starts: list[int] = []
        underpaid: list[tuple[str, int]] = []
        payer_id = remittance.payer_id
        practice_key = remittance.practice_key
        payment_date = remittance.effective_payment_date
        payer_name = remittance.payer.name
        for claim in claims:
            line_starts.append(len(line_rows))
            adjustment_starts.append(len(adjustment_rows))
            result_starts.append(len(result_rows))
            claim_key = text_id()
            infos.append(
                ClaimInfo(
                    identity=claim_identity(remittance, claim),
                    key=claim_key,
                    claim_id=claim.claim_id,
                    is_reversal=claim.is_reversal,
                    segment_number=claim.segment_number,
                    lines=len(claim.lines),
                )
            )
            claim_rows.append(
                _claim_row(claim_key, state_key, self.file_key, infos[-1].identity, claim)
                | {"payer_id": payer_id, "practice_key": practice_key, "payment_date": payment_date}
            )
            adjustment_rows.extend(
                _adjustment_row(text_id(), claim_key, None, adj) for adj in claim.adjustments
            )
            line_ids: dict[int, str] = {}
            for line in claim.lines:
                line_id = line_ids[line.position] = text_id()
                line_rows.append(_line_row(line_id, claim_key, line))
                adjustment_rows.extend(
                    _adjustment_row(text_id(), claim_key, line_id, adj) for adj in line.adjustments
                )
            if claim.is_reversal or not claim.lines:
                continue  # no results; its start above keeps the claims aligned
            for result, terms, service_date in self.pricer.price(claim, payee):
                row = result_values(
                    result,
                    terms,
                    service_date,
                    payer_id=payer_id,
                    payer_name=payer_name,
                    payment_date=payment_date,
                )
                row.update(
                    id=text_id(),
                    service_line_id=line_ids[result.position],
                    claim_payment_id=claim_key,
                    remittance_id=state_key,
                    file_id=self.file_key,
                    payer_id=payer_id,
                    practice_key=practice_key,
                    payment_date=payment_date,
                    status="open",
                    recovered_amount=None,
                    filed_packet_id=None,
                    priced_at=self.now,
                )
                result_rows.append(row)
                variance = row["variance_amount"]
                if row["disputable"] and variance is not None:
                    underpaid.append((row["category"], int(to_cents(variance) * 100)))
            if underpaid:
                infos[-1].underpaid = tuple(underpaid)
                underpaid.clear()
        claim_starts = list(range(len(claim_rows)))
        starts = [claim_starts, line_starts, adjustment_starts, result_starts]
        all_rows = [claim_rows, line_rows, adjustment_rows, result_rows]
        fit_claims(
            claims,
            [
                (model, rows, table_starts)
                for model, rows, table_starts in zip(BATCH_TABLES, all_rows, starts, strict=True)
            ],
        )
        return Batch(
            state_id=state_id,
            claims=infos,
            tables=[
                repository.prepare_rows(model, self.dialect, rows)
                for model, rows in zip(BATCH_TABLES, all_rows, strict=True)
            ],
            starts=starts,
        )


def prepare(
    data: bytes,
    *,
    file_id: uuid.UUID,
    pricer: Pricer,
    dialect_key: str,
    now: datetime,
    batch_claims: int,
    parsed: ParsedFile | None = None,
) -> Iterator[Event]:
    """The events of one file (see the module's text), in this process. ``parsed``:
    the file already read whole (``parse_835`` of ``data``; a small file is, to take
    its locks), whose remittances are replayed instead of reading the bytes again —
    the same events, batches and rows."""
    from app.x12.reader import TransactionEnd, TransactionStart, stream_835

    producer = _Producer(file_id, pricer, dialect_key, now)
    if parsed is not None:
        yield from _replay(producer, parsed, batch_claims)
        return
    stream = stream_835(data)
    current: tuple[uuid.UUID, x12.Remittance] | None = None
    pending: list[x12.ClaimPayment] = []
    for event in stream:
        if isinstance(event, TransactionStart):
            current = (producer.ids(), event.remittance)
            yield Start(event.remittance, current[0])
        elif isinstance(event, TransactionEnd):
            assert current is not None
            if pending:
                yield producer.batch(current[0], current[1], pending)
                pending = []
            yield End(event.remittance)
        else:
            assert current is not None
            pending.append(event)
            if len(pending) >= batch_claims:
                yield producer.batch(current[0], current[1], pending)
                pending = []
    if pending:  # pragma: no cover - the reader rejects a transaction without its SE
        assert current is not None
        yield producer.batch(current[0], current[1], pending)
    yield Done(list(stream.warnings))


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
            yield producer.batch(state_id, remittance, claims[start : start + batch_claims])
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
        context.set_forkserver_preload([__name__, "app.x12.reader"])
        _CONTEXT = context
    return _CONTEXT


def warm_up() -> None:
    """Start the fork server now, without waiting for it: its imports take about a
    second, which the first large file would otherwise wait for. The ingest command
    and the web app call it as they start."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def _child(connection: Any, source: Any, arguments: dict[str, Any]) -> None:
    """The child's side: every event pickled through the pipe, then ("done", its peak
    memory); a rejection or any other error as a tagged tuple (nothing is raised
    across the pipe)."""
    from app.contracts.reference import load_reference

    try:
        data = source.recv_bytes()  # the file's bytes, sent apart from the arguments
        source.close()
        pricer = Pricer(pickle.loads(arguments.pop("index")), load_reference())
        for event in prepare(data, pricer=pricer, **arguments):
            connection.send_bytes(pickle.dumps(event, pickle.HIGHEST_PROTOCOL))
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        connection.send_bytes(pickle.dumps(("done", peak_kb)))
    except X12Rejected as exc:
        connection.send_bytes(pickle.dumps(("rejected", exc.findings)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        connection.send_bytes(pickle.dumps(("error", traceback.format_exc())))
    finally:
        connection.close()


# the peak resident memory (KB) of the last child that finished, for the benchmarks
last_child_peak_kb = 0


class PrepareError(RuntimeError):
    """The child process failed (not a rejection of the file): a bug, or it died."""


def prepare_in_process(
    data: bytes,
    *,
    file_id: uuid.UUID,
    pricer: Pricer,
    dialect_key: str,
    now: datetime,
    batch_claims: int,
) -> Iterator[Event]:
    """``prepare`` in a child process: the same events, read from a pipe. The child
    works at most a batch or two ahead (the pipe is small), so memory stays bounded;
    closing the iterator early ends the child."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    # the bytes go through a pipe of their own: as a process argument they would be
    # pickled into one more copy of the file here
    source, source_sender = context.Pipe(duplex=False)
    arguments = {
        "file_id": file_id,
        "index": pickle.dumps(pricer.index, pickle.HIGHEST_PROTOCOL),
        "dialect_key": dialect_key,
        "now": now,
        "batch_claims": batch_claims,
    }
    process = context.Process(
        target=_child, args=(sender, source, arguments), name="era-recon-prepare"
    )
    process.start()
    sender.close()
    source.close()
    try:
        try:
            source_sender.send_bytes(data)
        except OSError:
            pass  # the child ended before reading: what it sent (or EOF) tells why
        finally:
            source_sender.close()
        started = False
        while True:
            try:
                message = pickle.loads(receiver.recv_bytes())
            except EOFError:
                if started:
                    raise PrepareError("the file's reading process ended unexpectedly") from None
                # it never started: multiprocessing could not re-import the caller's
                # main module (a script read from stdin, say); read the file here
                logger.warning("the reading process could not start; reading in process")
                yield from prepare(
                    data,
                    file_id=file_id,
                    pricer=pricer,
                    dialect_key=dialect_key,
                    now=now,
                    batch_claims=batch_claims,
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
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join()


def _claim_row(
    key: str, state_key: str, file_key: str, identity: str, claim: x12.ClaimPayment
) -> dict[str, Any]:
    return {
        "id": key,
        "remittance_id": state_key,
        "file_id": file_key,
        "position": claim.position,
        "identity": identity,
        "claim_id": claim.claim_id,
        "status_code": claim.status_code,
        "charge_amount": claim.charge_amount,
        "paid_amount": claim.paid_amount,
        "patient_responsibility_amount": claim.patient_responsibility_amount,
        "filing_indicator": claim.filing_indicator,
        "payer_claim_number": claim.payer_claim_number,
        "place_of_service": claim.place_of_service,
        "frequency_code": claim.frequency_code,
        "patient_name": claim.patient_name,
        "patient_member_id": claim.patient_member_id,
        "insured_name": claim.insured_name,
        "insured_member_id": claim.insured_member_id,
        "statement_from_date": claim.statement_from_date,
        "statement_to_date": claim.statement_to_date,
        "remark_codes": list(claim.remark_codes),
        "reverses_id": None,
        "reversed_by_id": None,
    }


def _adjustment_row(
    row_id: str,
    claim_id: str,
    line_id: str | None,
    adjustment: x12.Adjustment,
) -> dict[str, Any]:
    return {
        "id": row_id,
        "claim_payment_id": claim_id,
        "service_line_id": line_id,
        "group_code": adjustment.group_code[:2],
        "reason_code": adjustment.reason_code[:5],
        "amount": adjustment.amount,
        "quantity": q3(adjustment.quantity),
    }


def _line_row(line_id: str, claim_id: str, line: x12.ServiceLine) -> dict[str, Any]:
    return {
        "id": line_id,
        "claim_payment_id": claim_id,
        "position": line.position,
        "procedure_qualifier": line.procedure_qualifier,
        "procedure_code": line.procedure_code,
        "modifiers": list(line.modifiers),
        "charge_amount": line.charge_amount,
        "paid_amount": line.paid_amount,
        "revenue_code": line.revenue_code,
        "units": q3(line.units),
        "original_qualifier": line.original_qualifier,
        "original_procedure_code": line.original_procedure_code,
        "original_modifiers": list(line.original_modifiers),
        "original_units": q3(line.original_units),
        "service_date": line.service_date,
        "service_end_date": line.service_end_date,
        "line_control_number": line.line_control_number,
        "allowed_amount": line.allowed_amount,
        "remark_codes": list(line.remark_codes),
    }
