"""Ingest → store → reprice → flag: the orchestration of one ERA file, deleting one,
re-pricing and background validation (spec/parsing.md, spec/repricing.md §1 §5 §6
§7, spec/interfaces.md). What the faces read is in ``queries.py``.

One file is one all-or-nothing unit (a SAVEPOINT inside the caller's transaction):
it is streamed claim by claim from the reader and written in batches of
``BATCH_CLAIMS`` claim payments with bulk INSERTs — no ORM object per row, no query
per claim. On PostgreSQL a batch's COPYs run on a writer thread while the next batch
is read and priced; every other statement waits for them first. In the same unit each
new claim payment is priced against the contract in force, reversals (CLP02 = 22) are
linked to what they reverse in either arrival order, and recoveries by reversal and
re-payment are recorded on disputed results.

Duplicates (repricing.md §7): a file whose bytes are stored, or that adds no new
claim payment, answers ``duplicate`` and stores nothing; a claim payment already
stored, or repeated in the file, is skipped with a warning. The caller commits.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.access.audit import entry_row, record
from app.access.schemas import Actor, Role
from app.db import models
from app.db.types import to_cents
from app.errors import Conflict, Forbidden, NotFound
from app.reconciliation import prepare, repository
from app.reconciliation.prepare import Pricer
from app.reconciliation.queries import file_summary, iso_date, parse_id
from app.reconciliation.schemas import (
    FileResult,
    FileSummary,
    PayeeRef,
    PayerRef,
    PaymentRef,
    RemittanceSummary,
    RepriceReport,
    ValidationReport,
    merge_warnings,
)
from app.x12 import schemas as x12
from app.x12.errors import X12Rejected
from app.x12.reader import ParsedFile, parse_835

logger = logging.getLogger(__name__)

# claim payments written per batch: big enough that statements stay few, small
# enough that one batch's rows sit comfortably in memory
BATCH_CLAIMS = 500
REVERSAL = x12.ClaimStatus.REVERSAL.value
# statuses of a result in a filed packet: frozen against reversal and re-pricing
FILED_STATUSES = frozenset(repository.FILED_STATUSES)
THOUSANDTH = Decimal("0.001")


class _NothingNew(Exception):
    """Raised inside the file's savepoint to undo it: the file adds nothing."""

    def __init__(self, ingest: _FileIngest) -> None:
        super().__init__("duplicate")
        self.ingest = ingest


# ------------------------------------------------------------------------ identity


def _finding(
    message: str,
    *,
    at_claim: bool = False,
    segment_number: int | None = None,
    code: str = "duplicate",
) -> dict[str, Any]:
    """A warning of the file, or of the claim payment (CLP) at ``segment_number``."""
    return x12.Finding(
        message=message,
        segment_number=segment_number if at_claim else None,
        segment="CLP" if at_claim else None,
        loop="2100" if at_claim else None,
        code=code,
    ).as_dict()


# ---------------------------------------------------------------------- contracts


def _load_contract_index(session: Session, fingerprint: frozenset[uuid.UUID] | None = None) -> Any:
    from app.contracts.index import current_index

    return current_index(session, fingerprint=fingerprint)


def _load_reference() -> Any:
    from app.contracts.reference import load_reference

    return load_reference()


def _pricer(session: Session, contract_versions: frozenset[uuid.UUID] | None = None) -> Pricer:
    """Contracts and reference data for one unit of work (``contract_versions``: the
    current versions' ids, when already read in it)."""
    return Pricer(_load_contract_index(session, contract_versions), _load_reference())


# ------------------------------------------------------------------------- ingest


@dataclass(slots=True)
class _RemittanceState:
    id: uuid.UUID
    remittance: x12.Remittance
    done: bool = False
    inserted: bool = False
    skipped: bool = False
    plb_written: bool = False
    claims_read: int = 0
    claims_new: int = 0
    warnings: list[dict[str, Any]] = field(default_factory=list)
    inserted_state: tuple[int, int] = (0, 0)  # (claims_count, warnings) when inserted
    row: dict[str, Any] | None = None  # its remittances row, as inserted
    # per new claim payment with disputable results: its id, and those results'
    # (category, variance in cents)
    underpaid: list[tuple[str, tuple[tuple[str, int], ...]]] = field(default_factory=list)


@dataclass(slots=True)
class _PendingBatch:
    batch: prepare.Batch
    state: _RemittanceState
    keep: list[bool]  # per claim: to be stored (not a repeat, not stored before)


# files from this size on are read and priced in a child process while this one
# writes (prepare.prepare_in_process); smaller ones in this process, where starting a
# child would cost more than it saves
PROCESS_BYTES = 1024 * 1024


