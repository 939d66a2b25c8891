"""Money helpers for repricing, disputes and storage (spec/README.md: money is
``Decimal`` everywhere, rounded half-up to cents only when shown or stored).

``to_cents`` is the one half-up rounding of the application: the ``Money`` column
type (``app/db/types.py``) stores every amount through it and imports it from here, so
the pure domains need nothing from the database package.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["CENTS", "format_money", "format_percent", "to_cents"]

CENTS = Decimal("0.01")


def to_cents(value: Decimal) -> Decimal:
    """Round half-up to cents: ``Decimal("50.005")`` → ``Decimal("50.01")``."""
    # rounding given by position: as a keyword, the C method parses its arguments by
    # name, which takes longer than the rounding (this runs for every line priced)
    return value.quantize(CENTS, ROUND_HALF_UP)


def format_money(amount: Decimal) -> str:
    """``Decimal("1234.5")`` → ``"$1,234.50"``; negative amounts as ``"-$77.50"``.
    Rounded half-up to cents first, like every shown amount."""
    cents = amount.quantize(CENTS, ROUND_HALF_UP)  # to_cents, one call less
    if cents < 0:
        return f"-${abs(cents):,.2f}"
    return f"${abs(cents):,.2f}"  # abs: -0.00 shows as $0.00


def format_percent(value: Decimal) -> str:
    """A percent as people write it: ``Decimal("60.00")`` → ``"60"``,
    ``Decimal("12.50")`` → ``"12.5"``, ``Decimal("33.333")`` → ``"33.33"``."""
    text = f"{to_cents(value):.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
