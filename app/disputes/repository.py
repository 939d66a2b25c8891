"""Queries of the dispute workflow (spec/disputes.md). All SQL of ``app.disputes``
lives here; the service turns rows into packets, reports and exports.

A packet line is a pricing result joined to its service line, claim payment and
remittance (``ResultRow``). Open packets are not stored: they are the open,
disputable results of one (practice, packet payer) whose deadline is on or after
``as_of`` (a result with no known deadline stays in the open packet, last). Lines are
ordered by deadline, then claim (CLP01), then position on the claim; pages continue
after a keyset cursor of those columns.

The aggregates over every disputable result (the dashboard's summary, the keys of
the open packets) read ``dispute_totals``, the per-key sums that triggers on
``pricing_results`` keep (app/db/models.py ``DisputeTotals``); the others read only
``pricing_results`` and are written so PostgreSQL answers them from partial covering
indexes (``ix_pricing_results_open_by_deadline`` and friends) without visiting the
table. benchmarks/RESULTS.md "Queries" has the plans.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    Subquery,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from app.db.models import (
    ClaimPayment,
    ContractVersion,
    DisputePacket,
    DisputePacketItem,
    DisputeTotals,
    PricingResult,
    Remittance,
    ServiceLine,
)
from app.db.types import to_cents
from app.disputes.schemas import DISPUTABLE_CATEGORIES

ResultRow = tuple[PricingResult, ServiceLine, ClaimPayment, Remittance]
# (deadline or SORT_END, CLP01, line position, result id): the keyset of packet lines
LineKey = tuple[date, str, int, uuid.UUID]

# results with no known deadline sort after every real one
SORT_END = date(9999, 12, 31)
ZERO = Decimal("0.00")


@dataclass(slots=True, frozen=True)
class PacketTotals:
    practice_key: str
    payer_id: str
    payer_name: str | None
    lines: int
    total: Decimal
    earliest_deadline: date | None


@dataclass(slots=True, frozen=True)
class StageTotals:
    lines: int
    variance: Decimal
    recovered: Decimal


@dataclass(slots=True, frozen=True)
class Rollup:
    """Disputable results of one payer, category, payment month or status."""

    key: Any  # payer id, category, first day of the month (None: undated) or status
    label: str | None  # the payer's name (the greatest), the category, or ""
    lines: int
    variance: Decimal
    recovered: Decimal


@dataclass(slots=True, frozen=True)
class DisputableSummary:
    """Every disputable result (whatever its status) summed by packet payer, by
    category, by month of payment and by status. ``expired`` are the open results past
    their deadline, counted in the ``open`` status too; ``stages`` moves them out."""

    by: dict[str, tuple[Rollup, ...]]  # "payer", "category", "payment_date", "status"
    expired: StageTotals

    def underpaid_by(self, dimension: str) -> list[tuple[Any, str | None, int, Decimal]]:
        """Variance sums by ``payer``, ``category`` or ``payment_date`` (the first day
        of the month, None when undated): key, label, lines, amount."""
        return [(r.key, r.label, r.lines, r.variance) for r in self.by.get(dimension, ())]

    def stages(self) -> dict[str, StageTotals]:
        """Lines, variance and recovered amount by dispute stage: the status, with the
        open results past their deadline as ``expired``. A stage with no line is
        left out."""
        out = {
            str(r.key): StageTotals(r.lines, r.variance, r.recovered)
            for r in self.by.get("status", ())
        }
        if self.expired.lines:
            still = out.get("open", StageTotals(0, ZERO, ZERO))
            out["open"] = StageTotals(
                lines=still.lines - self.expired.lines,
                variance=still.variance - self.expired.variance,
                recovered=still.recovered - self.expired.recovered,
            )
            out["expired"] = self.expired
            if not out["open"].lines:
                del out["open"]
        return out


# ----------------------------------------------------------------------- conditions


def _scope(scope: frozenset[str] | None) -> ColumnElement[bool]:
    if scope is None:
        return true()
    if not scope:
        return false()
    return PricingResult.practice_key.in_(sorted(scope))


def _disputable() -> ColumnElement[bool]:
    return and_(
        PricingResult.disputable.is_(True),
        PricingResult.category.in_(DISPUTABLE_CATEGORIES),
        PricingResult.practice_key.is_not(None),
        PricingResult.packet_payer_id.is_not(None),
    )


def _in_window(as_of: date) -> ColumnElement[bool]:
    """Open, disputable and not past its deadline: a line of the open packet."""
    return and_(
        PricingResult.status == "open",
        _disputable(),
        or_(PricingResult.dispute_deadline >= as_of, PricingResult.dispute_deadline.is_(None)),
    )


def _expired(as_of: date) -> ColumnElement[bool]:
    """Open, disputable and past its deadline (disputes.md: revenue lost to the window)."""
    return and_(
        PricingResult.status == "open", _disputable(), PricingResult.dispute_deadline < as_of
    )


def _sort_deadline() -> ColumnElement[date]:
    return func.coalesce(PricingResult.dispute_deadline, literal(SORT_END))


def _line_order() -> tuple[ColumnElement[Any], ...]:
    return (
        _sort_deadline(),
        ClaimPayment.claim_id.expression,
        ServiceLine.position.expression,
        PricingResult.id.expression,
    )


def line_key(row: ResultRow) -> LineKey:
    result, line, claim, _ = row
    return (result.dispute_deadline or SORT_END, claim.claim_id, line.position, result.id)


def _rows() -> Select[PricingResult, ServiceLine, ClaimPayment, Remittance]:
    return (
        select(PricingResult, ServiceLine, ClaimPayment, Remittance)
        .join(ServiceLine, ServiceLine.id == PricingResult.service_line_id)
        .join(ClaimPayment, ClaimPayment.id == PricingResult.claim_payment_id)
        .join(Remittance, Remittance.id == PricingResult.remittance_id)
    )


def _page(
    session: Session,
    condition: ColumnElement[bool],
    *,
    after: LineKey | None,
    limit: int | None,
    for_update: bool = False,
) -> list[ResultRow]:
    query = _rows().where(condition)
    if after is not None:
        query = query.where(tuple_(*_line_order()) > tuple_(*after))
    query = query.order_by(*_line_order())
    if limit is not None:
        query = query.limit(limit)
    if for_update:
        query = query.with_for_update(of=PricingResult)
    return [(r, li, c, rem) for r, li, c, rem in session.execute(query).all()]


# ---------------------------------------------------------------------- open packets


def _window_lines(
    *,
    as_of: date,
    scope: frozenset[str] | None,
    practice_key: str | None,
    payer_id: str | None,
) -> Subquery:
    """The lines of the open packets (or of one) as two ranges of the open-by-deadline
    index: dated on or after ``as_of``, and undated. (Written as one ``OR`` the bound
    is no index condition and every open result is read.)"""
    conditions: list[ColumnElement[bool]] = [
        PricingResult.status == "open",
        _disputable(),
        _scope(scope),
    ]
    if practice_key is not None:
        conditions.append(PricingResult.practice_key == practice_key)
    if payer_id is not None:
        conditions.append(PricingResult.packet_payer_id == payer_id)
    columns = (
        PricingResult.practice_key,
        PricingResult.packet_payer_id,
        PricingResult.packet_payer_name,
        PricingResult.category,
        PricingResult.variance_amount,
        PricingResult.dispute_deadline,
    )
    dated = select(*columns).where(*conditions, PricingResult.dispute_deadline >= as_of)
    undated = select(*columns).where(*conditions, PricingResult.dispute_deadline.is_(None))
    return union_all(dated, undated).subquery("window_lines")


def open_packet_totals(
    session: Session,
    *,
    as_of: date,
    scope: frozenset[str] | None,
    practice_key: str | None = None,
    payer_id: str | None = None,
) -> list[PacketTotals]:
    """Lines, total and earliest deadline of every open packet (or of one)."""
    lines = _window_lines(as_of=as_of, scope=scope, practice_key=practice_key, payer_id=payer_id)
    query = select(
        lines.c.practice_key,
        lines.c.packet_payer_id,
        func.max(lines.c.packet_payer_name),
        func.count(),
        func.coalesce(func.sum(lines.c.variance_amount), 0),
        func.min(lines.c.dispute_deadline),
    ).group_by(lines.c.practice_key, lines.c.packet_payer_id)
    return [
        PacketTotals(
            practice_key=str(practice),
            payer_id=str(payer),
            payer_name=name,
            lines=int(count),
            total=_money(total),
            earliest_deadline=earliest,
        )
        for practice, payer, name, count, total, earliest in session.execute(query).all()
    ]


def open_packet_categories(
    session: Session,
    *,
    as_of: date,
    scope: frozenset[str] | None,
    practice_key: str | None = None,
    payer_id: str | None = None,
) -> dict[tuple[str, str], dict[str, Decimal]]:
    """The variance sum per category of every open packet (or of one)."""
    lines = _window_lines(as_of=as_of, scope=scope, practice_key=practice_key, payer_id=payer_id)
    query = select(
        lines.c.practice_key,
        lines.c.packet_payer_id,
        lines.c.category,
        func.coalesce(func.sum(lines.c.variance_amount), 0),
    ).group_by(lines.c.practice_key, lines.c.packet_payer_id, lines.c.category)
    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    for practice, payer, category, total in session.execute(query).all():
        out.setdefault((str(practice), str(payer)), {})[category] = _money(total)
    return out


def _totals_scope(scope: frozenset[str] | None) -> ColumnElement[bool]:
    if scope is None:
        return true()
    if not scope:
        return false()
    return DisputeTotals.practice_key.in_(sorted(scope))


def _kept_totals(
    scope: frozenset[str] | None,
) -> Select[str, str, str | None, str, date | None, str, date | None, int, int, int]:
    """``dispute_totals`` summed per key (on PostgreSQL a key may have several delta
    rows), keys with no line left out: the live aggregate of the disputable results."""
    t = DisputeTotals
    key = (
        t.practice_key,
        t.packet_payer_id,
        t.packet_payer_name,
        t.category,
        t.payment_month,
        t.status,
        t.deadline_month,
    )
    return (
        select(
            *key,
            func.sum(t.lines).label("lines"),
            func.sum(t.variance_cents).label("variance_cents"),
            func.sum(t.recovered_cents).label("recovered_cents"),
        )
        .where(t.category.in_(DISPUTABLE_CATEGORIES), _totals_scope(scope))
        .group_by(*key)
        .having(func.sum(t.lines) != 0)
    )


def _payer_names(
    scope: frozenset[str] | None,
) -> Select[str, str, str | None, int, int, int]:
    """Per (practice, packet payer, payer name) with disputable results left: their
    line count and sums, off ``dispute_totals`` (a hash aggregate of its rows)."""
    t = DisputeTotals
    return (
        select(
            t.practice_key,
            t.packet_payer_id,
            t.packet_payer_name,
            func.sum(t.lines).label("lines"),
            func.sum(t.variance_cents).label("variance_cents"),
            func.sum(t.recovered_cents).label("recovered_cents"),
        )
        .where(t.category.in_(DISPUTABLE_CATEGORIES), _totals_scope(scope))
        .group_by(t.practice_key, t.packet_payer_id, t.packet_payer_name)
        .having(func.sum(t.lines) != 0)
    )


def packet_keys(
    session: Session, *, scope: frozenset[str] | None
) -> list[tuple[str, str, str | None]]:
    """Every (practice, packet payer, payer name) that has or had disputable results:
    the open packets whose id can be asked for, even while empty. Read off the
    totals (a few thousand rows, not every disputable result)."""
    names = _payer_names(scope).subquery("names")
    query = select(
        names.c.practice_key, names.c.packet_payer_id, func.max(names.c.packet_payer_name)
    ).group_by(names.c.practice_key, names.c.packet_payer_id)
    return [(str(p), str(y), n) for p, y, n in session.execute(query).all()]


def open_packet_rows(
    session: Session,
    *,
    practice_key: str,
    payer_id: str,
    as_of: date,
    after: LineKey | None = None,
    limit: int | None = None,
    for_update: bool = False,
) -> list[ResultRow]:
    condition = and_(
        _in_window(as_of),
        PricingResult.practice_key == practice_key,
        PricingResult.packet_payer_id == payer_id,
    )
    return _page(session, condition, after=after, limit=limit, for_update=for_update)


def expired_totals(session: Session, *, as_of: date, scope: frozenset[str] | None) -> StageTotals:
    """Open disputable results past their deadline: those of the whole deadline months
    before ``as_of``'s from ``dispute_totals``, and those of ``as_of``'s month before it
    from the open-by-deadline index (at most a month of entries, not every expired
    line). Open results have no recovered amount (nothing sets one before a dispute)."""
    month_start = as_of.replace(day=1)
    t = DisputeTotals
    kept = select(
        func.coalesce(func.sum(t.lines), 0),
        func.coalesce(func.sum(t.variance_cents), 0),
    ).where(
        t.status == "open",
        t.deadline_month < month_start,
        t.category.in_(DISPUTABLE_CATEGORIES),
        _totals_scope(scope),
    )
    months_lines, months_cents = session.execute(kept).one()
    days = select(func.count(), func.coalesce(func.sum(PricingResult.variance_amount), 0)).where(
        _expired(as_of), PricingResult.dispute_deadline >= month_start, _scope(scope)
    )
    count, total = session.execute(days).one()
    return StageTotals(
        lines=int(months_lines) + int(count),
        variance=_from_cents(months_cents) + _money(total),
        recovered=ZERO,
    )


def expired_rows(
    session: Session,
    *,
    as_of: date,
    scope: frozenset[str] | None,
    after: LineKey | None = None,
    limit: int | None = None,
) -> list[ResultRow]:
    return _page(session, and_(_expired(as_of), _scope(scope)), after=after, limit=limit)


# -------------------------------------------------------------------- filed packets


def _packet_scope(scope: frozenset[str] | None) -> ColumnElement[bool]:
    if scope is None:
        return true()
    if not scope:
        return false()
    return DisputePacket.practice_key.in_(sorted(scope))


# filed packets newest first: (filed_date, filed_at, id), all descending
FiledKey = tuple[date, datetime, uuid.UUID]


def filed_key(packet: DisputePacket) -> FiledKey:
    return (packet.filed_date, packet.filed_at, packet.id)


def filed_packets(
    session: Session,
    *,
    scope: frozenset[str] | None,
    after: FiledKey | None = None,
    limit: int | None = None,
) -> list[DisputePacket]:
    """Filed (and closed) packets newest first; ``after`` a key, the ones past it."""
    columns = (DisputePacket.filed_date, DisputePacket.filed_at, DisputePacket.id)
    query = select(DisputePacket).where(_packet_scope(scope))
    if after is not None:
        bound = (literal(value, column.type) for value, column in zip(after, columns, strict=True))
        query = query.where(tuple_(*columns) < tuple_(*bound))
    query = query.order_by(*(column.desc() for column in columns))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def filed_packet(
    session: Session, packet_id: uuid.UUID, *, for_update: bool = False
) -> DisputePacket | None:
    query = select(DisputePacket).where(DisputePacket.id == packet_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def filed_packet_items(
    session: Session,
    packet_id: uuid.UUID,
    *,
    after_position: int | None = None,
    limit: int | None = None,
) -> list[tuple[DisputePacketItem, PricingResult]]:
    query = (
        select(DisputePacketItem, PricingResult)
        .join(PricingResult, PricingResult.id == DisputePacketItem.pricing_result_id)
        .where(DisputePacketItem.packet_id == packet_id)
    )
    if after_position is not None:
        query = query.where(DisputePacketItem.position > after_position)
    query = query.order_by(DisputePacketItem.position)
    if limit is not None:
        query = query.limit(limit)
    return [(item, result) for item, result in session.execute(query).all()]


def packet_line_states(
    session: Session, packet_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, Decimal]]:
    """Per filed packet: how many of its lines are still ``disputed`` and the sum of
    what was recovered on them."""
    if not packet_ids:
        return {}
    query = (
        select(
            DisputePacketItem.packet_id,
            func.sum(case((PricingResult.status == "disputed", 1), else_=0)),
            func.coalesce(func.sum(PricingResult.recovered_amount), 0),
        )
        .join(PricingResult, PricingResult.id == DisputePacketItem.pricing_result_id)
        .where(DisputePacketItem.packet_id.in_(list(packet_ids)))
        .group_by(DisputePacketItem.packet_id)
    )
    return {
        packet_id: (int(disputed or 0), _money(recovered))
        for packet_id, disputed, recovered in session.execute(query).all()
    }


def disputed_results_of_packet(
    session: Session, packet_id: uuid.UUID
) -> list[tuple[PricingResult, int]]:
    """The packet's lines still ``disputed`` with their position, locked for update."""
    query = (
        select(PricingResult, DisputePacketItem.position)
        .join(DisputePacketItem, DisputePacketItem.pricing_result_id == PricingResult.id)
        .where(DisputePacketItem.packet_id == packet_id, PricingResult.status == "disputed")
        .order_by(DisputePacketItem.position)
        .with_for_update(of=PricingResult)
    )
    return [(result, int(position)) for result, position in session.execute(query).all()]