class _FileIngest:
    """The state of one file's ingest inside its savepoint: it takes the events of
    ``prepare`` (claims read, priced and turned into rows elsewhere), decides what is
    new and writes it."""

    def __init__(
        self,
        session: Session,
        *,
        actor: Actor,
        pricer: Pricer,
        validate_inline_lines: int,
        stored_claims: repository.StoredClaims | None = None,
    ) -> None:
        self.session = session
        # the claims' look-up made with the ingest's first statements, for a first
        # batch that asks the same (``_flush``)
        self.stored_claims = stored_claims
        self.actor = actor
        self.pricer = pricer
        self.validate_inline_lines = validate_inline_lines
        self.file_id = models.new_id()
        # prepare's ids count from 1; this writer's own rows (PLB) from far above
        self.ids = prepare.FileIds(self.file_id, start=1 << 62)
        self.now = models.utcnow()
        self.states: list[_RemittanceState] = []
        self._by_id: dict[uuid.UUID, _RemittanceState] = {}
        self.pending: list[_PendingBatch] = []
        self.pending_claims = 0
        self.claims = 0
        self.duplicates = 0
        self.new_claims = 0
        self.lines = 0
        self.file_warnings: list[dict[str, Any]] = []
        self.original_file_id: uuid.UUID | None = None
        self.writer = repository.BulkWriter(session)
        # the era_files row: inserted before the first batch's rows, or, when the whole
        # file is one batch (a small file), with its final values in that batch's
        # pipeline (no UPDATE at the end); None once inserted
        self._file_row: dict[str, Any] | None = None
        self.file_values: dict[str, Any] = {}  # the row's final values (``finish``)
        self.final_written = False
        self.audit_written = False  # the ingest's audit entry went with the rows
        # claim payments (ids) of this file whose results a reversal in it made
        # not disputable
        self.reversed_claims: set[uuid.UUID] = set()
        # per batch: the CLP01s with a reversal history stored (``repository.stored_claims``)
        self._involved: set[str] = set()
        # the last batches' new claims, linked once their rows are written
        self._to_link: list[tuple[prepare.ClaimInfo, _RemittanceState]] | None = None

    # ---------------------------------------------------------------- the stream

    def run(
        self,
        data: bytes,
        content_hash: str,
        filename: str | None,
        parsed: ParsedFile | None = None,
        reading: prepare.ReadingChild | None = None,
    ) -> None:
        """Read, price and write the file; a large one by ``reading`` (its reading
        child, started by the caller: closed here, whatever happens) or a child of
        its own."""
        self._data = data
        self._file_row = {
            "id": self.file_id,
            "content_hash": content_hash,
            "filename": filename[:255] if filename else None,
            "size_bytes": len(data),
            "raw_bytes": data,
            "received_at": self.now,
            "status": "processed",
            "claims_count": 0,
            "duplicates_count": 0,
            "lines_count": 0,
            "warnings": [],
            "validation_status": "pending",
            "validation_findings": [],
            "validated_at": None,
            "uploaded_by_key_id": self.actor.key_id,
            "practice_keys": [],
        }
        arguments: dict[str, Any] = {
            "file_id": self.file_id,
            "pricer": self.pricer,
            "dialect_key": repository.dialect_key(self.session.connection().dialect),
            "now": self.now,
            "batch_claims": BATCH_CLAIMS,
        }
        events: Iterator[prepare.Event]
        if len(data) >= PROCESS_BYTES:
            # a child reads it (never pre-read); the first batch early, the last small
            reading = reading or prepare.ReadingChild.start(data)
            events = reading.events(taper=True, **arguments)
        else:
            events = prepare.prepare(data, parsed=parsed, **arguments)
        try:
            for event in events:
                if isinstance(event, prepare.Batch):
                    self._batch(event)
                    if event.full or self.pending_claims >= BATCH_CLAIMS:
                        self._flush()
                elif isinstance(event, prepare.Start):
                    self._start(event.remittance, event.state_id)
                elif isinstance(event, prepare.End):
                    self._end(event.remittance)
                else:
                    # the file's own warnings come first
                    self.file_warnings[:0] = [w.as_dict() for w in event.warnings]
            self._flush(final=True)
            self.writer.wait()
            self._link()
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # ends a child process still reading
            if reading is not None:
                reading.close()  # also when its events were never taken
            # nothing may touch the connection (the savepoint's rollback or release)
            # while a write is under way
            self.writer.close()
        if not self.states:
            raise X12Rejected([x12.Finding("no 835 payment (BPR) was found in the file")])

    def _start(self, remittance: x12.Remittance, state_id: uuid.UUID) -> None:
        practice = remittance.practice_key
        if not self.actor.may_see(practice):
            raise Forbidden(
                f"this key may not upload remittances for practice {practice or '(none)'}"
            )
        state = _RemittanceState(state_id, remittance)
        self.states.append(state)
        self._by_id[state_id] = state

    def _end(self, remittance: x12.Remittance) -> None:
        state = self.states[-1]
        state.remittance = remittance  # the same object, or its copy from the child
        state.done = True
        state.warnings[:0] = [w.as_dict() for w in remittance.warnings]

    def _batch(self, batch: prepare.Batch) -> None:
        state = self._by_id[batch.state_id]
        for info in batch.claims:
            self.claims += 1
            self.lines += info.lines
            state.claims_read += 1
        self.pending.append(_PendingBatch(batch, state, [True] * len(batch.claims)))
        self.pending_claims += len(batch.claims)

    # ---------------------------------------------------------------- one batch

    def _flush(self, *, final: bool = False) -> None:
        # the previous batch's rows were written while this one was read: wait for
        # them, then link its reversals (the statements run in the order they would
        # without the writer's thread)
        self.writer.wait()
        self._link()
        pending, self.pending, self.pending_claims = self.pending, [], 0
        # a claim payment seen before is skipped: earlier in these batches, or stored
        # (by an earlier batch of this file: repeated in the file; else: a duplicate).
        # No set of the whole file's identities is kept: memory stays flat. The same
        # statement tells which CLP01s have a reversal history stored (``_link``).
        claims = [info for item in pending for info in item.batch.claims]
        stored: dict[str, uuid.UUID] = {}
        if claims:
            identities = [info.identity for info in claims]
            claim_ids = [info.claim_id for info in claims if not info.is_reversal]
            read, self.stored_claims = self.stored_claims, None
            if read is not None and (read.identities, read.claim_ids) == (identities, claim_ids):
                stored, self._involved = read.found, read.reversed_ids
            else:
                stored, self._involved = repository.stored_claims(
                    self.session, identities, claim_ids
                )
        seen: set[str] = set()
        new: list[tuple[prepare.ClaimInfo, _RemittanceState]] = []
        for item in pending:
            for k, info in enumerate(item.batch.claims):
                original = stored.get(info.identity)
                if info.identity in seen or original == self.file_id:
                    message = "the same claim payment is repeated in the file: skipped"
                elif original is not None:
                    seen.add(info.identity)
                    message = "claim payment already stored: skipped"
                    self.original_file_id = self.original_file_id or original
                else:
                    seen.add(info.identity)
                    new.append((info, item.state))
                    item.state.claims_new += 1
                    continue
                item.keep[k] = False
                self.duplicates += 1
                item.state.warnings.append(
                    _finding(message, at_claim=True, segment_number=info.segment_number)
                )
        remittances, plbs = self._remittance_rows()
        self.new_claims += len(new)
        for info, state in new:
            if info.underpaid:
                state.underpaid.append((info.key, info.underpaid))
        if self._file_row is not None:
            if final:
                # the whole file in this one batch: nothing written yet. A file that
                # adds nothing writes nothing; else its row goes first, complete.
                if self.adds_nothing:
                    return
                self._file_row.update(self._final_values())
                self.final_written = True
            self.writer.insert_file(models.EraFile, self._file_row, blob="raw_bytes")
            self._file_row = None
        self.writer.insert(models.Remittance, remittances)
        self.writer.insert(models.ProviderAdjustment, plbs)
        tables: list[repository.PreparedRows] | None = None
        for item in pending:
            rows = item.batch.rows_of(item.keep)
            if tables is None:
                tables = rows
            else:
                for table, more in zip(tables, rows, strict=True):
                    table.extend(more)
        for (model, _), table in zip(prepare.BATCH_TABLES, tables or [], strict=False):
            self.writer.insert_prepared(model, table)
        if self.final_written:
            # the whole file was this batch: its audit entry goes in the same round
            # trip (inside the savepoint, so undone with the rows)
            self.writer.insert(models.AuditEntry, [self.audit_entry()])
            self.audit_written = True
        self._to_link = new

    def audit_entry(self) -> dict[str, Any]:
        """The ``files.ingest`` audit entry of the stored file: ids and counts."""
        return entry_row(
            actor=self.actor,
            action="files.ingest",
            object_type="era_file",
            object_id=str(self.file_id),
            details={
                "claims": self.claims,
                "duplicates": self.duplicates,
                "lines": self.lines,
                "remittances": sum(1 for s in self.states if s.inserted and s.row is not None),
            },
        )

    def _link(self) -> None:
        if self._to_link is None:
            return
        new, self._to_link = self._to_link, None
        if new:
            # only claims with a reversal in their history can link or recover: the
            # batch's own reversals, and CLP01s with a reversal or a reversed payment
            # stored before the batch (looked up with its duplicates; the batch itself
            # adds only its reversals, whose CLP01s are linked anyway)
            involved = self._involved
            keys = {
                (state.remittance.payer_id, state.remittance.practice_key, info.claim_id)
                for info, state in new
                if info.is_reversal or info.claim_id in involved
            }
            if keys:  # most batches: none (and then no UUID built per new claim)
                self.reversed_claims |= link_reversals(
                    self.session,
                    keys=keys,
                    new_claim_ids={uuid.UUID(info.key) for info, _ in new},
                    actor=self.actor,
                )

    def _remittance_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The remittances (and their PLBs) to write with this batch; decides which
        remittances are skipped as already stored."""
        rows: list[dict[str, Any]] = []
        plb_rows: list[dict[str, Any]] = []
        for state in self.states:
            if state.skipped:
                continue
            if not state.inserted:
                if state.claims_new == 0 and not state.done:
                    continue  # nothing new yet: decide when more claims come
                if state.claims_new == 0 and state.claims_read > 0:
                    state.skipped = True  # every claim payment already stored or repeated
                    self.file_warnings.append(
                        _finding(
                            f"remittance {state.remittance.position} (trace "
                            f"{state.remittance.trace_number or '-'}): every claim payment is "
                            "already stored: skipped"
                        )
                    )
                    continue
                if state.claims_read == 0:
                    stored_in = repository.remittance_by_trace(
                        self.session,
                        payer_id=state.remittance.payer_id,
                        trace_number=state.remittance.trace_number,
                    )
                    if stored_in is not None:
                        state.skipped = True
                        self.original_file_id = self.original_file_id or stored_in
                        self.file_warnings.append(
                            _finding(
                                f"remittance {state.remittance.position} (trace "
                                f"{state.remittance.trace_number}): already stored: skipped"
                            )
                        )
                        continue
                rows.append(self._remittance_row(state))
                prepare.fit(
                    models.Remittance, rows[-1:], where=prepare.at_transaction(state.remittance)
                )
                state.inserted = True
                state.inserted_state = (state.claims_new, len(state.warnings))
                state.row = rows[-1]
            if state.done and not state.plb_written:
                state.plb_written = True
                plb_start = len(plb_rows)
                plb_rows.extend(
                    {
                        "id": self.ids(),
                        "remittance_id": state.id,
                        "provider_id": plb.provider_id,
                        "fiscal_period_date": plb.fiscal_period_date,
                        "reason_code": plb.reason_code[:4],
                        "reference_id": plb.reference_id,
                        "amount": plb.amount,
                    }
                    for plb in state.remittance.provider_adjustments
                )
                prepare.fit(
                    models.ProviderAdjustment,
                    plb_rows[plb_start:],
                    where=prepare.at_transaction(state.remittance),
                )
        return rows, plb_rows

    def _remittance_row(self, state: _RemittanceState) -> dict[str, Any]:
        r = state.remittance
        return {
            "id": state.id,
            "file_id": self.file_id,
            "position": r.position,
            "control_number": r.control_number,
            "version": r.version,
            "handling_code": r.handling_code,
            "payment_amount": r.payment_amount,
            "credit_debit": r.credit_debit,
            "payment_method": r.payment_method,
            "payment_date": r.effective_payment_date,
            "production_date": r.production_date,
            "trace_number": r.trace_number,
            "trace_originator": r.trace_originator,
            "payer_id": r.payer_id,
            "payer_name": r.payer.name,
            "payer_identifiers": list(r.payer_identifiers),
            "payer_address": r.payer.address(),
            "payee_name": r.payee.name,
            "payee_npi": r.payee_npi,
            "payee_tin": r.payee_tin,
            "payee_address": r.payee.address(),
            "practice_key": r.practice_key,
            "claims_count": state.claims_new,
            "warnings": list(state.warnings),
        }

    # ---------------------------------------------------------------- the end

    def _final_values(self) -> dict[str, Any]:
        """The file row's values once every claim is read: counts, practices, warnings,
        and pyx12's findings when the file is small enough to validate inline."""
        kept = [s for s in self.states if s.inserted]
        warnings = list(self.file_warnings)
        values: dict[str, Any] = {
            "claims_count": self.claims,
            "duplicates_count": self.duplicates,
            "lines_count": self.lines,
            "practice_keys": sorted(
                {s.remittance.practice_key for s in kept if s.remittance.practice_key}
            ),
        }
        if self.lines <= self.validate_inline_lines:
            status, findings = _full_validation(self._data)
            values.update(
                validation_status=status,
                validation_findings=findings,
                validated_at=models.utcnow(),
            )
            warnings = merge_warnings(warnings, findings)
        values["warnings"] = warnings
        self.file_values = values
        return values

    def finish(self) -> None:
        """Bring the remittances' counts and warnings up to date, and complete the
        file row (unless it was written complete: the file was one batch)."""
        if self.final_written:
            return
        for state in self.states:
            if state.inserted and state.inserted_state != (
                state.claims_new,
                len(state.warnings),
            ):
                assert state.row is not None
                state.row.update(claims_count=state.claims_new, warnings=list(state.warnings))
                repository.update_remittance(
                    self.session,
                    state.id,
                    {"claims_count": state.claims_new, "warnings": list(state.warnings)},
                )
        repository.update_file(self.session, self.file_id, self._final_values())

    def summary(self, filename: str | None) -> FileSummary:
        """The File summary of the stored file (``file_summary``), from what the
        ingest wrote instead of reading it back: the remittances in file order, the
        variances of the disputable results by category (a reversal in the file
        made its original's results not disputable)."""
        categories: dict[str, int] = {}
        items: list[RemittanceSummary] = []
        warnings = list(self.file_values["warnings"])
        # claim keys are the ids' texts (prepare.FileIds): compared as texts, not one
        # UUID built per claim with a variance
        reversed_keys = {str(claim_id) for claim_id in self.reversed_claims}
        for state in self.states:
            row = state.row
            if not state.inserted or row is None:
                continue
            total = 0
            for claim_key, underpaid in state.underpaid:
                if claim_key in reversed_keys:
                    continue
                for category, cents in underpaid:
                    categories[category] = categories.get(category, 0) + cents
                    total += cents
            warnings = merge_warnings(warnings, row["warnings"])
            items.append(
                RemittanceSummary(
                    id=str(state.id),
                    payer=PayerRef(id=row["payer_id"], name=row["payer_name"]),
                    payee=PayeeRef(
                        npi=row["payee_npi"] or row["practice_key"], name=row["payee_name"]
                    ),
                    payment=PaymentRef(
                        amount=f"{to_cents(row['payment_amount']):.2f}",
                        date=row["payment_date"],
                        trace=row["trace_number"],
                    ),
                    claims=row["claims_count"],
                    underpaid_total=_cents(total),
                )
            )
        return FileSummary(
            id=str(self.file_id),
            filename=filename[:255] if filename else None,
            received_at=self.now,
            claims=self.claims,
            duplicates=self.duplicates,
            lines=self.lines,
            underpaid_total=_cents(sum(categories.values())),
            categories={k: _cents(v) for k, v in sorted(categories.items())},
            warnings=warnings,
            validation_status=self.file_values.get("validation_status", "pending"),
            remittances=items,
        )

    @property
    def adds_nothing(self) -> bool:
        """repricing.md §7: every claim payment already stored; or, without claims,
        every remittance already stored (same payer and trace)."""
        if self.claims:
            return self.new_claims == 0
        return not any(s.inserted for s in self.states)


