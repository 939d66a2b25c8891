"""Dispute packets, their lifecycle, exports and reports (spec/disputes.md).

The faces (API, web pages, CLI) call these functions; each takes the ``session``
first and keyword-only arguments after, acts for an ``Actor`` and honours its
practice scope (a practice-limited key never sees nor changes another practice's
packets or results: they answer "not found"). Nothing here commits.

- Open packets are computed from the open, disputable results of one (practice,
  packet payer) whose deadline is on or after ``as_of``; their id is
  ``open_packet_id(practice, payer)``. Filing stores a ``dispute_packets`` row with
  the lines frozen (``dispute_packet_items.snapshot``); those results become
  ``disputed``. Lines found later go to the open packet again.
- Outcomes (``recovered`` with an amount, ``upheld``, ``written_off``) are recorded
  per result or per filed packet; each change leaves a ``result_events`` row and an
  audit entry. A filed packet is ``closed`` once none of its lines is disputed.
- Exports (PDF letter, XLSX, CSV, JSON) of one packet, or of all packets (ZIP of the
  letters, one CSV or XLSX of every line). Every export and every read of packet
  lines is audited with ids and counts, never patient data.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.access.audit import record
from app.access.schemas import Actor, Role
from app.contracts.loader import load_practices
from app.contracts.schemas import Letterhead
from app.db.models import (
    ContractVersion,
    DisputePacket,
    DisputePacketItem,
    PricingResult,
    Remittance,
    ResultEvent,
    new_id,
    utcnow,
)
from app.db.types import to_cents
from app.disputes import exports
from app.disputes import repository as repo
from app.disputes.deadlines import is_urgent
from app.disputes.errors import (
    DisputeTransitionError,
    OutcomeInvalid,
    PacketNotFound,
    ResultNotFound,
)
from app.disputes.schemas import (
    CATEGORY_CLAUSE,
    CATEGORY_LABELS,
    DISPUTABLE_CATEGORIES,
    FOLLOW_UP_DAYS,
    Addressee,
    AmountRow,
    BundleFormat,
    ContextLine,
    ContractCitation,
    Dashboard,
    DenialGroup,
    DenialReport,
    ExpiredSummary,
    ExpiringRow,
    Export,
    OverpaymentReport,
    Packet,
    PacketDocument,
    PacketFormat,
    PacketList,
    PayerRecovery,
    Pipeline,
    PipelineStage,
    ResultPage,
    SubTolerancePattern,
    open_packet_id,
)
from app.errors import Forbidden, InvalidInput
from app.reconciliation.schemas import PricingResultRead

ZERO = Decimal("0.00")

# the roles that work packets (interfaces.md: `GET /v1/disputes` and the rest: finance)
DISPUTE_ROLES = (Role.FINANCE,)

# the sub-tolerance report flags a payer and code with this many same-sign lines
PATTERN_MIN_LINES = 20

# how many of the next deadlines the dashboard lists
EXPIRING_ROWS = 10

# outcomes each status may take (disputes.md "Lifecycle of a disputable result")
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"written_off"}),
    "disputed": frozenset({"recovered", "upheld", "written_off"}),
}
OUTCOMES = ("recovered", "upheld", "written_off")


# ========================================================================== packets


def list_packets(
    session: Session,
    *,
    actor: Actor,
    as_of: date,
    cursor: str | None = None,
    limit: int | None = None,
) -> PacketList:
    """Every open packet with lines and the filed packets (summaries, no items), open
    packets first by earliest deadline, then filed packets newest first; plus the
    expired lines' count and total. With ``limit`` the filed packets come ``limit`` at
    a time: the first page (no ``cursor``) holds every open packet, the later pages
    only filed ones; the expired total is on every page."""
    _require_dispute_role(actor)
    scope = actor.scope()
    packets: list[Packet] = []
    if not cursor:
        categories = repo.open_packet_categories(session, as_of=as_of, scope=scope)
        totals = sorted(
            repo.open_packet_totals(session, as_of=as_of, scope=scope),
            key=lambda t: (t.earliest_deadline or repo.SORT_END, t.practice_key, t.payer_id),
        )
        packets = [
            _open_packet(t, categories.get((t.practice_key, t.payer_id), {}), as_of=as_of)
            for t in totals
        ]
    filed = repo.filed_packets(
        session,
        scope=scope,
        after=_decode_filed_cursor(cursor),
        limit=None if limit is None else limit + 1,
    )
    next_cursor = None
    if limit is not None and len(filed) > limit:
        filed = filed[:limit]
        date_filed, at, packet_id = repo.filed_key(filed[-1])
        next_cursor = _encode("f", [date_filed.isoformat(), at.isoformat(), str(packet_id)])
    states = repo.packet_line_states(session, [p.id for p in filed])
    packets += [_filed_packet(p, states.get(p.id), as_of=as_of) for p in filed]
    expired = repo.expired_totals(session, as_of=as_of, scope=scope)
    return PacketList(
        as_of=as_of,
        packets=packets,
        expired=ExpiredSummary(lines=expired.lines, total=_money(expired.variance)),
        next_cursor=next_cursor,
    )


def get_packet(
    session: Session,
    *,
    packet_id: uuid.UUID | str,
    actor: Actor,
    as_of: date,
    cursor: str | None = None,
    limit: int | None = None,
) -> Packet:
    """One packet, open or filed, with a page of its lines (all when ``limit`` is
    None). A filed packet's lines are as filed, with their current ``status`` and
    ``recovered_amount``. An open packet's id answers even when it has no line now."""
    _require_dispute_role(actor)
    target = _resolve(session, packet_id, actor)
    if isinstance(target, DisputePacket):
        packet = _filed_with_items(session, target, as_of=as_of, cursor=cursor, limit=limit)
    else:
        practice, payer, name = target
        packet = _open_with_items(
            session, practice, payer, name, as_of=as_of, cursor=cursor, limit=limit
        )
    record(
        session,
        actor=actor,
        action="dispute_packet.read",
        object_type="dispute_packet",
        object_id=packet.id,
        details={"lines": len(packet.items or [])},
    )
    return packet


