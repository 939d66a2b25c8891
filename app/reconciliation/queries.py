"""The queries the faces show of stored ERA files: a file's summary, the file list and
one file's detail, and the variance list (spec/interfaces.md). Reads only, each
recorded in the audit log; the lists keyset-paginated with opaque cursors.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.access.audit import record
from app.access.schemas import Actor
from app.errors import InvalidInput, NotFound
from app.reconciliation import repository
from app.reconciliation.schemas import (
    FileListItem,
    FileSummary,
    Page,
    PayeeRef,
    PayerRef,
    PaymentRef,
    PricingResultRead,
    RemittanceSummary,
    merge_warnings,
    money,
)

MAX_PAGE = 200

# ------------------------------------------------------------------------ summary


def parse_id(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("no such file") from None


def file_summary(
    session: Session, *, file_id: uuid.UUID | str, actor: Actor, audit: bool = True
) -> FileSummary:
    """The File summary of interfaces.md. ``underpaid_total`` sums the variances of
    the file's disputable results; ``categories`` sums them by category. A
    practice-limited actor sees only its practices' remittances of the file."""
    file = repository.file_row(session, parse_id(file_id))
    if file is None or file.status != "processed":
        raise NotFound("no such file")
    scope = actor.scope()
    remittances = repository.remittances_of_file(session, file.id, scope)
    if scope is not None and not remittances:
        raise NotFound("no such file")
    totals = repository.underpaid_by_remittance(session, [file.id], [r.id for r in remittances])
    categories: dict[str, Decimal] = {}
    items: list[RemittanceSummary] = []
    warnings = list(file.warnings)
    for r in remittances:
        by_category = totals.get(r.id, {})
        for category, amount in by_category.items():
            categories[category] = categories.get(category, Decimal(0)) + amount
        warnings = merge_warnings(warnings, r.warnings)
        items.append(
            RemittanceSummary(
                id=str(r.id),
                payer=PayerRef(id=r.payer_id, name=r.payer_name),
                payee=PayeeRef(npi=r.payee_npi or r.practice_key, name=r.payee_name),
                payment=PaymentRef(
                    amount=f"{r.payment_amount:.2f}", date=r.payment_date, trace=r.trace_number
                ),
                claims=r.claims_count,
                underpaid_total=f"{sum(by_category.values(), Decimal(0)):.2f}",
            )
        )
    if audit:
        record(
            session,
            actor=actor,
            action="files.summary",
            object_type="era_file",
            object_id=str(file.id),
            details={"remittances": len(items)},
        )
    return FileSummary(
        id=str(file.id),
        filename=file.filename,
        received_at=file.received_at,
        claims=file.claims_count,
        duplicates=file.duplicates_count,
        lines=file.lines_count,
        underpaid_total=f"{sum(categories.values(), Decimal(0)):.2f}",
        categories={k: f"{v:.2f}" for k, v in sorted(categories.items())},
        warnings=warnings,
        validation_status=file.validation_status,
        remittances=items,
    )


# ---------------------------------------------------------------------- cursors


