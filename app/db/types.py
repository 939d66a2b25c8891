"""Column types that behave the same on PostgreSQL and SQLite.

``Money`` is ``NUMERIC(12, 2)`` on both. PostgreSQL hands back ``Decimal``; SQLite
has no decimal type, so the value is read back through ``str`` (a two-decimal
amount of at most 12 digits round-trips exactly) and quantized to cents. Values are
quantized half-up to cents on the way in, as ``spec/README.md`` requires ("rounded
half-up to cents only when shown or stored").

``UTCDateTime`` is ``TIMESTAMP WITH TIME ZONE``; SQLite returns naive values, which
are UTC by construction and are made aware on read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

# the one half-up rounding to cents lives with the other money helpers
from app.repricing.money import CENTS, to_cents

__all__ = ["CENTS", "JSONDoc", "Money", "Quantity", "UTCDateTime", "plain_decimal", "to_cents"]


class Money(TypeDecorator[Decimal]):
    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(12, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(12, 2))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = to_cents(Decimal(value))
        return str(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return to_cents(Decimal(str(value)))


class Quantity(TypeDecorator[Decimal]):
    """Units and other non-money decimals: NUMERIC(12, 3)."""

    impl = Numeric(12, 3)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(12, 3, asdecimal=False))
        return dialect.type_descriptor(Numeric(12, 3))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(Decimal(value)) if dialect.name == "sqlite" else Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return plain_decimal(Decimal(str(value)))


def plain_decimal(value: Decimal) -> Decimal:
    """``Decimal('2.000')`` → ``2``; ``Decimal('1.500')`` → ``1.5``; never exponent form."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp


# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")