def list_expired(
    session: Session,
    *,
    actor: Actor,
    as_of: date,
    cursor: str | None = None,
    limit: int | None = None,
) -> ResultPage:
    """Open disputable results past their deadline (revenue lost to the window), by
    deadline; never part of a packet."""
    _require_dispute_role(actor)
    scope = actor.scope()
    after = _decode_line_cursor(cursor)
    rows = repo.expired_rows(
        session, as_of=as_of, scope=scope, after=after, limit=None if limit is None else limit + 1
    )
    rows, next_cursor = _cut(rows, limit)
    totals = repo.expired_totals(session, as_of=as_of, scope=scope)
    record(
        session,
        actor=actor,
        action="dispute_expired.read",
        object_type="pricing_result",
        details={"lines": len(rows)},
    )
    return ResultPage(
        items=[PricingResultRead.from_rows(*row, as_of=as_of) for row in rows],
        next_cursor=next_cursor,
        lines=totals.lines,
        total=_money(totals.variance),
    )


def packets_with_items(
    session: Session, *, actor: Actor, as_of: date
) -> tuple[list[Packet], list[PricingResultRead]]:
    """Every packet of ``list_packets`` with all its lines, and every expired result
    (``era-recon disputes --json``)."""
    summaries = list_packets(session, actor=actor, as_of=as_of).packets
    packets = [get_packet(session, packet_id=p.id, actor=actor, as_of=as_of) for p in summaries]
    expired = list_expired(session, actor=actor, as_of=as_of).items
    return packets, expired


def file_packet(
    session: Session, *, packet_id: uuid.UUID | str, actor: Actor, as_of: date
) -> Packet:
    """File the open packet: store it with its lines frozen (filed on ``as_of``, by
    the actor); its results become ``disputed``. Answers the filed packet (no items:
    ``get_packet`` pages them)."""
    _require_dispute_role(actor)
    target = _resolve(session, packet_id, actor)
    if isinstance(target, DisputePacket):
        raise DisputeTransitionError(
            f"dispute packet {target.id} is already {target.status}",
            from_status=target.status,
            to_status="filed",
        )
    practice, payer, name = target
    rows = repo.open_packet_rows(
        session, practice_key=practice, payer_id=payer, as_of=as_of, for_update=True
    )
    if not rows:
        raise DisputeTransitionError(
            "the open packet has no line to file", from_status="open", to_status="filed"
        )
    by_category: dict[str, Decimal] = {}
    for result, *_ in rows:
        by_category[result.category] = by_category.get(result.category, ZERO) + _variance(result)
    deadlines = [r.dispute_deadline for r, *_ in rows if r.dispute_deadline is not None]
    packet = DisputePacket(
        id=new_id(),
        practice_key=practice,
        payer_id=payer,
        payer_name=name,
        status="filed",
        filed_date=as_of,
        filed_at=utcnow(),
        filed_by_key_id=actor.key_id,
        filed_by_name=actor.name,
        lines_count=len(rows),
        total_amount=sum((_variance(r) for r, *_ in rows), ZERO),
        by_category=_category_strings(by_category),
        earliest_deadline=min(deadlines) if deadlines else None,
    )
    repo.add(session, packet)
    children: list[object] = []
    for position, row in enumerate(rows, start=1):
        result = row[0]
        result.status = "disputed"
        result.filed_packet_id = packet.id
        snapshot = PricingResultRead.from_rows(*row, as_of=as_of).model_dump(mode="json")
        children.append(
            DisputePacketItem(
                packet_id=packet.id,
                pricing_result_id=result.id,
                position=position,
                variance_amount=_variance(result),
                snapshot=snapshot,
            )
        )
        children.append(
            _event(
                result,
                packet_id=packet.id,
                before="open",
                after="disputed",
                actor=actor,
                amount=_variance(result),
            )
        )
    repo.add(session, *children)
    record(
        session,
        actor=actor,
        action="dispute_packet.filed",
        object_type="dispute_packet",
        object_id=str(packet.id),
        details={
            "open_packet_id": str(open_packet_id(practice, payer)),
            "lines": len(rows),
            "total": _money(packet.total_amount),
        },
    )
    return _filed_packet(packet, (len(rows), ZERO), as_of=as_of)


# ========================================================================= outcomes