def _cents(cents: int) -> str:
    return f"{Decimal(cents).scaleb(-2):.2f}"


def _full_validation(data: bytes) -> tuple[str, list[dict[str, Any]]]:
    """pyx12's full implementation-guide validation: ("done", findings), or
    ("failed", [why]) when pyx12 cannot read the file at all."""
    from app.x12.validation import validate_835

    try:
        findings = validate_835(data)
    except X12Rejected as exc:
        return "failed", [f.as_dict() for f in exc.findings]
    return "done", [f.as_dict() for f in findings]


# files up to this size are read once more, before storing, to lock just their
# claims; larger ones lock every bucket (re-reading them would cost more than waiting)
PRE_READ_BYTES = 256 * 1024


def _lock_keys(data: bytes) -> list[str] | None:
    """The keys a file's ingest locks (``repository.lock_for_ingest``): per claim
    payment its payer, payee and CLP01 — what reversal matching and duplicates
    compare — and per remittance its payer and trace (a PLB-only remittance is a
    duplicate by those). None, to lock everything, for a large file; [] for a file
    that cannot be read (it is rejected without storing anything)."""
    return _pre_read(data)[0]


def _pre_read(data: bytes) -> tuple[list[str] | None, ParsedFile | None]:
    """``_lock_keys``, and the file read whole when it was (a small, readable file),
    for the ingest to use instead of reading it again."""
    if len(data) > PRE_READ_BYTES:
        return None, None
    try:
        parsed = parse_835(data)
    except X12Rejected:
        return [], None
    keys: list[str] = []
    for remittance in parsed.remittances:
        keys.append(f"trace|{remittance.payer_id}|{remittance.trace_number}")
        keys.extend(
            f"claim|{remittance.payer_id}|{remittance.practice_key}|{claim.claim_id}"
            for claim in remittance.claims
        )
    return keys, parsed