def rows_of_results(
    session: Session, result_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ResultRow]:
    ids = list(result_ids)
    if not ids:
        return {}
    query = _rows().where(PricingResult.id.in_(ids))
    return {r.id: (r, li, c, rem) for r, li, c, rem in session.execute(query).all()}


def result_for_update(session: Session, result_id: uuid.UUID) -> PricingResult | None:
    query = select(PricingResult).where(PricingResult.id == result_id).with_for_update()
    return session.scalars(query).first()


def add(session: Session, *rows: object) -> None:
    session.add_all(rows)
    session.flush()


# ------------------------------------------------------------------ letter material


def contract_documents(
    session: Session, *, version_ids: Iterable[uuid.UUID], contract_ids: Iterable[str]
) -> tuple[dict[uuid.UUID, ContractVersion], dict[str, ContractVersion]]:
    """Contract versions by id, and the current version of each contract id (for a
    result that names its contract but not the version)."""
    by_version: dict[uuid.UUID, ContractVersion] = {}
    versions = list(set(version_ids))
    if versions:
        for row in session.scalars(select(ContractVersion).where(ContractVersion.id.in_(versions))):
            by_version[row.id] = row
    current: dict[str, ContractVersion] = {}
    ids = sorted(set(contract_ids))
    if ids:
        query = (
            select(ContractVersion)
            .where(ContractVersion.contract_id.in_(ids))
            .order_by(ContractVersion.contract_id, ContractVersion.version)
        )
        for row in session.scalars(query):
            if row.is_current or row.contract_id not in current:
                current[row.contract_id] = row
    return by_version, current