def record_result_outcome(
    session: Session,
    *,
    result_id: uuid.UUID | str,
    outcome: str,
    amount: Decimal | None = None,
    actor: Actor,
    note: str | None = None,
    as_of: date | None = None,
) -> PricingResultRead:
    """Record what became of one result: ``disputed`` → ``recovered`` (with the
    amount, more than 0 and at most its variance: a partial recovery is a recovery),
    ``upheld`` or ``written_off``; ``open`` → ``written_off``. Anything else is a
    ``DisputeTransitionError``. Closes the result's filed packet when it was its last
    disputed line."""
    _require_dispute_role(actor)
    uid = _uuid(result_id)
    result = None if uid is None else repo.result_for_update(session, uid)
    if result is None or not actor.may_see(result.practice_key):
        raise ResultNotFound(str(result_id))
    _check_outcome(outcome, amount, note)
    _apply_outcome(session, result, outcome=outcome, amount=amount, actor=actor, note=note)
    if result.filed_packet_id is not None:
        _close_if_resolved(session, result.filed_packet_id)
    row = repo.rows_of_results(session, [result.id])[result.id]
    return PricingResultRead.from_rows(*row, as_of=as_of or date.today())


def record_packet_outcome(
    session: Session,
    *,
    packet_id: uuid.UUID | str,
    outcome: str,
    amount: Decimal | None = None,
    actor: Actor,
    note: str | None = None,
    as_of: date | None = None,
) -> Packet:
    """Record one outcome for every line of a filed packet still ``disputed``. A
    recovered amount (at most those lines' variances) is allocated in proportion to
    their variances, the leftover cents to the largest (``allocate_recovery``)."""
    _require_dispute_role(actor)
    target = _resolve(session, packet_id, actor)
    if not isinstance(target, DisputePacket):
        raise DisputeTransitionError(
            "an open packet takes no outcome: file it first, or record outcomes per line",
            from_status="open",
            to_status=outcome,
        )
    _check_outcome(outcome, amount, note)
    packet = repo.filed_packet(session, target.id, for_update=True) or target
    lines = repo.disputed_results_of_packet(session, packet.id)
    if not lines:
        raise DisputeTransitionError(
            f"no line of dispute packet {packet.id} is still disputed",
            from_status=packet.status,
            to_status=outcome,
        )
    shares: list[Decimal | None] = [None] * len(lines)
    if outcome == "recovered":
        assert amount is not None
        open_total = sum((_variance(r) for r, _ in lines), ZERO)
        if amount > open_total:
            raise OutcomeInvalid(
                f"the recovered amount {_money(amount)} is more than the "
                f"{_money(open_total)} still disputed in this packet",
                details=[{"field": "amount", "max": _money(open_total)}],
            )
        shares = list(allocate_recovery(amount, [_variance(r) for r, _ in lines]))
    for (result, _), share in zip(lines, shares, strict=True):
        _apply_outcome(
            session,
            result,
            outcome=outcome,
            amount=share,
            actor=actor,
            note=note,
            allow_zero=True,
        )
    _close_if_resolved(session, packet.id)
    record(
        session,
        actor=actor,
        action="dispute_packet.outcome",
        object_type="dispute_packet",
        object_id=str(packet.id),
        details={
            "outcome": outcome,
            "lines": len(lines),
            "amount": None if amount is None else _money(amount),
        },
    )
    states = repo.packet_line_states(session, [packet.id])
    return _filed_packet(packet, states.get(packet.id), as_of=as_of or date.today())