def _claims_asked(parsed: ParsedFile | None) -> tuple[list[str], list[str]] | None:
    """What the first batch of a file read before its ingest asks
    ``repository.stored_claims`` (its claims' identities in file order, the CLP01s
    of those not reversals), when the whole file is at most one batch."""
    if parsed is None:
        return None
    identities: list[str] = []
    claim_ids: list[str] = []
    for remittance in parsed.remittances:
        for claim in remittance.claims:
            identities.append(prepare.claim_identity(remittance, claim))
            if not claim.is_reversal:
                claim_ids.append(claim.claim_id)
    if not identities or len(identities) > BATCH_CLAIMS:
        return None
    return identities, claim_ids


def _clean_filename(filename: str | None) -> str | None:
    """An upload's name as given by the client, without control characters (a NUL
    cannot be stored in PostgreSQL text) and at most 255 characters; None if nothing
    printable is left."""
    if filename is None:
        return None
    cleaned = "".join(ch for ch in filename if ch.isprintable())[:255].strip()
    return cleaned or None


def ingest_file(
    session: Session,
    *,
    data: bytes,
    filename: str | None,
    actor: Actor,
    validate_inline_lines: int = 2000,
) -> FileResult:
    """Read, store and price one 835 file as one all-or-nothing unit.

    Raises ``X12Rejected`` (nothing stored) when the file cannot be read, and
    ``Forbidden`` when a practice-limited actor uploads another practice's
    remittance. A file already stored by its bytes, or adding no new claim payment,
    answers ``duplicate`` with the original file's summary and stores nothing."""
    filename = _clean_filename(filename)
    # a large file's reading child starts first: it decodes the file meanwhile (it
    # sets the ingest's wall time; the look-ups below take ~10–50 ms)
    reading = prepare.ReadingChild.start(data) if len(data) >= PROCESS_BYTES else None
    try:
        return _ingest(session, data, filename, actor, validate_inline_lines, reading)
    finally:
        if reading is not None:
            reading.close()  # not used (a duplicate, an error), or done


