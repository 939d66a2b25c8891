"""Bar-chart geometry for the dashboard's server-rendered SVG charts (docs/web.md).

The dashboard draws its charts as inline SVG from a Jinja macro: no JavaScript, no
chart library, nothing fetched from elsewhere, and every bar carries its label and
its amount as text (and a ``<title>``), so a screen reader and a printout show the
same numbers as the picture. This module turns (label, amount) pairs into bar
lengths; the macro only draws them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.db.types import to_cents

# width in SVG user units of the longest bar
BAR_SPACE = Decimal(100)

# the categories' names as short chart labels (the tables use the full names)
CATEGORY_SHORT: dict[str, str] = {
    "fee_schedule_underpaid": "Below fee schedule",
    "mpr_overapplied": "MPR over-applied",
    "exempt_reduced": "MPR on an exempt code",
    "bilateral_underpaid": "Bilateral underpaid",
    "bundled_incorrectly": "Bundled incorrectly",
    "code_changed": "Code changed",
    "units_reduced": "Units reduced",
}


@dataclass(slots=True, frozen=True)
class Bar:
    label: str
    amount: Decimal
    # 0–100: share of the longest bar, one decimal; a non-zero amount is never invisible
    length: Decimal
    css_class: str = ""

    @property
    def text(self) -> str:
        return format_money(self.amount)


def format_money(amount: Decimal | str | None) -> str:
    """``$1,234.56`` (``-$12.00`` when negative); an empty string for None."""
    if amount is None or amount == "":
        return ""
    value = to_cents(Decimal(amount))
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def bars(
    rows: Iterable[tuple[str, Decimal | str]],
    *,
    css_classes: dict[str, str] | None = None,
) -> list[Bar]:
    """Scale amounts to the largest one. Negative amounts draw as zero length (the
    dashboard charts sums of underpayments, which are never negative in practice)."""
    items = [(label, Decimal(amount)) for label, amount in rows]
    largest = max((amount for _, amount in items), default=Decimal(0))
    result: list[Bar] = []
    for label, amount in items:
        if largest <= 0 or amount <= 0:
            length = Decimal(0)
        else:
            length = (amount * BAR_SPACE / largest).quantize(Decimal("0.1"), ROUND_HALF_UP)
            length = max(length, Decimal("0.5"))
        result.append(
            Bar(
                label=label,
                amount=amount,
                length=length,
                css_class=(css_classes or {}).get(label, ""),
            )
        )
    return result