def overpaid_siblings(
    session: Session, *, claim_payment_ids: Iterable[uuid.UUID], exclude: Iterable[uuid.UUID]
) -> list[tuple[PricingResult, ServiceLine]]:
    """Overpaid lines of the packet's claims: shown beside its lines, never netted."""
    claims = list(set(claim_payment_ids))
    if not claims:
        return []
    query = (
        select(PricingResult, ServiceLine)
        .join(ServiceLine, ServiceLine.id == PricingResult.service_line_id)
        .where(
            PricingResult.claim_payment_id.in_(claims),
            PricingResult.category == "overpaid",
            PricingResult.id.not_in(list(exclude)),
        )
        .order_by(ServiceLine.position)
    )
    return [(r, li) for r, li in session.execute(query).all()]


# -------------------------------------------------------------------------- reports


def category_rows(
    session: Session, *, category: str, scope: frozenset[str] | None
) -> list[ResultRow]:
    """Every result of one category (overpaid, denied), by payment date then claim."""
    query = (
        _rows()
        .where(PricingResult.category == category, _scope(scope))
        .order_by(
            PricingResult.payment_date,
            ClaimPayment.claim_id,
            ServiceLine.position,
            PricingResult.id,
        )
    )
    return [(r, li, c, rem) for r, li, c, rem in session.execute(query).all()]