def allocate_recovery(amount: Decimal, variances: Sequence[Decimal]) -> list[Decimal]:
    """Split a packet-level recovery over its lines in proportion to their variances:
    each line gets its share rounded down to the cent, and the cents left over go to
    the line with the largest variance (the first of equals), then — never past a
    line's own variance — to the next largest. The shares sum to ``amount``."""
    cents = int(to_cents(amount) * 100)
    weights = [int(to_cents(v) * 100) for v in variances]
    total = sum(weights)
    if total <= 0 or cents < 0 or cents > total:
        raise OutcomeInvalid(
            "the recovered amount must be between 0 and the disputed total",
            details=[{"field": "amount"}],
        )
    shares = [cents * w // total for w in weights]
    left = cents - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        if left == 0:
            break
        room = weights[index] - shares[index]
        extra = min(room, left)
        shares[index] += extra
        left -= extra
    return [Decimal(s) / 100 for s in shares]


def recovered_by_payer(session: Session, *, actor: Actor) -> list[PayerRecovery]:
    """What each payer paid back on recovered results (manual outcomes and the
    automatic recoveries of repricing.md §6), with those lines' variances."""
    _require_dispute_role(actor)
    return [
        PayerRecovery(
            payer_id=payer,
            payer_name=name,
            lines=lines,
            disputed=_money(disputed),
            recovered=_money(recovered),
        )
        for payer, name, lines, disputed, recovered in repo.recovered_by_payer(
            session, scope=actor.scope()
        )
    ]


# ========================================================================== reports


def overpayment_report(session: Session, *, actor: Actor, as_of: date) -> OverpaymentReport:
    """``overpaid`` results: the practice may owe refunds (disputes.md "Beyond the
    packets"). ``total`` is the amount overpaid, a positive number."""
    _require_dispute_role(actor)
    rows = repo.category_rows(session, category="overpaid", scope=actor.scope())
    by_payer: dict[str, tuple[str | None, int, Decimal]] = {}
    for result, *_ in rows:
        payer = result.packet_payer_id or result.payer_id or ""
        name, count, total = by_payer.get(payer, (result.packet_payer_name, 0, ZERO))
        by_payer[payer] = (name or result.packet_payer_name, count + 1, total - _variance(result))
    record(
        session,
        actor=actor,
        action="report.overpayments",
        object_type="pricing_result",
        details={"lines": len(rows)},
    )
    return OverpaymentReport(
        lines=len(rows),
        total=_money(sum((-_variance(r) for r, *_ in rows), ZERO)),
        by_payer=sorted(
            (
                AmountRow(key=k, label=name or k, lines=n, amount=_money(t))
                for k, (name, n, t) in by_payer.items()
            ),
            key=lambda row: (-Decimal(row.amount), row.key),
        ),
        items=[PricingResultRead.from_rows(*row, as_of=as_of) for row in rows],
    )


def denial_report(session: Session, *, actor: Actor, as_of: date) -> DenialReport:
    """``denied`` results grouped by their CARC codes as on the 835 (a line with two
    CARCs forms its own group, so nothing is counted twice); most lines first."""
    _require_dispute_role(actor)
    rows = repo.category_rows(session, category="denied", scope=actor.scope())
    groups: dict[str, list[repo.ResultRow]] = {}
    for row in rows:
        groups.setdefault(", ".join(row[0].carc) or "no CARC", []).append(row)
    record(
        session,
        actor=actor,
        action="report.denials",
        object_type="pricing_result",
        details={"lines": len(rows)},
    )
    return DenialReport(
        lines=len(rows),
        charge=_money(sum((row[1].charge_amount for row in rows), ZERO)),
        groups=sorted(
            (
                DenialGroup(
                    carc=carc,
                    lines=len(members),
                    charge=_money(sum((m[1].charge_amount for m in members), ZERO)),
                    items=[PricingResultRead.from_rows(*m, as_of=as_of) for m in members],
                )
                for carc, members in groups.items()
            ),
            key=lambda g: (-g.lines, g.carc),
        ),
    )


def sub_tolerance_report(session: Session, *, actor: Actor) -> list[SubTolerancePattern]:
    """Variances at or under the tolerance (``matched`` lines whose variance is not
    zero) summed by payer and billed code. Flagged where ``PATTERN_MIN_LINES`` or more
    lines of one payer and code share a sign: a payer on last year's fee schedule
    underpays every line by cents. Flagged patterns first, then by size."""
    patterns = []
    for payer, name, code, lines, under, over, total in repo.sub_tolerance_groups(
        session, scope=actor.scope()
    ):
        direction: Any = None
        if max(under, over) >= PATTERN_MIN_LINES:
            direction = "underpaid" if under >= over else "overpaid"
        patterns.append(
            SubTolerancePattern(
                payer_id=payer,
                payer_name=name,
                procedure=code,
                lines=lines,
                underpaid_lines=under,
                overpaid_lines=over,
                total=_money(total),
                flagged=direction is not None,
                direction=direction,
            )
        )
    return sorted(patterns, key=lambda p: (not p.flagged, -abs(Decimal(p.total)), p.payer_id))


def dashboard(session: Session, *, actor: Actor, as_of: date) -> Dashboard:
    """The dashboard's numbers: underpaid totals (every disputable result, whatever
    its status) by payer, category and month of payment; the dispute pipeline; the
    next deadlines; and the report counts."""
    scope = actor.scope()
    summary = repo.disputable_summary(session, as_of=as_of, scope=scope)

    def rows(dimension: str) -> list[tuple[Any, str | None, int, Decimal]]:
        return summary.underpaid_by(dimension)

    by_payer = [
        AmountRow(key=str(k), label=name or str(k), lines=n, amount=_money(t))
        for k, name, n, t in rows("payer")
    ]
    by_category = [
        AmountRow(key=str(k), label=CATEGORY_LABELS.get(str(k), str(k)), lines=n, amount=_money(t))
        for k, _, n, t in rows("category")
    ]
    months: dict[str, tuple[int, Decimal]] = {}
    for paid_on, _, n, t in rows("payment_date"):
        key = "unknown" if paid_on is None else f"{paid_on:%Y-%m}"
        count, total = months.get(key, (0, ZERO))
        months[key] = (count + n, total + t)
    by_month = [
        AmountRow(key=k, label=k, lines=n, amount=_money(t)) for k, (n, t) in sorted(months.items())
    ]
    stages = summary.stages()

    def stage(name: str, *, recovered: bool = False) -> PipelineStage:
        totals = stages.get(name)
        if totals is None:
            return PipelineStage(lines=0, amount=_money(ZERO))
        return PipelineStage(
            lines=totals.lines, amount=_money(totals.recovered if recovered else totals.variance)
        )

    expiring = [
        ExpiringRow(
            packet_id=str(open_packet_id(practice, payer)),
            payer_id=payer,
            payer_name=name,
            practice_npi=practice,
            deadline=deadline,
            days_left=(deadline - as_of).days,
            lines=n,
            amount=_money(total),
        )
        for practice, payer, name, deadline, n, total in repo.expiring_next(
            session, as_of=as_of, scope=scope, limit=EXPIRING_ROWS
        )
    ]
    soon = repo.window_total(session, as_of=as_of, until=as_of + timedelta(days=30), scope=scope)
    categories = repo.category_totals(session, scope=scope, categories=("overpaid", "denied"))
    overpaid = categories.get("overpaid", (0, ZERO))
    return Dashboard(
        as_of=as_of,
        underpaid_total=_money(sum((Decimal(r.amount) for r in by_payer), ZERO)),
        underpaid_by_payer=sorted(by_payer, key=lambda r: (-Decimal(r.amount), r.key)),
        underpaid_by_category=sorted(by_category, key=lambda r: (-Decimal(r.amount), r.key)),
        underpaid_by_month=by_month,
        pipeline=Pipeline(
            open=stage("open"),
            disputed=stage("disputed"),
            recovered=stage("recovered", recovered=True),
            upheld=stage("upheld"),
            written_off=stage("written_off"),
            expired=stage("expired"),
        ),
        expiring_next=expiring,
        expiring_within_30_days=_money(soon),
        overpaid_total=_money(-overpaid[1]),
        denied_lines=categories.get("denied", (0, ZERO))[0],
        sub_tolerance_flags=sum(1 for p in sub_tolerance_report(session, actor=actor) if p.flagged),
    )


# ========================================================================== exports

MEDIA_TYPES = {
    "json": "application/json",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
}


def export_packet(
    session: Session,
    *,
    packet_id: uuid.UUID | str,
    actor: Actor,
    as_of: date,
    format: PacketFormat | str,
    contracts_path: Path | None = None,
) -> Export:
    """One packet as ``pdf`` (the dispute letter), ``xlsx``, ``csv`` or ``json``: its
    bytes, media type and file name. A filed packet exports its frozen lines, dated
    the day it was filed, so the same file comes out every time. ``contracts_path``
    is the folder whose ``practices.yaml`` gives the letterhead (else the 835's
    payee)."""
    _require_dispute_role(actor)
    if format not in ("json", "pdf", "xlsx", "csv"):
        raise InvalidInput("export as json, pdf, xlsx or csv", details=[{"field": "format"}])
    target = _resolve(session, packet_id, actor)
    document = _document(session, target, as_of=as_of, contracts_path=contracts_path)
    content = exports.render(document, format)
    record(
        session,
        actor=actor,
        action="dispute_packet.export",
        object_type="dispute_packet",
        object_id=document.packet.id,
        details={"format": format, "lines": len(document.items)},
    )
    return Export(content, MEDIA_TYPES[format], f"{exports.base_name(document)}.{format}")


def export_packets(
    session: Session,
    *,
    actor: Actor,
    as_of: date,
    format: BundleFormat | str,
    contracts_path: Path | None = None,
) -> Export:
    """Every open or filed (not closed) packet with lines at once: ``zip`` holds one
    PDF letter per packet; ``csv`` and ``xlsx`` hold every line with its packet and
    payer columns."""
    _require_dispute_role(actor)
    if format not in ("zip", "csv", "xlsx"):
        raise InvalidInput("export all packets as zip, csv or xlsx", details=[{"field": "format"}])
    summaries = [
        p
        for p in list_packets(session, actor=actor, as_of=as_of).packets
        if p.status != "closed" and p.lines > 0
    ]
    documents = [
        _document(
            session,
            _resolve(session, p.id, actor),
            as_of=as_of,
            contracts_path=contracts_path,
        )
        for p in summaries
    ]
    if format == "zip":
        content = exports.render_zip(documents, stamp=_stamp(as_of))
    else:
        content = exports.render_all(documents, format)
    record(
        session,
        actor=actor,
        action="dispute_packets.export",
        object_type="dispute_packet",
        details={
            "format": format,
            "packets": [d.packet.id for d in documents],
            "lines": sum(len(d.items) for d in documents),
        },
    )
    return Export(content, MEDIA_TYPES[format], f"dispute-packets-{as_of.isoformat()}.{format}")


# ========================================================================== helpers


def _require_dispute_role(actor: Actor) -> None:
    if not actor.allows(DISPUTE_ROLES):
        raise Forbidden("dispute packets are for finance")


def _uuid(value: uuid.UUID | str) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _resolve(
    session: Session, packet_id: uuid.UUID | str, actor: Actor
) -> DisputePacket | tuple[str, str, str | None]:
    """A filed packet, or the (practice, payer, payer name) of an open packet id."""
    uid = _uuid(packet_id)
    if uid is None:
        raise PacketNotFound(str(packet_id))
    filed = repo.filed_packet(session, uid)
    if filed is not None:
        if actor.may_see(filed.practice_key):
            return filed
        raise PacketNotFound(str(packet_id))
    for practice, payer, name in repo.packet_keys(session, scope=actor.scope()):
        if open_packet_id(practice, payer) == uid:
            return practice, payer, name
    raise PacketNotFound(str(packet_id))


def _open_packet(
    totals: repo.PacketTotals, by_category: dict[str, Decimal], *, as_of: date
) -> Packet:
    pid = str(open_packet_id(totals.practice_key, totals.payer_id))
    return Packet(
        id=pid,
        payer_id=totals.payer_id,
        payer_name=totals.payer_name,
        practice_npi=totals.practice_key,
        lines=totals.lines,
        total=_money(totals.total),
        earliest_deadline=totals.earliest_deadline,
        urgent=totals.lines > 0 and is_urgent(totals.earliest_deadline, as_of),
        status="open",
        filed_at=None,
        follow_up_due=False,
        by_category=_category_strings(by_category),
        open_packet_id=pid,
    )


def _open_summary(
    session: Session, practice: str, payer: str, name: str | None, *, as_of: date
) -> Packet:
    """One open packet's summary; 0 lines when it is empty now."""
    totals = repo.open_packet_totals(
        session, as_of=as_of, scope=None, practice_key=practice, payer_id=payer
    )
    categories = repo.open_packet_categories(
        session, as_of=as_of, scope=None, practice_key=practice, payer_id=payer
    )
    return _open_packet(
        totals[0] if totals else repo.PacketTotals(practice, payer, name, 0, ZERO, None),
        categories.get((practice, payer), {}),
        as_of=as_of,
    )


def _filed_packet(
    packet: DisputePacket, state: tuple[int, Decimal] | None, *, as_of: date
) -> Packet:
    """A filed packet's summary: frozen totals, current line states. ``closed`` once no
    line is disputed (also when a reversal recorded the last recovery); follow-up is
    due 30 days after filing while a line is still disputed."""
    disputed, recovered = state or (0, ZERO)
    status = "filed" if disputed > 0 else "closed"
    return Packet(
        id=str(packet.id),
        payer_id=packet.payer_id,
        payer_name=packet.payer_name,
        practice_npi=packet.practice_key,
        lines=packet.lines_count,
        total=_money(packet.total_amount),
        earliest_deadline=packet.earliest_deadline,
        urgent=False,
        status=status,
        filed_at=packet.filed_at,
        follow_up_due=disputed > 0 and as_of >= packet.filed_date + timedelta(days=FOLLOW_UP_DAYS),
        by_category=dict(packet.by_category),
        filed_date=packet.filed_date,
        filed_by=packet.filed_by_name,
        open_packet_id=str(open_packet_id(packet.practice_key, packet.payer_id)),
        disputed_lines=disputed,
        recovered=_money(recovered),
    )


def _open_with_items(
    session: Session,
    practice: str,
    payer: str,
    name: str | None,
    *,
    as_of: date,
    cursor: str | None,
    limit: int | None,
) -> Packet:
    packet = _open_summary(session, practice, payer, name, as_of=as_of)
    rows = repo.open_packet_rows(
        session,
        practice_key=practice,
        payer_id=payer,
        as_of=as_of,
        after=_decode_line_cursor(cursor),
        limit=None if limit is None else limit + 1,
    )
    rows, next_cursor = _cut(rows, limit)
    packet.items = [PricingResultRead.from_rows(*row, as_of=as_of) for row in rows]
    packet.next_cursor = next_cursor
    return packet


def _filed_with_items(
    session: Session,
    packet: DisputePacket,
    *,
    as_of: date,
    cursor: str | None,
    limit: int | None,
) -> Packet:
    states = repo.packet_line_states(session, [packet.id])
    summary = _filed_packet(packet, states.get(packet.id), as_of=as_of)
    after = _decode_position_cursor(cursor)
    pairs = repo.filed_packet_items(
        session, packet.id, after_position=after, limit=None if limit is None else limit + 1
    )
    more = limit is not None and len(pairs) > limit
    pairs = pairs[:limit] if limit is not None else pairs
    summary.items = [_current(item, result) for item, result in pairs]
    summary.next_cursor = _encode("f", pairs[-1][0].position) if more and pairs else None
    return summary


def _current(item: DisputePacketItem, result: PricingResult) -> PricingResultRead:
    """A filed line as filed, with what became of it since."""
    read = PricingResultRead.model_validate(item.snapshot)
    return read.model_copy(
        update={
            "status": result.status,
            "recovered_amount": None
            if result.recovered_amount is None
            else _money(result.recovered_amount),
            "expired": False,
        }
    )


def _check_outcome(outcome: str, amount: Decimal | None, note: str | None) -> None:
    if note is not None and "\x00" in note:
        # PostgreSQL text cannot hold NUL; a note is free text, never binary
        raise OutcomeInvalid(
            "the note must not contain NUL characters", details=[{"field": "note"}]
        )
    if outcome not in OUTCOMES:
        raise OutcomeInvalid(
            "the outcome must be recovered, upheld or written_off",
            details=[{"field": "outcome"}],
        )
    if outcome != "recovered":
        if amount is not None:
            raise OutcomeInvalid(
                f"only a recovery carries an amount, not {outcome}",
                details=[{"field": "amount"}],
            )
        return
    if amount is None:
        raise OutcomeInvalid("a recovery needs the amount recovered", details=[{"field": "amount"}])
    if not amount.is_finite() or amount != to_cents(amount) or amount <= 0:
        raise OutcomeInvalid(
            "the recovered amount must be more than 0, in dollars and cents",
            details=[{"field": "amount"}],
        )


def _apply_outcome(
    session: Session,
    result: PricingResult,
    *,
    outcome: str,
    amount: Decimal | None,
    actor: Actor,
    note: str | None,
    allow_zero: bool = False,
) -> None:
    before = result.status
    disputable = result.disputable and result.category in DISPUTABLE_CATEGORIES
    if not disputable or outcome not in TRANSITIONS.get(before, frozenset()):
        what = before if disputable else f"{before} {result.category}"
        raise DisputeTransitionError(
            f"a {what} result cannot become {outcome}", from_status=before, to_status=outcome
        )
    if outcome == "recovered":
        assert amount is not None
        variance = _variance(result)
        if amount > variance or (amount <= 0 and not allow_zero):
            raise OutcomeInvalid(
                f"the recovered amount {_money(amount)} must be more than 0 and at most "
                f"the variance {_money(variance)}",
                details=[{"field": "amount", "max": _money(variance)}],
            )
        result.recovered_amount = amount
    result.status = outcome
    repo.add(
        session,
        _event(
            result,
            packet_id=result.filed_packet_id,
            before=before,
            after=outcome,
            actor=actor,
            amount=amount,
            note=note,
        ),
    )
    record(
        session,
        actor=actor,
        action="pricing_result.outcome",
        object_type="pricing_result",
        object_id=str(result.id),
        details={
            "from": before,
            "to": outcome,
            "amount": None if amount is None else _money(amount),
            "packet_id": None if result.filed_packet_id is None else str(result.filed_packet_id),
        },
    )


def _close_if_resolved(session: Session, packet_id: uuid.UUID) -> None:
    packet = repo.filed_packet(session, packet_id)
    if packet is None or packet.status == "closed":
        return
    disputed, _ = repo.packet_line_states(session, [packet_id]).get(packet_id, (0, ZERO))
    if disputed == 0:
        packet.status = "closed"
        packet.closed_at = utcnow()
        session.flush()


def _event(
    result: PricingResult,
    *,
    packet_id: uuid.UUID | None,
    before: str | None,
    after: str,
    actor: Actor,
    amount: Decimal | None = None,
    note: str | None = None,
) -> ResultEvent:
    return ResultEvent(
        pricing_result_id=result.id,
        packet_id=packet_id,
        from_status=before,
        to_status=after,
        amount=amount,
        note=note,
        actor_key_id=actor.key_id,
        actor_name=actor.name,
        at=utcnow(),
    )


def _variance(result: PricingResult) -> Decimal:
    return result.variance_amount if result.variance_amount is not None else ZERO


def _money(value: Decimal) -> str:
    return f"{to_cents(value):.2f}"


def _category_strings(by_category: dict[str, Decimal]) -> dict[str, str]:
    return {category: _money(by_category[category]) for category in sorted(by_category)}


def _stamp(as_of: date) -> datetime:
    return datetime.combine(as_of, time(), tzinfo=UTC)


# ----------------------------------------------------------------------- cursors


def _encode(kind: str, value: Any) -> str:
    raw = json.dumps([kind, value], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, kind: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found, value = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput("the cursor is not valid", details=[{"field": "cursor"}]) from None
    if found != kind:
        raise InvalidInput("the cursor is not for this list", details=[{"field": "cursor"}])
    return value


def _decode_line_cursor(cursor: str | None) -> repo.LineKey | None:
    if not cursor:
        return None
    value = _decode(cursor, "l")
    try:
        deadline, claim, position, result_id = value
        return (date.fromisoformat(deadline), str(claim), int(position), uuid.UUID(result_id))
    except (ValueError, TypeError):
        raise InvalidInput("the cursor is not valid", details=[{"field": "cursor"}]) from None


def _decode_filed_cursor(cursor: str | None) -> repo.FiledKey | None:
    if not cursor:
        return None
    value = _decode(cursor, "f")
    try:
        filed_date, filed_at, packet_id = value
        at = datetime.fromisoformat(filed_at)
        if at.tzinfo is None:
            raise ValueError(filed_at)
        return (date.fromisoformat(filed_date), at, uuid.UUID(packet_id))
    except (ValueError, TypeError):
        raise InvalidInput("the cursor is not valid", details=[{"field": "cursor"}]) from None


def _decode_position_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    value = _decode(cursor, "f")
    if not isinstance(value, int):
        raise InvalidInput("the cursor is not valid", details=[{"field": "cursor"}])
    return value


def _cut(rows: list[repo.ResultRow], limit: int | None) -> tuple[list[repo.ResultRow], str | None]:
    if limit is None or len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    deadline, claim, position, result_id = repo.line_key(rows[-1])
    return rows, _encode("l", [deadline.isoformat(), claim, position, str(result_id)])


# ------------------------------------------------------------------ letter material


def _document(
    session: Session,
    target: DisputePacket | tuple[str, str, str | None],
    *,
    as_of: date,
    contracts_path: Path | None,
) -> PacketDocument:
    """Gather what an export renders: lines in order, the claim payment of each, the
    parties, the contracts cited, and the overpaid lines of the same claims."""
    if isinstance(target, DisputePacket):
        pairs = repo.filed_packet_items(session, target.id)
        states = repo.packet_line_states(session, [target.id])
        packet = _filed_packet(target, states.get(target.id), as_of=as_of)
        # as filed: the snapshot, not what became of the line since
        items = [PricingResultRead.model_validate(item.snapshot) for item, _ in pairs]
        results = [result for _, result in pairs]
        rows = repo.rows_of_results(session, [r.id for r in results])
        remittances = [rows[r.id][3] for r in results]
        letter_date = target.filed_date
        stamp = target.filed_at
    else:
        practice, payer, name = target
        found = repo.open_packet_rows(session, practice_key=practice, payer_id=payer, as_of=as_of)
        packet = _open_summary(session, practice, payer, name, as_of=as_of)
        items = [PricingResultRead.from_rows(*row, as_of=as_of) for row in found]
        results = [row[0] for row in found]
        remittances = [row[3] for row in found]
        letter_date = as_of
        stamp = _stamp(as_of)
    latest = max(
        remittances,
        key=lambda r: (r.payment_date or date.min, str(r.id)),
        default=None,
    )
    siblings = repo.overpaid_siblings(
        session,
        claim_payment_ids=[r.claim_payment_id for r in results],
        exclude=[r.id for r in results],
    )
    contracts = _priced_under(session, results)
    return PacketDocument(
        packet=packet,
        items=items,
        claim_payment_ids=[str(r.claim_payment_id) for r in results],
        letterhead=_letterhead(packet.practice_npi, latest, contracts_path),
        addressee=_addressee(packet, contracts, latest),
        citations=_citations(contracts),
        letter_date=letter_date,
        context=[
            ContextLine(
                claim_payment_id=str(result.claim_payment_id),
                procedure="-".join([result.procedure_code or "", *result.modifiers]).strip("-"),
                service_date=result.service_date,
                variance=_variance(result),
                category=result.category,
            )
            for result, _ in siblings
        ],
        stamp=stamp,
    )


def _letterhead(
    practice: str, remittance: Remittance | None, contracts_path: Path | None
) -> Letterhead:
    """``practices.yaml`` beside the contracts (by NPI), else the 835's N1*PE/N3/N4."""
    if contracts_path is not None:
        found = load_practices(contracts_path).get(practice)
        if found is not None:
            return found
    if remittance is None:
        return Letterhead(npi=practice, name=practice, address_lines=())
    return Letterhead(
        name=remittance.payee_name or practice,
        address_lines=_address_lines(remittance.payee_address),
        npi=remittance.payee_npi or practice,
    )


def _address_lines(address: dict[str, Any] | None) -> tuple[str, ...]:
    """An 835 N3/N4 address (``{"lines", "city", "state", "postal_code"}``) as lines."""
    if not address:
        return ()
    lines = [str(line) for line in address.get("lines") or [] if line]
    city, state, postal = address.get("city"), address.get("state"), address.get("postal_code")
    last = " ".join(part for part in (state, postal) if part)
    if city or last:
        lines.append(", ".join(part for part in (city, last) if part))
    return tuple(lines)


def _addressee(
    packet: Packet,
    contracts: Sequence[tuple[ContractVersion | None, list[PricingResult]]],
    remittance: Remittance | None,
) -> Addressee:
    """The contract's payer name and address, else the 835's N1*PR/N3/N4."""
    for version, _ in contracts:
        if version is None:
            continue
        payer = (version.document or {}).get("payer") or {}
        if payer.get("address"):
            written = str(payer["address"]).replace(";", "\n").splitlines()
            return Addressee(
                name=payer.get("name") or version.payer_name,
                address_lines=tuple(part.strip() for part in written if part.strip()),
            )
    name = packet.payer_name or (remittance.payer_name if remittance else None) or packet.payer_id
    lines = _address_lines(remittance.payer_address) if remittance else ()
    return Addressee(name=name, address_lines=lines)


def _priced_under(
    session: Session, results: Sequence[PricingResult]
) -> list[tuple[ContractVersion | None, list[PricingResult]]]:
    """The results grouped by the contract version they were priced under
    (``contract_version_id``, else the current version of ``contract_id``; None when
    that contract is no longer stored), most lines first."""
    by_version, current = repo.contract_documents(
        session,
        version_ids=[r.contract_version_id for r in results if r.contract_version_id],
        contract_ids=[r.contract_id for r in results if r.contract_id],
    )
    grouped: dict[str, tuple[ContractVersion | None, list[PricingResult]]] = {}
    for result in results:
        version = by_version.get(result.contract_version_id) if result.contract_version_id else None
        if version is None and result.contract_id:
            version = current.get(result.contract_id)
        key = str(version.id) if version else f"id:{result.contract_id or ''}"
        grouped.setdefault(key, (version, []))[1].append(result)
    return sorted(grouped.values(), key=lambda pair: -len(pair[1]))


def _citations(
    contracts: Sequence[tuple[ContractVersion | None, list[PricingResult]]],
) -> list[ContractCitation]:
    """Per contract: name, id, effective dates and the clause of each category present
    (contracts.md "Clauses"); a missing clause is cited as the contract's name and
    date. A result whose contract is not stored is cited by its id and the clause it
    was priced under."""
    citations = []
    for version, members in contracts:
        document = (version.document if version else None) or {}
        contract_id = (version.contract_id if version else None) or members[0].contract_id or ""
        name = document.get("name") or (version.name if version else None) or contract_id
        effective_from = _as_date(document.get("effective_from")) or (
            version.effective_from if version else None
        )
        effective_to = _as_date(document.get("effective_to")) or (
            version.effective_to if version else None
        )
        clauses: dict[str, Any] = document.get("clauses") or {}
        fallback = f"{name}, effective {effective_from.isoformat()}" if effective_from else name
        cited: dict[str, str] = {}
        for category in _ordered({m.category for m in members}):
            text = clauses.get(CATEGORY_CLAUSE.get(category, ""))
            if not text and version is None:
                text = next(
                    (m.clause for m in members if m.category == category and m.clause), None
                )
            cited[category] = str(text or fallback)
        citations.append(
            ContractCitation(
                contract_id=contract_id,
                name=str(name),
                effective_from=effective_from,
                effective_to=effective_to,
                clauses=cited,
                dispute_window=_window_text(document, clauses.get("dispute_window"), fallback),
            )
        )
    return citations


def _window_text(document: dict[str, Any], clause: Any, fallback: str) -> str:
    months, days = document.get("dispute_window_months"), document.get("dispute_window_days")
    start = "the date of service" if document.get("dispute_window_from") == "service" else "payment"
    span = f"{months} months" if months else (f"{days} days" if days else "")
    cite = str(clause or fallback)
    return f"{cite}, {span} from {start}" if span else cite


def _ordered(categories: Iterable[str]) -> list[str]:
    order = {c: i for i, c in enumerate(DISPUTABLE_CATEGORIES)}
    return sorted(categories, key=lambda c: (order.get(c, len(order)), c))


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
