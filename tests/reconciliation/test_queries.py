"""The queries behind the faces: variances with filters and keyset pages, file lists,
file detail, deleting a file, and re-pricing after a contract changes."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR, Actor, Role
from app.contracts.service import load_paths
from app.db import models
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.reconciliation import repository
from app.reconciliation.queries import file_detail, file_summary, list_files, list_variances
from app.reconciliation.schemas import FileResult
from app.reconciliation.service import delete_file, reprice
from tests.reconciliation.builders import write_contract
from tests.reconciliation.conftest import Ingest, results_by_lcn, row_counts

AS_OF = date(2026, 11, 27)
OWN = Actor(name="poster", role=Role.POSTER, practices=frozenset({"1326048597"}))
OTHER = Actor(name="other", role=Role.FINANCE, practices=frozenset({"1999999999"}))


@pytest.fixture
def stored(session: Session, contract: None, examples: Path, ingest: Ingest) -> list[FileResult]:
    return [
        ingest((examples / name).read_bytes(), filename=name)
        for name in ("prairie-2026-06-15.835", "prairie-2026-07-20-reversal.835")
    ]


def all_variances(session: Session, actor: Actor = CLI_ACTOR, **filters: object) -> list[str]:
    page = list_variances(session, actor=actor, as_of=AS_OF, limit=200, **filters)  # type: ignore[arg-type]
    assert page.next_cursor is None
    return [item.line_control_number or "" for item in page.items]


# ------------------------------------------------------------------------ variances


def test_pages_walk_every_result_once_earliest_deadline_first(
    session: Session, stored: list[FileResult]
) -> None:
    seen = []
    deadlines = []
    cursor = None
    while True:
        page = list_variances(
            session, actor=CLI_ACTOR, include_all=True, cursor=cursor, limit=4, as_of=AS_OF
        )
        assert len(page.items) <= 4
        seen.extend(item.id for item in page.items)
        deadlines.extend(item.dispute_deadline for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 15
    assert deadlines == sorted(deadlines)  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"E1B", "E3B", "E4A", "E7A", "E8A"}),
        ({"category": "reversed"}, {"E2A", "E2B"}),
        ({"category": "matched"}, {"E1A", "E3A", "E5A", "E5B", "E6A", "E6B", "E2C", "E2D"}),
        ({"q": "e4"}, {"E4A"}),
        ({"q": "PHP0720", "include_all": True}, {"E2C", "E2D"}),
        ({"q": "doe, jane", "category": "denied"}, {"E7A"}),
        ({"payer_id": "55123", "category": "exempt_reduced"}, {"E3B"}),
        ({"payer_id": "99999"}, set()),
        ({"status": "open", "category": "bilateral_underpaid"}, {"E4A"}),
        ({"date_from": date(2026, 7, 1), "include_all": True}, {"E2C", "E2D"}),
        ({"date_to": date(2026, 6, 30), "category": "reversed"}, {"E2A", "E2B"}),
    ],
)
def test_filters(
    session: Session, stored: list[FileResult], filters: dict[str, object], expected: set[str]
) -> None:
    assert set(all_variances(session, **filters)) == expected


def test_expired_status_is_derived_from_the_deadline(
    session: Session, stored: list[FileResult]
) -> None:
    later = list_variances(
        session, actor=CLI_ACTOR, status="expired", as_of=date(2027, 6, 16), limit=50
    )
    assert {i.line_control_number for i in later.items} == {"E1B", "E3B", "E4A"}
    assert all(i.expired for i in later.items)
    assert all_variances(session, status="expired") == []


def test_practice_scope_and_audit(session: Session, stored: list[FileResult]) -> None:
    assert len(all_variances(session, OWN, include_all=True)) == 15
    assert all_variances(session, OTHER, include_all=True) == []

    entries = session.scalars(
        select(models.AuditEntry).where(models.AuditEntry.action == "variances.read")
    ).all()
    # one entry per read, counting what that actor was shown (the rows come back in
    # no particular order)
    assert sorted((e.actor_name, e.details["count"]) for e in entries) == [
        ("other", 0),
        ("poster", 15),
    ]


def _pages(session: Session, **filters: object) -> list[tuple[list[str], str | None]]:
    pages = []
    cursor = None
    while True:
        page = list_variances(
            session,
            actor=CLI_ACTOR,
            as_of=AS_OF,
            limit=2,
            cursor=cursor,
            **filters,  # type: ignore[arg-type]
        )
        pages.append(([str(item.id) for item in page.items], page.next_cursor))
        cursor = page.next_cursor
        if cursor is None:
            return pages


@pytest.mark.parametrize(
    "filters",
    [
        {"date_from": date(2026, 6, 1), "include_all": True},
        {"date_to": date(2026, 6, 30)},
        {"date_from": date(2026, 7, 1), "date_to": date(2026, 7, 31), "include_all": True},
        {"date_from": date(2026, 6, 16), "date_to": date(2026, 6, 16)},  # nothing paid
        {"date_from": date(2026, 6, 1), "q": "e", "include_all": True},  # the search joins
    ],
)
def test_a_payment_date_filter_pages_alike_by_day_sorted_or_walked(
    session: Session,
    stored: list[FileResult],
    monkeypatch: pytest.MonkeyPatch,
    filters: dict,
    is_postgres: bool,
) -> None:
    """On PostgreSQL a range of few days is read day by day; elsewhere (or past
    ``MERGED_DAYS_AT_MOST``) few results in the dates are sorted, many walked in
    deadline order: the same pages and cursors every way."""
    dates = {"date_from": filters.get("date_from"), "date_to": filters.get("date_to")}
    days = repository.paid_days(session, **dates)
    assert (days is not None) == is_postgres
    first_pages = _pages(session, **filters)
    monkeypatch.setattr(repository, "MERGED_DAYS_AT_MOST", 0)  # no range is read by day
    assert repository.paid_days(session, date_from=None, date_to=None) is None
    assert repository.few_paid_between(session, **dates)
    assert _pages(session, **filters) == first_pages
    monkeypatch.setattr(repository, "SORTED_AT_MOST", 0)  # nothing counts as few
    assert not repository.few_paid_between(session, date_from=None, date_to=None)
    assert _pages(session, **filters) == first_pages
    ids = [item for items, _ in first_pages for item in items]
    assert len(ids) == len(set(ids)) == len(all_variances(session, **filters))


@pytest.mark.parametrize(
    ("filters", "by_day"),
    [
        ({}, True),
        ({"include_all": True}, True),
        ({"payer_id": "PRAIRIE"}, False),
        ({"category": "fee_schedule_underpaid"}, False),
        ({"status": "open"}, False),
        ({"q": "e"}, False),
    ],
)
def test_only_a_payment_date_range_alone_is_read_by_day(
    session: Session,
    stored: list[FileResult],
    monkeypatch: pytest.MonkeyPatch,
    is_postgres: bool,
    filters: dict,
    by_day: bool,
) -> None:
    """Another filter may keep none of a day's results, and every day would be read
    through: with one, the range is sorted or walked."""
    calls: list[int] = []
    read_by_day = repository.page_variances_by_day

    def counted(*args: Any, **kwargs: Any) -> list[Any]:
        calls.append(1)
        return read_by_day(*args, **kwargs)

    monkeypatch.setattr(repository, "page_variances_by_day", counted)
    june = {"date_from": date(2026, 6, 1), "date_to": date(2026, 6, 30)}
    list_variances(session, actor=CLI_ACTOR, as_of=AS_OF, **june, **filters)
    list_variances(session, actor=OWN, as_of=AS_OF, **june, **filters)  # scoped: never
    assert len(calls) == (1 if by_day and is_postgres else 0)


def test_paid_days_are_cut_to_the_stored_payment_dates(
    session: Session, stored: list[FileResult], is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("PostgreSQL only: elsewhere a range is sorted or walked, not read by day")
    paid = session.execute(
        select(
            func.min(models.PricingResult.payment_date), func.max(models.PricingResult.payment_date)
        )
    ).one()
    first, last = paid
    every = repository.paid_days(session, date_from=date(1900, 1, 1), date_to=None)
    assert every is not None
    assert (every[0], every[-1], len(every)) == (first, last, (last - first).days + 1)
    assert repository.paid_days(session, date_from=last, date_to=date(2999, 1, 1)) == [last]
    assert repository.paid_days(session, date_from=last, date_to=first) == (
        [] if last > first else [last]
    )
    after_all = date.fromordinal(last.toordinal() + 1)
    assert repository.paid_days(session, date_from=after_all, date_to=None) == []


def test_few_paid_counts_up_to_its_bound(
    session: Session, stored: list[FileResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    june = {"date_from": date(2026, 6, 1), "date_to": date(2026, 6, 30)}
    stored_in_june = session.scalar(
        select(func.count())
        .select_from(models.PricingResult)
        .where(models.PricingResult.payment_date.between(date(2026, 6, 1), date(2026, 6, 30)))
    )
    assert stored_in_june
    monkeypatch.setattr(repository, "SORTED_AT_MOST", stored_in_june)
    assert not repository.few_paid_between(session, **june)
    monkeypatch.setattr(repository, "SORTED_AT_MOST", stored_in_june + 1)
    assert repository.few_paid_between(session, **june)


@pytest.mark.parametrize("cursor", ["garbage!", "WyJ4Il0", "W10"])
def test_a_bad_cursor_is_invalid_input(session: Session, cursor: str) -> None:
    with pytest.raises(InvalidInput):
        list_variances(session, actor=CLI_ACTOR, cursor=cursor, as_of=AS_OF)


# ---------------------------------------------------------------------------- files


def test_file_list_newest_first_with_search_and_scope(
    session: Session, stored: list[FileResult]
) -> None:
    first = list_files(session, actor=CLI_ACTOR, limit=1)
    assert len(first.items) == 1
    assert first.next_cursor is not None
    second = list_files(session, actor=CLI_ACTOR, limit=1, cursor=first.next_cursor)
    assert [first.items[0].id, second.items[0].id] == [stored[1].file_id, stored[0].file_id]
    assert second.next_cursor is None
    assert first.items[0].payers == ["PRAIRIE HEALTH PLAN"]
    assert second.items[0].underpaid_total == "375.00"  # E2B's 31.00 left with the reversal

    assert [f.id for f in list_files(session, actor=CLI_ACTOR, q="PH0002R").items] == [
        stored[1].file_id
    ]
    assert [f.id for f in list_files(session, actor=CLI_ACTOR, q="e7").items] == [stored[0].file_id]
    assert list_files(session, actor=CLI_ACTOR, q="nobody").items == []
    assert list_files(session, actor=OTHER).items == []
    assert len(list_files(session, actor=OWN).items) == 2


def test_summary_and_detail(session: Session, stored: list[FileResult]) -> None:
    summary = file_summary(session, file_id=stored[1].file_id or "", actor=OWN)
    assert (summary.claims, summary.lines, summary.underpaid_total) == (2, 4, "0.00")
    with pytest.raises(NotFound):
        file_summary(session, file_id=stored[1].file_id or "", actor=OTHER)
    with pytest.raises(NotFound):
        file_summary(session, file_id="not-a-uuid", actor=OWN)

    detail = file_detail(session, file_id=stored[0].file_id or "", actor=OWN, as_of=AS_OF)
    (remittance,) = detail["remittances"]
    claims = {c["claim_id"]: c for c in remittance["claim_payments"]}
    assert len(claims) == 8
    e2 = claims["E2"]
    assert e2["reversed_by_id"] is not None
    e2b = e2["lines"][1]
    assert e2b["line_control_number"] == "E2B"
    assert [a["carc"] for a in e2b["adjustments"]] == ["CO-45", "CO-59"]  # file order
    assert e2b["pricing_result"]["category"] == "reversed"
    assert e2b["pricing_result"]["expected_allowed"] == "155.00"
    assert claims["E1"]["patient_name"] == "DOE, JANE"
    assert detail["validation_status"] == "done"
    assert session.scalars(
        select(models.AuditEntry.action).where(models.AuditEntry.action == "files.read")
    ).all() == ["files.read"]


# --------------------------------------------------------------------------- delete


def test_only_an_admin_deletes_and_never_a_filed_packets_file(
    session: Session, stored: list[FileResult]
) -> None:
    file_id = stored[0].file_id or ""
    with pytest.raises(Forbidden):
        delete_file(session, file_id=file_id, actor=OWN)
    result = results_by_lcn(session)["E4A"]
    result.status = "disputed"
    session.flush()
    with pytest.raises(Conflict):
        delete_file(session, file_id=file_id, actor=CLI_ACTOR)


def test_deleting_the_reversal_file_restores_the_reversed_results(
    session: Session, stored: list[FileResult]
) -> None:
    counts = delete_file(session, file_id=stored[1].file_id or "", actor=CLI_ACTOR)

    assert counts["claim_payments"] == 2
    results = results_by_lcn(session)
    assert set(results) == {f"E{n}" for n in ("1A", "1B", "2A", "2B", "3A", "3B", "4A")} | {
        "E5A",
        "E5B",
        "E6A",
        "E6B",
        "E7A",
        "E8A",
    }
    assert (results["E2B"].category, results["E2B"].disputable) == ("mpr_overapplied", True)
    assert results["E2A"].category == "matched"
    original = session.scalars(
        select(models.ClaimPayment).where(models.ClaimPayment.claim_id == "E2")
    ).one()
    assert original.reversed_by_id is None
    assert session.scalars(
        select(models.AuditEntry.action).where(models.AuditEntry.action == "files.delete")
    ).all() == ["files.delete"]


def test_deleting_the_original_leaves_the_reversal_waiting(
    session: Session, stored: list[FileResult], ingest: Ingest, examples: Path
) -> None:
    delete_file(session, file_id=stored[0].file_id or "", actor=CLI_ACTOR)

    counts = row_counts(session)
    assert (counts["claim_payments"], counts["pricing_results"]) == (2, 2)
    reversal = session.scalars(
        select(models.ClaimPayment).where(models.ClaimPayment.status_code == "22")
    ).one()
    assert reversal.reverses_id is None

    # the same original uploaded again is reversed at once
    again = ingest((examples / "prairie-2026-06-15.835").read_bytes())
    assert again.status == "processed"
    assert results_by_lcn(session)["E2B"].category == "reversed"


# -------------------------------------------------------------------------- reprice


def test_reprice_after_a_contract_change_keeps_filed_and_reversed_results(
    session: Session, stored: list[FileResult], examples: Path, tmp_path: Path
) -> None:
    results = results_by_lcn(session)
    results["E1B"].status = "disputed"  # in a filed packet: frozen
    session.flush()
    fees = (examples / "prairie-fees.csv").read_text().replace("64483,,412.00", "64483,,420.00")
    path = write_contract(tmp_path, examples)
    (tmp_path / "prairie-fees.csv").write_text(fees)
    load_paths(session, paths=[path], actor=CLI_ACTOR)

    report = reprice(session, contract_id="prairie-ppo-2026", since=None, actor=CLI_ACTOR)

    results = results_by_lcn(session)
    assert results["E1B"].expected_amount == Decimal("412.00")  # frozen
    assert results["E2A"].expected_amount == Decimal("412.00")  # reversed stays reversed
    assert results["E2A"].category == "reversed"
    assert results["E3A"].expected_amount == Decimal("420.00")
    assert results["E3A"].variance_amount == Decimal("8.00")
    assert results["E3A"].category == "fee_schedule_underpaid"
    assert results["E7A"].expected_amount == Decimal("420.00")
    assert results["E3A"].contract_version_id != results["E1B"].contract_version_id
    assert report.frozen == 1
    assert report.reversed == 2
    assert report.updated >= 5
    again = reprice(session, contract_id=None, since=date(2026, 6, 1), actor=CLI_ACTOR)
    assert again.updated == 0


def test_reprice_of_unknown_contract_touches_only_unpriced_results(
    session: Session, stored: list[FileResult]
) -> None:
    report = reprice(session, contract_id="nobody", since=None, actor=CLI_ACTOR)
    assert (report.claims, report.updated) == (0, 0)
    assert (
        session.execute(
            select(func.count())
            .select_from(models.AuditEntry)
            .where(models.AuditEntry.action == "pricing.reprice")
        ).scalar_one()
        == 1
    )
    assert uuid.UUID(stored[0].file_id or "")