def sub_tolerance_groups(
    session: Session, *, scope: frozenset[str] | None
) -> list[tuple[str, str | None, str, int, int, int, Decimal]]:
    """Matched results with a non-zero variance per (payer, billed code): payer id and
    name, code, lines, underpaid lines, overpaid lines, variance sum."""
    payer = func.coalesce(PricingResult.packet_payer_id, PricingResult.payer_id, "")
    code = func.coalesce(PricingResult.procedure_code, "")
    query = (
        select(
            payer,
            func.max(PricingResult.packet_payer_name),
            code,
            func.count(),
            func.sum(case((PricingResult.variance_amount > 0, 1), else_=0)),
            func.sum(case((PricingResult.variance_amount < 0, 1), else_=0)),
            func.coalesce(func.sum(PricingResult.variance_amount), 0),
        )
        .where(
            PricingResult.category == "matched",
            PricingResult.variance_amount.is_not(None),
            PricingResult.variance_amount != 0,
            _scope(scope),
        )
        .group_by(payer, code)
        .order_by(payer, code)
    )
    return [
        (str(p), name, str(c), int(n), int(pos or 0), int(neg or 0), _money(total))
        for p, name, c, n, pos, neg, total in session.execute(query).all()
    ]


def disputable_summary(
    session: Session, *, as_of: date, scope: frozenset[str] | None
) -> DisputableSummary:
    """Lines, variance and recovered sums of every disputable result (every status) by
    packet payer, by category, by month of payment and by status, rolled up in SQL off
    ``dispute_totals`` (one statement, a few dozen rows back); and the open results past
    their deadline (``expired_totals``), which ``stages`` moves out of ``open``."""
    t = DisputeTotals
    counted = (t.category.in_(DISPUTABLE_CATEGORIES), _totals_scope(scope))
    sums = (func.sum(t.lines), func.sum(t.variance_cents), func.sum(t.recovered_cents))
    no_text = literal(None, String())
    no_date = literal(None, Date())

    def by(label: str, key: Any, name: Any, month: Any) -> Select[Any]:
        # a group whose lines net to 0 has no result left (its sums are 0 too)
        return (
            select(literal(label), key, name, month, *sums)
            .where(*counted)
            .group_by(key if month is no_date else month)
            .having(func.sum(t.lines) != 0)
        )

    # the payer's name: the greatest of the names that still have lines
    names = _payer_names(scope).subquery("names")
    rollups = union_all(
        select(
            literal("payer"),
            names.c.packet_payer_id,
            func.max(names.c.packet_payer_name),
            no_date,
            func.sum(names.c.lines),
            func.sum(names.c.variance_cents),
            func.sum(names.c.recovered_cents),
        ).group_by(names.c.packet_payer_id),
        by("category", t.category, t.category, no_date),
        by("payment_date", no_text, literal(""), t.payment_month),
        by("status", t.status, t.status, no_date),
    )
    rolled: dict[str, list[Rollup]] = {}
    for dimension, key, label, month, n, variance, recovered in session.execute(rollups).all():
        rolled.setdefault(str(dimension), []).append(
            Rollup(
                key=month if dimension == "payment_date" else key,
                label=label,
                lines=int(n),
                variance=_from_cents(variance),
                recovered=_from_cents(recovered),
            )
        )
    expired = expired_totals(session, as_of=as_of, scope=scope)
    return DisputableSummary(by={k: tuple(v) for k, v in rolled.items()}, expired=expired)


