"""Deadline arithmetic: months and days, from payment and from service, month-end
clamping, leap days, the as_of boundary and the 30-day urgency line."""

from __future__ import annotations

from datetime import date

import pytest

from app.contracts.schemas import Contract
from app.disputes.deadlines import add_months, dispute_deadline, is_expired, is_urgent


def _contract(**terms: object) -> Contract:
    base: dict[str, object] = {
        "id": "c",
        "name": "C",
        "payer": {"name": "P", "ids": ["1"]},
        "effective_from": date(2026, 1, 1),
        "fee_schedule": "f.csv",
    }
    base.update(terms)
    return Contract.model_validate(base)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),  # leap day + a year
        (date(2026, 6, 15), 18, date(2027, 12, 15)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 1), 1, date(2027, 1, 1)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_window_in_months_from_payment() -> None:
    contract = _contract(dispute_window_months=12)
    got = dispute_deadline(contract, payment_date=date(2026, 6, 15), service_date=date(2026, 6, 1))
    assert got == date(2027, 6, 15)


def test_window_in_days_from_service() -> None:
    contract = _contract(dispute_window_days=90, dispute_window_from="service")
    got = dispute_deadline(contract, payment_date=date(2026, 6, 15), service_date=date(2026, 6, 1))
    assert got == date(2026, 8, 30)


def test_window_in_days_across_leap_day() -> None:
    contract = _contract(dispute_window_days=1)
    assert dispute_deadline(contract, payment_date=date(2028, 2, 28), service_date=None) == date(
        2028, 2, 29
    )


def test_unknown_start_date_gives_no_deadline() -> None:
    contract = _contract(dispute_window_months=12, dispute_window_from="service")
    assert dispute_deadline(contract, payment_date=date(2026, 6, 15), service_date=None) is None


def test_deadline_today_is_still_open() -> None:
    assert not is_expired(date(2026, 11, 27), as_of=date(2026, 11, 27))
    assert is_expired(date(2026, 11, 26), as_of=date(2026, 11, 27))


@pytest.mark.parametrize(("days_left", "urgent"), [(29, True), (30, True), (31, False)])
def test_urgent_within_thirty_days(days_left: int, urgent: bool) -> None:
    as_of = date(2026, 11, 27)
    deadline = date.fromordinal(as_of.toordinal() + days_left)
    assert is_urgent(deadline, as_of) is urgent