def _encode_cursor(values: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise InvalidInput("invalid cursor") from None
    if (
        not isinstance(values, list)
        or len(values) != size
        or not all(isinstance(v, str) for v in values)
    ):
        raise InvalidInput("invalid cursor")
    return values


def _limit(limit: int) -> int:
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    return min(limit, MAX_PAGE)


# ------------------------------------------------------------------------ files


def list_files(
    session: Session,
    *,
    actor: Actor,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[FileListItem]:
    """Stored files, newest first. ``q`` searches claim id (CLP01), payer claim
    number (CLP07), patient name and trace number (TRN02)."""
    limit = _limit(limit)
    after = None
    if cursor:
        received, file_id = _decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(received), uuid.UUID(file_id))
        except ValueError:
            raise InvalidInput("invalid cursor") from None
    scope = actor.scope()
    files = repository.list_files(session, scope=scope, q=q, after=after, limit=limit + 1)
    more = len(files) > limit
    files = files[:limit]
    ids = [f.id for f in files]
    heads = repository.remittance_heads(session, ids, scope) if ids else []
    payers: dict[uuid.UUID, list[str]] = {}
    counts: dict[uuid.UUID, list[uuid.UUID]] = {}
    for head in heads:
        counts.setdefault(head.file_id, []).append(head.id)
        names = payers.setdefault(head.file_id, [])
        if head.payer_name and head.payer_name not in names:
            names.append(head.payer_name)
    totals = repository.underpaid_by_remittance(session, ids, [h.id for h in heads])

    def underpaid(file_id: uuid.UUID) -> str:
        amounts = (sum(totals.get(r, {}).values(), Decimal(0)) for r in counts.get(file_id, []))
        return f"{sum(amounts, Decimal(0)):.2f}"

    items = [
        FileListItem(
            id=str(f.id),
            filename=f.filename,
            received_at=f.received_at,
            claims=f.claims_count,
            duplicates=f.duplicates_count,
            lines=f.lines_count,
            remittances=len(counts.get(f.id, [])),
            payers=payers.get(f.id, []),
            underpaid_total=underpaid(f.id),
            warnings=len(f.warnings),
            validation_status=f.validation_status,
        )
        for f in files
    ]
    next_cursor = (
        _encode_cursor([files[-1].received_at.isoformat(), str(files[-1].id)]) if more else None
    )
    record(
        session,
        actor=actor,
        action="files.list",
        details={"count": len(items), "searched": bool(q)},
    )
    return Page[FileListItem](items=items, next_cursor=next_cursor)


def file_detail(
    session: Session, *, file_id: uuid.UUID | str, actor: Actor, as_of: date
) -> dict[str, Any]:
    """One file with its remittances, claims, lines, adjustments, warnings and
    pricing results (``GET /v1/remittances/{id}``), as JSON-ready values."""
    summary = file_summary(session, file_id=file_id, actor=actor, audit=False)
    file = repository.file_row(session, parse_id(file_id))
    assert file is not None
    remittances = repository.remittances_of_file(session, file.id, actor.scope())
    by_id = {r.id: r for r in remittances}
    claims = repository.claims_of_remittances(session, list(by_id))
    claim_ids = [c.id for c in claims]
    lines = repository.lines_of_claims(session, claim_ids)
    adjustments = repository.adjustments_of_claims(claims, lines)
    results = repository.results_of_claim_rows(session, claim_ids)
    plbs = repository.plb_of_remittances(session, list(by_id))
    claim_by_id = {c.id: c for c in claims}
    result_by_line = {r.service_line_id: r for r in results}
    adj_by_line: dict[uuid.UUID | None, list[dict[str, Any]]] = {}
    claim_adjs: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for (claim_id, line_id), owned in adjustments.items():
        items = [
            {
                "group": a.group_code,
                "reason": a.reason_code,
                "carc": f"{a.group_code}-{a.reason_code}",
                "amount": money(a.amount),
                "quantity": None if a.quantity is None else str(a.quantity),
            }
            for a in owned
        ]
        if line_id is None:
            claim_adjs[claim_id] = items
        else:
            adj_by_line[line_id] = items
    lines_by_claim: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for line in lines:
        claim = claim_by_id[line.claim_payment_id]
        result = result_by_line.get(line.id)
        lines_by_claim.setdefault(line.claim_payment_id, []).append(
            {
                "id": str(line.id),
                "position": line.position,
                "procedure_qualifier": line.procedure_qualifier,
                "procedure": line.procedure_code,
                "modifiers": list(line.modifiers),
                "charge": money(line.charge_amount),
                "paid": money(line.paid_amount),
                "revenue_code": line.revenue_code,
                "units": None if line.units is None else str(line.units),
                "original_procedure": line.original_procedure_code,
                "original_modifiers": list(line.original_modifiers),
                "original_units": None if line.original_units is None else str(line.original_units),
                "service_date": iso_date(line.service_date),
                "service_end_date": iso_date(line.service_end_date),
                "line_control_number": line.line_control_number,
                "allowed": money(line.allowed_amount),
                "remark_codes": list(line.remark_codes),
                "adjustments": adj_by_line.get(line.id, []),
                "pricing_result": (
                    None
                    if result is None
                    else PricingResultRead.from_rows(
                        result, line, claim, by_id[claim.remittance_id], as_of=as_of
                    ).model_dump(mode="json")
                ),
            }
        )
    claims_by_remittance: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for c in claims:
        claims_by_remittance.setdefault(c.remittance_id, []).append(
            {
                "id": str(c.id),
                "position": c.position,
                "claim_id": c.claim_id,
                "status_code": c.status_code,
                "charge": money(c.charge_amount),
                "paid": money(c.paid_amount),
                "patient_responsibility": money(c.patient_responsibility_amount),
                "filing_indicator": c.filing_indicator,
                "payer_claim_number": c.payer_claim_number,
                "place_of_service": c.place_of_service,
                "frequency_code": c.frequency_code,
                "patient_name": c.patient_name,
                "patient_member_id": c.patient_member_id,
                "insured_name": c.insured_name,
                "insured_member_id": c.insured_member_id,
                "statement_from_date": iso_date(c.statement_from_date),
                "statement_to_date": iso_date(c.statement_to_date),
                "remark_codes": list(c.remark_codes),
                "reverses_id": None if c.reverses_id is None else str(c.reverses_id),
                "reversed_by_id": None if c.reversed_by_id is None else str(c.reversed_by_id),
                "adjustments": claim_adjs.get(c.id, []),
                "lines": lines_by_claim.get(c.id, []),
            }
        )
    plb_by_remittance: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for p in plbs:
        plb_by_remittance.setdefault(p.remittance_id, []).append(
            {
                "provider_id": p.provider_id,
                "fiscal_period_date": iso_date(p.fiscal_period_date),
                "reason_code": p.reason_code,
                "reference_id": p.reference_id,
                "amount": money(p.amount),
            }
        )
    summaries = {s.id: s for s in summary.remittances}
    detail = summary.model_dump(mode="json")
    detail["size_bytes"] = file.size_bytes
    detail["content_hash"] = file.content_hash
    detail["validation_findings"] = list(file.validation_findings)
    detail["remittances"] = [
        {
            **summaries[str(r.id)].model_dump(mode="json"),
            "position": r.position,
            "control_number": r.control_number,
            "version": r.version,
            "payment_method": r.payment_method,
            "credit_debit": r.credit_debit,
            "production_date": iso_date(r.production_date),
            "payer_address": r.payer_address,
            "payee_address": r.payee_address,
            "payee_tin": r.payee_tin,
            "warnings": list(r.warnings),
            "provider_adjustments": plb_by_remittance.get(r.id, []),
            "claim_payments": claims_by_remittance.get(r.id, []),
        }
        for r in remittances
    ]
    record(
        session,
        actor=actor,
        action="files.read",
        object_type="era_file",
        object_id=str(file.id),
        details={"claims": len(claims), "results": len(results)},
    )
    return detail


def iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


# -------------------------------------------------------------------- variances


def list_variances(
    session: Session,
    *,
    actor: Actor,
    payer_id: str | None = None,
    category: str | None = None,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    q: str | None = None,
    include_all: bool = False,
    cursor: str | None = None,
    limit: int = 50,
    as_of: date,
) -> Page[PricingResultRead]:
    """Pricing results, earliest dispute deadline first (results without a deadline
    last), then by id; keyset-paginated with an opaque cursor. Without
    ``include_all`` (or a ``category``) ``matched`` and ``reversed`` results are left
    out. ``date_from``/``date_to`` bound the payment date."""
    limit = _limit(limit)
    after = None
    if cursor:
        deadline, result_id = _decode_cursor(cursor, 2)
        try:
            after = (date.fromisoformat(deadline), uuid.UUID(result_id))
        except ValueError:
            raise InvalidInput("invalid cursor") from None
    filters: dict[str, Any] = {
        "scope": actor.scope(),
        "payer_id": payer_id,
        "category": category,
        "status": status,
        "date_from": date_from,
        "date_to": date_to,
        "q": q,
        "include_all": include_all,
        "as_of": as_of,
    }
    dated = date_from is not None or date_to is not None
    # a payment-date range alone, over every practice, is read day by day where the
    # database can (each day's results in deadline order). Any other filter may keep
    # none of a day's results (a day's payments are one remittance: one payer, one
    # practice), and every such day would be read through: those are sorted or walked
    by_day = dated and not (payer_id or category or status or q) and filters["scope"] is None
    days = repository.paid_days(session, date_from=date_from, date_to=date_to) if by_day else None
    if days is not None:
        ids = repository.variance_query(**filters, ids_only=True)
        rows = repository.page_variances_by_day(session, ids, days, after=after, limit=limit + 1)
    elif dated and repository.few_paid_between(session, date_from=date_from, date_to=date_to):
        ids = repository.variance_query(**filters, ids_only=True)
        rows = repository.page_variances_sorted(session, ids, after=after, limit=limit + 1)
    else:
        query = repository.variance_query(**filters)
        rows = repository.page_variances(session, query, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        PricingResultRead.from_rows(result, line, claim, remittance, as_of=as_of)
        for result, line, claim, remittance in rows
    ]
    next_cursor = None
    if more:
        last = rows[-1][0]
        key = last.dispute_deadline or repository.NO_DEADLINE
        next_cursor = _encode_cursor([key.isoformat(), str(last.id)])
    record(
        session,
        actor=actor,
        action="variances.read",
        details={"count": len(items), "searched": bool(q)},
    )
    return Page[PricingResultRead](items=items, next_cursor=next_cursor)