# per key: (practice, packet payer, payer name, category, first day of the payment
# month or None, status, first day of an open result's deadline month or None) ->
# (lines, variance, recovered)
TotalsKey = tuple[str, str, str | None, str, date | None, str, date | None]
Totals = dict[TotalsKey, tuple[int, Decimal, Decimal]]


def kept_totals(session: Session) -> Totals:
    """The stored totals per key, summed (what the dashboard reads)."""
    kept = _kept_totals(None).subquery("kept_totals")
    return {
        (str(p), str(y), name, str(c), month, str(st), due): (
            int(n),
            _from_cents(variance),
            _from_cents(recovered),
        )
        for p, y, name, c, month, st, due, n, variance, recovered in session.execute(
            select(kept)
        ).all()
    }


def compact_totals(session: Session) -> int:
    """Fold ``dispute_totals``' delta rows into one row per key (PostgreSQL; the
    triggers also do it every ~1,000 deltas); rows another transaction is folding are
    skipped. Returns how many rows went. SQLite keeps one row per key already."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    return int(session.execute(select(func.dispute_totals_compact())).scalar_one())


def expiring_next(
    session: Session, *, as_of: date, scope: frozenset[str] | None, limit: int
) -> list[tuple[str, str, str | None, date, int, Decimal]]:
    """The next deadlines of open lines: practice, payer, payer name, deadline, lines,
    amount — earliest first."""
    query = (
        select(
            PricingResult.practice_key,
            PricingResult.packet_payer_id,
            func.max(PricingResult.packet_payer_name),
            PricingResult.dispute_deadline,
            func.count(),
            func.coalesce(func.sum(PricingResult.variance_amount), 0),
        )
        .where(
            PricingResult.status == "open",
            _disputable(),
            PricingResult.dispute_deadline >= as_of,  # an undated line has none to come
            _scope(scope),
        )
        .group_by(
            PricingResult.dispute_deadline,
            PricingResult.practice_key,
            PricingResult.packet_payer_id,
        )
        .order_by(
            PricingResult.dispute_deadline,
            PricingResult.practice_key,
            PricingResult.packet_payer_id,
        )
        .limit(limit)
    )
    return [
        (str(p), str(y), name, d, int(n), _money(total))
        for p, y, name, d, n, total in session.execute(query).all()
        if d is not None
    ]


def window_total(
    session: Session, *, as_of: date, until: date, scope: frozenset[str] | None
) -> Decimal:
    """The variances of open lines whose deadline falls between ``as_of`` and ``until``."""
    query = select(func.coalesce(func.sum(PricingResult.variance_amount), 0)).where(
        PricingResult.status == "open",
        _disputable(),
        PricingResult.dispute_deadline >= as_of,
        PricingResult.dispute_deadline <= until,
        _scope(scope),
    )
    return _money(session.execute(query).scalar_one())


def category_totals(
    session: Session, *, scope: frozenset[str] | None, categories: Sequence[str] | None = None
) -> dict[str, tuple[int, Decimal]]:
    """Lines and variance sum of every category, or of the ones named (each then a
    range of an index instead of a pass over every result)."""
    query = (
        select(
            PricingResult.category,
            func.count(),
            func.coalesce(func.sum(PricingResult.variance_amount), 0),
        )
        .where(_scope(scope))
        .group_by(PricingResult.category)
    )
    if categories is not None:
        query = query.where(PricingResult.category.in_(sorted(set(categories))))
    return {
        str(category): (int(n), _money(total))
        for category, n, total in session.execute(query).all()
    }


def recovered_by_payer(
    session: Session, *, scope: frozenset[str] | None
) -> list[tuple[str, str | None, int, Decimal, Decimal]]:
    payer = func.coalesce(PricingResult.packet_payer_id, PricingResult.payer_id, "")
    query = (
        select(
            payer,
            func.max(PricingResult.packet_payer_name),
            func.count(),
            func.coalesce(func.sum(PricingResult.variance_amount), 0),
            func.coalesce(func.sum(PricingResult.recovered_amount), 0),
        )
        .where(PricingResult.status == "recovered", _scope(scope))
        .group_by(payer)
        .order_by(payer)
    )
    return [
        (str(p), name, int(n), _money(v), _money(r))
        for p, name, n, v, r in session.execute(query).all()
    ]


def _from_cents(value: Any) -> Decimal:
    """A sum of integer cents (int, or Decimal from PostgreSQL's SUM of bigint)."""
    return Decimal(int(value or 0)).scaleb(-2)


def _money(value: Any) -> Decimal:
    """A SUM comes back as Decimal (PostgreSQL) or a float (SQLite's NUMERIC affinity):
    read it through ``str`` and keep cents."""
    return to_cents(Decimal(str(value if value is not None else 0)))
