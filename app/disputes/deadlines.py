"""Dispute deadlines (spec/disputes.md "Deadline").

A disputable result's deadline is its start date plus the contract's window: the
payment date (BPR16, else DTM*405) unless the contract counts from the date of
service. Month windows are calendar months; a day that does not exist in the target
month becomes that month's last day (Jan 31 + 1 month = Feb 28, or 29 in a leap
year). A deadline that is today is still open.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from app.contracts.schemas import Contract

# a packet is urgent when its earliest deadline is this close (disputes.md "Packets")
URGENT_DAYS = 30


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def dispute_deadline(
    contract: Contract, *, payment_date: date | None, service_date: date | None
) -> date | None:
    """The last day a pricing dispute may be filed, or None when the start date is
    unknown (no BPR16/DTM*405, or no date of service for a service-dated window)."""
    start = service_date if contract.dispute_window_from == "service" else payment_date
    if start is None:
        return None
    if contract.dispute_window_months is not None:
        return add_months(start, contract.dispute_window_months)
    if contract.dispute_window_days is not None:
        return start + timedelta(days=contract.dispute_window_days)
    return None


def is_expired(deadline: date | None, as_of: date) -> bool:
    """Past its deadline (a deadline of today is still open)."""
    return deadline is not None and deadline < as_of


def is_urgent(deadline: date | None, as_of: date) -> bool:
    return deadline is not None and (deadline - as_of).days <= URGENT_DAYS