def _ingest(
    session: Session,
    data: bytes,
    filename: str | None,
    actor: Actor,
    validate_inline_lines: int,
    reading: prepare.ReadingChild | None,
) -> FileResult:
    content_hash = hashlib.sha256(data).hexdigest()
    # files touching the same claims take turns, so reversals and duplicates see
    # what was stored before them
    keys, parsed = _pre_read(data)
    # the locks, the look-up by bytes, the current contracts, the savepoint and (a
    # small file) its claims' look-up: one round trip
    start = repository.begin_ingest(session, keys, content_hash, _claims_asked(parsed))
    pricer: Pricer | None = None
    for attempt in (1, 2):
        stored = start.stored if attempt == 1 else repository.file_by_hash(session, content_hash)
        if stored is not None:
            if actor.is_scoped and not set(stored.practice_keys) <= actor.practices:
                raise Forbidden("this key may not upload this file's practices")
            return _duplicate(session, filename=filename, original_id=stored.id, actor=actor)
        pricer = pricer or _pricer(session, start.contract_versions)
        ingest = _FileIngest(
            session,
            actor=actor,
            pricer=pricer,
            validate_inline_lines=validate_inline_lines,
            # read before a lost race (a second attempt) is stale: asked again
            stored_claims=start.claims if attempt == 1 else None,
        )
        try:
            with repository.ingest_attempt(session, start):
                # the child started for the first attempt; a second makes its own
                used, reading = reading, None
                ingest.run(data, content_hash, filename, parsed, used)
                if ingest.adds_nothing:
                    raise _NothingNew(ingest)
                ingest.finish()
        except _NothingNew:
            return _duplicate(
                session,
                filename=filename,
                original_id=ingest.original_file_id,
                actor=actor,
                read=ingest,
            )
        except IntegrityError:
            # another upload stored the same file or claims meanwhile: look again
            if attempt == 2:
                raise
            logger.info("ingest lost a race with a concurrent upload; retrying")
            continue
        summary = ingest.summary(filename)
        if not ingest.audit_written:  # a file of several batches
            session.add(models.AuditEntry(**ingest.audit_entry()))
        logger.info(
            "stored file %s: %d claim payments (%d duplicates), %d lines",
            summary.id,
            ingest.claims,
            ingest.duplicates,
            ingest.lines,
        )
        return FileResult(
            file=filename,
            status="processed",
            file_id=summary.id,
            remittance_ids=[r.id for r in summary.remittances],
            claims=ingest.claims,
            duplicates=ingest.duplicates,
            lines=ingest.lines,
            underpaid_total=summary.underpaid_total,
            warnings=summary.warnings,
            summary=summary,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _duplicate(
    session: Session,
    *,
    filename: str | None,
    original_id: uuid.UUID | None,
    actor: Actor,
    read: _FileIngest | None = None,
) -> FileResult:
    summary: FileSummary | None = None
    if original_id is not None:
        try:
            summary = file_summary(session, file_id=original_id, actor=actor, audit=False)
        except NotFound:
            summary = None
    if summary is not None:
        summary = summary.model_copy(update={"duplicate": True})
    warnings = [_finding("the file adds nothing new: it was already stored", code="duplicate_file")]
    if read is not None:
        warnings = merge_warnings(warnings, read.file_warnings)
        for state in read.states:
            warnings = merge_warnings(warnings, state.warnings)
    record(
        session,
        actor=actor,
        action="files.ingest_duplicate",
        object_type="era_file",
        object_id=summary.id if summary else None,
        details={"claims": read.claims if read else (summary.claims if summary else 0)},
    )
    logger.info("duplicate file (original %s)", summary.id if summary else "unknown")
    claims = read.claims if read is not None else (summary.claims if summary else 0)
    return FileResult(
        file=filename,
        status="duplicate",
        file_id=summary.id if summary else None,
        remittance_ids=[r.id for r in summary.remittances] if summary else [],
        claims=claims,
        duplicates=claims,
        lines=read.lines if read is not None else (summary.lines if summary else 0),
        underpaid_total=summary.underpaid_total if summary else "0.00",
        warnings=warnings,
        summary=summary,
    )


def rejected_result(filename: str | None, error: X12Rejected) -> FileResult:
    """The ``ingest --json`` item of a rejected file (nothing of it was stored)."""
    return FileResult(
        file=filename,
        status="rejected",
        errors=[f.as_dict() for f in error.findings],
    )


# ------------------------------------------------------------ reversals, recoveries


def _stored_order(row: Any) -> tuple[datetime, int, int]:
    return (row.received_at, row.remittance_position, row.position)


def _paid_order(row: Any) -> tuple[date, datetime, int, int]:
    return (row.payment_date or date.min, *_stored_order(row))


def link_reversals(
    session: Session,
    *,
    keys: set[tuple[str | None, str | None, str]],
    new_claim_ids: set[uuid.UUID],
    actor: Actor,
) -> set[uuid.UUID]:
    """repricing.md §6 for the claims of (payer id, practice, CLP01) ``keys``: link
    each unlinked reversal (CLP02 22) to the payment it reverses — same payer, payee,
    CLP01 and CLP07, CLP03/CLP04 negated; of several not yet reversed, the latest
    payment date on or before the reversal's, then the latest stored — mark that
    payment's open results ``reversed``, and record recoveries on disputed ones.
    Returns the payments reversed now."""
    if not keys:
        return set()
    rows = repository.related_claims(
        session,
        payer_ids=sorted({k[0] for k in keys}, key=lambda v: v or ""),
        claim_ids=sorted({k[2] for k in keys}),
    )
    by_key: dict[tuple[str | None, str | None, str], list[Any]] = {}
    for row in rows:
        key = (row.payer_id, row.practice_key, row.claim_id)
        if key in keys:
            by_key.setdefault(key, []).append(row)
    links: list[dict[str, Any]] = []
    reversed_now: dict[uuid.UUID, uuid.UUID] = {}  # original → reversal
    reversed_before: set[uuid.UUID] = set()
    for group in by_key.values():
        originals = [r for r in group if r.status_code != REVERSAL and r.reversed_by_id is None]
        reversed_before.update(
            r.id for r in group if r.status_code != REVERSAL and r.reversed_by_id is not None
        )
        for reversal in sorted(
            (r for r in group if r.status_code == REVERSAL and r.reverses_id is None),
            key=_stored_order,
        ):
            candidates = [
                o
                for o in originals
                if o.payer_claim_number == reversal.payer_claim_number
                and o.charge_amount == -reversal.charge_amount
                and o.paid_amount == -reversal.paid_amount
                and (
                    o.payment_date is None
                    or reversal.payment_date is None
                    or o.payment_date <= reversal.payment_date
                )
            ]
            if not candidates:
                continue
            original = max(candidates, key=_paid_order)
            originals.remove(original)
            reversed_now[original.id] = reversal.id
            links.append({"id": reversal.id, "reverses_id": original.id})
            links.append({"id": original.id, "reversed_by_id": reversal.id})
    repository.update_rows(session, models.ClaimPayment, links)

    # recoveries: a reversed payment with disputed results, and the payment after it
    recoveries: list[tuple[uuid.UUID, uuid.UUID]] = []
    for group in by_key.values():
        payments = sorted((r for r in group if r.status_code != REVERSAL), key=_paid_order)
        for index, original in enumerate(payments):
            if original.id not in reversed_now and original.id not in reversed_before:
                continue
            later = payments[index + 1 :]
            if not later:
                continue
            corrected = later[0]
            if original.id in reversed_now or corrected.id in new_claim_ids:
                recoveries.append((original.id, corrected.id))
    involved = set(reversed_now) | {c for _, c in recoveries} | {o for o, _ in recoveries}
    results = repository.results_of_claims(session, sorted(involved)) if involved else []
    by_claim: dict[uuid.UUID, list[Any]] = {}
    for result in results:
        by_claim.setdefault(result.claim_payment_id, []).append(result)

    now = models.utcnow()
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for original_id in reversed_now:
        for result in by_claim.get(original_id, []):
            if result.status != "open" or result.filed_packet_id is not None:
                continue  # in a filed packet: keeps its history (recovery below)
            if result.category == "reversed":
                continue
            updates.append({"id": result.id, "category": "reversed", "disputable": False})
            events.append(
                _event(
                    result.id,
                    "open",
                    "open",
                    note="the payer reversed this claim payment (CLP02 22): no longer disputable",
                    actor=actor,
                    at=now,
                )
            )
    for original_id, corrected_id in recoveries:
        available = list(by_claim.get(corrected_id, []))
        for disputed in by_claim.get(original_id, []):
            if disputed.status != "disputed":
                continue
            match = next(
                (
                    r
                    for r in available
                    if r.procedure_code == disputed.procedure_code
                    and sorted(r.modifiers) == sorted(disputed.modifiers)
                    and r.service_date == disputed.service_date
                ),
                None,
            )
            if match is None:
                continue
            available.remove(match)
            increase = match.actual_amount - disputed.actual_amount
            variance = disputed.variance_amount or Decimal(0)
            if increase > 0:
                amount = min(variance, increase) if variance > 0 else increase
                partial = amount < variance
                updates.append(
                    {"id": disputed.id, "status": "recovered", "recovered_amount": amount}
                )
                events.append(
                    _event(
                        disputed.id,
                        "disputed",
                        "recovered",
                        amount=amount,
                        note=(
                            "recovered by the payer's reversal and re-payment of the claim"
                            + (" (partial)" if partial else "")
                        ),
                        actor=actor,
                        at=now,
                        packet_id=disputed.filed_packet_id,
                    )
                )
            else:
                events.append(
                    _event(
                        disputed.id,
                        "disputed",
                        "disputed",
                        note=(
                            "the payer reversed and re-paid the claim without a higher "
                            "allowed amount: still disputed"
                        ),
                        actor=actor,
                        at=now,
                        packet_id=disputed.filed_packet_id,
                    )
                )
    _apply_result_updates(session, updates)
    repository.insert_rows(session, models.ResultEvent, events)
    return set(reversed_now)


def _apply_result_updates(session: Session, updates: list[dict[str, Any]]) -> None:
    # bulk UPDATE by primary key groups rows by their set of keys; keep them uniform
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for rows in groups.values():
        repository.update_rows(session, models.PricingResult, rows)


def _event(
    result_id: uuid.UUID,
    from_status: str | None,
    to_status: str,
    *,
    note: str,
    actor: Actor,
    at: datetime,
    amount: Decimal | None = None,
    packet_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": models.new_id(),
        "pricing_result_id": result_id,
        "packet_id": packet_id,
        "from_status": from_status,
        "to_status": to_status,
        "amount": amount,
        "note": note,
        "actor_key_id": actor.key_id,
        "actor_name": actor.name,
        "at": at,
    }


# ----------------------------------------------------------------------- deletion


def delete_file(session: Session, *, file_id: uuid.UUID | str, actor: Actor) -> dict[str, int]:
    """Remove an uploaded file and everything it stored (admin only). Refused with
    ``Conflict`` when a filed packet holds any of its results. Payments of other files
    that this file's reversals had reversed are priced again; reversals elsewhere that
    pointed into this file wait for their original again."""
    if actor.role != Role.ADMIN:
        raise Forbidden("only an admin may delete a file")
    file = repository.file_row(session, parse_id(file_id))
    if file is None or file.status != "processed":
        raise NotFound("no such file")
    if actor.is_scoped:
        # a key limited to practices deletes only files wholly of its practices;
        # other practices' files do not exist for it
        practices = set(file.practice_keys)
        if not practices & actor.practices:
            raise NotFound("no such file")
        if not practices <= actor.practices:
            raise Forbidden("this file also holds other practices' remittances")
    if repository.filed_results_of_file(session, file.id):
        raise Conflict("a filed dispute packet holds results of this file: it cannot be deleted")
    unreversed = repository.claims_reversed_by_file(session, file.id)
    orphaned = repository.reversals_of_file_claims(session, file.id)
    repository.unlink_reversals(session, unreversed)
    repository.unlink_reversal_targets(session, orphaned)
    session.expunge(file)
    counts = repository.delete_file(session, file.id)
    if unreversed:
        _reprice_claims(session, unreversed, _pricer(session), RepriceReport())
    record(
        session,
        actor=actor,
        action="files.delete",
        object_type="era_file",
        object_id=str(file.id),
        details={**counts, "repriced_claims": len(unreversed)},
    )
    return counts


# -------------------------------------------------------------------- re-pricing


def reprice(
    session: Session,
    *,
    contract_id: str | None = None,
    since: date | None = None,
    actor: Actor,
) -> RepriceReport:
    """Price stored lines again after contracts change, updating results in place.
    Results in filed packets (disputed, recovered, upheld, written off) stay frozen;
    reversed payments stay reversed. ``contract_id`` limits the work to results priced
    under it or without a contract; ``since`` to lines served on or after the date."""
    report = RepriceReport()
    pricer = _pricer(session)
    after: uuid.UUID | None = None
    while True:
        claim_ids = repository.claims_to_reprice(
            session, contract_id=contract_id, since=since, after=after, limit=BATCH_CLAIMS
        )
        if not claim_ids:
            break
        after = claim_ids[-1]
        _reprice_claims(session, claim_ids, pricer, report)
    record(
        session,
        actor=actor,
        action="pricing.reprice",
        details={"contract_id": contract_id, "since": iso_date(since), **report.model_dump()},
    )
    logger.info("re-priced %d results (%d updated)", report.results, report.updated)
    return report


_MONEY = frozenset(
    {"base_amount", "amount_before_mpr", "expected_amount", "actual_amount", "variance_amount"}
)


def _same(name: str, old: Any, new: Any) -> bool:
    """Stored and freshly priced values agree, as the columns store them."""
    if isinstance(old, Decimal) and isinstance(new, Decimal):
        if name in _MONEY:
            return to_cents(old) == to_cents(new)
        return prepare.q3(old) == prepare.q3(new)
    return bool(old == new)


def _reprice_claims(
    session: Session, claim_ids: list[uuid.UUID], pricer: Pricer, report: RepriceReport
) -> None:
    pairs = repository.claim_rows(session, claim_ids)
    lines = repository.lines_of_claims(session, claim_ids)
    adj_by_owner = repository.adjustments_of_claims([claim for claim, _ in pairs], lines)
    results = repository.results_of_claim_rows(session, claim_ids)
    lines_by_claim: dict[uuid.UUID, list[models.ServiceLine]] = {}
    for line in lines:
        lines_by_claim.setdefault(line.claim_payment_id, []).append(line)
    result_by_line = {r.service_line_id: r for r in results}
    updates: list[dict[str, Any]] = []
    now = models.utcnow()
    for claim, remittance in pairs:
        report.claims += 1
        claim_lines = sorted(lines_by_claim.get(claim.id, []), key=lambda ln: ln.position)
        stored = [result_by_line[ln.id] for ln in claim_lines if ln.id in result_by_line]
        report.results += len(stored)
        if claim.status_code == REVERSAL or not claim_lines:
            continue
        if claim.reversed_by_id is not None:
            report.reversed += len(stored)
            continue
        domain = _domain_claim(claim, claim_lines, adj_by_owner)
        payee = prepare.Payee(
            tuple(remittance.payer_identifiers), remittance.payee_npi, remittance.payee_tin
        )
        line_by_position = {ln.position: ln for ln in claim_lines}
        for result, terms, service_date in pricer.price(domain, payee):
            row = result_by_line.get(line_by_position[result.position].id)
            if row is None:
                continue
            if row.status != "open" or row.filed_packet_id is not None:
                report.frozen += 1
                continue
            values = prepare.result_values(
                result,
                terms,
                service_date,
                payer_id=remittance.payer_id,
                payer_name=remittance.payer_name,
                payment_date=row.payment_date,
            )
            priced = prepare.PRICED_COLUMNS  # every priced column, old against new
            if all(_same(name, getattr(row, name), values[name]) for name in priced):
                report.unchanged += 1
                continue
            values.update(id=row.id, priced_at=now)
            updates.append(values)
            report.updated += 1
    repository.update_rows(session, models.PricingResult, updates)


def _domain_claim(
    claim: models.ClaimPayment,
    lines: list[models.ServiceLine],
    adjustments: dict[tuple[uuid.UUID, uuid.UUID | None], list[x12.Adjustment]],
) -> x12.ClaimPayment:
    """The 835 domain object of a stored claim payment, for the pure repricer."""
    return x12.ClaimPayment(
        position=claim.position,
        claim_id=claim.claim_id,
        status_code=claim.status_code,
        charge_amount=claim.charge_amount,
        paid_amount=claim.paid_amount,
        patient_responsibility_amount=claim.patient_responsibility_amount,
        filing_indicator=claim.filing_indicator,
        payer_claim_number=claim.payer_claim_number,
        place_of_service=claim.place_of_service,
        frequency_code=claim.frequency_code,
        statement_from_date=claim.statement_from_date,
        statement_to_date=claim.statement_to_date,
        remark_codes=tuple(claim.remark_codes),
        adjustments=adjustments.get((claim.id, None), []),
        lines=[
            x12.ServiceLine(
                position=ln.position,
                procedure_qualifier=ln.procedure_qualifier,
                procedure_code=ln.procedure_code,
                modifiers=tuple(ln.modifiers),
                charge_amount=ln.charge_amount,
                paid_amount=ln.paid_amount,
                revenue_code=ln.revenue_code,
                units=ln.units,
                original_qualifier=ln.original_qualifier,
                original_procedure_code=ln.original_procedure_code,
                original_modifiers=tuple(ln.original_modifiers),
                original_units=ln.original_units,
                service_date=ln.service_date,
                service_end_date=ln.service_end_date,
                line_control_number=ln.line_control_number,
                allowed_amount=ln.allowed_amount,
                remark_codes=tuple(ln.remark_codes),
                adjustments=adjustments.get((claim.id, ln.id), []),
            )
            for ln in lines
        ],
    )


# -------------------------------------------------------------------- validation


def validate_file(*, data: bytes, filename: str | None) -> ValidationReport:
    """pyx12's full implementation-guide validation of one file (nothing stored)."""
    status, findings = _full_validation(data)
    return ValidationReport(
        file=filename, status="done" if status == "done" else "rejected", findings=findings
    )


def validate_pending(session: Session, *, limit: int) -> int:
    """Validate up to ``limit`` stored files still waiting for pyx12's full
    validation (large files skip it at ingest); the findings are stored on the file
    (``validation_findings``, and added to its warnings). Returns how many."""
    files = repository.pending_validation(session, limit=limit)
    for file in files:
        status, findings = _full_validation(file.raw_bytes)
        repository.update_file(
            session,
            file.id,
            {
                "validation_status": status,
                "validation_findings": findings,
                "validated_at": datetime.now(UTC),
                "warnings": merge_warnings(list(file.warnings), findings),
            },
        )
        logger.info("validated file %s: %d findings", file.id, len(findings))
    return len(files)
