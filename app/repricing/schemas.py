"""What the repricer returns for one service line (spec/repricing.md §3–§5).

``Category`` lists the rows of the §5 table; ``DISPUTABLE`` the ones a dispute packet
collects; ``CLAUSE_KEY`` which contract clause (spec/contracts.md "Clauses") a
dispute letter cites for each. ``LineResult`` is the pure result the storage layer
turns into a ``pricing_results`` row: every amount is a ``Decimal``, never a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Category(StrEnum):
    """The rows of repricing.md §5, in the table's order (first match wins)."""

    REVERSED = "reversed"  # set by storage when the claim payment is reversed (§6)
    SECONDARY_PAYMENT = "secondary_payment"
    NO_CONTRACT = "no_contract"
    NO_RATE = "no_rate"
    MATCHED = "matched"
    CODE_CHANGED = "code_changed"
    BUNDLED_INCORRECTLY = "bundled_incorrectly"
    DENIED = "denied"
    UNITS_REDUCED = "units_reduced"
    EXEMPT_REDUCED = "exempt_reduced"
    MPR_OVERAPPLIED = "mpr_overapplied"
    BILATERAL_UNDERPAID = "bilateral_underpaid"
    FEE_SCHEDULE_UNDERPAID = "fee_schedule_underpaid"
    OVERPAID = "overpaid"


DISPUTABLE: frozenset[Category] = frozenset(
    {
        Category.CODE_CHANGED,
        Category.BUNDLED_INCORRECTLY,
        Category.UNITS_REDUCED,
        Category.EXEMPT_REDUCED,
        Category.MPR_OVERAPPLIED,
        Category.BILATERAL_UNDERPAID,
        Category.FEE_SCHEDULE_UNDERPAID,
    }
)

# category → field of ``app.contracts.schemas.Clauses`` quoted for it (contracts.md)
CLAUSE_KEY: dict[Category, str] = {
    Category.FEE_SCHEDULE_UNDERPAID: "fee_schedule",
    Category.CODE_CHANGED: "fee_schedule",
    Category.UNITS_REDUCED: "fee_schedule",
    Category.MPR_OVERAPPLIED: "multiple_procedure_reduction",
    Category.EXEMPT_REDUCED: "multiple_procedure_reduction",
    Category.BILATERAL_UNDERPAID: "bilateral",
    Category.BUNDLED_INCORRECTLY: "bundling",
}


@dataclass(slots=True)
class LineResult:
    """The pricing of one service line. Amounts are in cents (two decimals) except
    where noted; see docs/repricing.md for how each field is derived.

    Treat it as a value: nothing changes a result once the engine has made it. Not
    frozen all the same, as ``explain.Facts``: one is built per line priced, and a
    frozen dataclass sets its 24 fields one call at a time (~2 µs a line more, a
    tenth of pricing a line)."""

    position: int  # ServiceLine.position
    procedure_code: str | None  # billed: SVC06 code, else SVC01
    modifiers: tuple[str, ...]  # billed modifiers (SVC06's when SVC06 is present)
    units: Decimal  # billed units: SVC07, else SVC05, else 1
    base_amount: Decimal | None  # step 1: rate × units, in cents (None without a rate)
    bundled_into: str | None  # column-one code when bundled (step 2)
    bilateral_percent: Decimal | None  # step 3 percent applied; None when not bilateral
    mpr_rank: int | None  # best (lowest) rank of its units; None when exempt/bundled
    mpr_percent: Decimal | None  # effective payment percent of the line (2 decimals)
    amount_before_mpr: Decimal | None  # after steps 1–3, in cents
    expected_allowed: Decimal | None  # cents, half-up, once
    actual_allowed: Decimal  # §4
    variance: Decimal | None  # expected − actual
    category: Category
    disputable: bool
    payer_reduction_percent: Decimal | None  # on every secondary line (2 decimals)
    contract_id: str | None
    clause: str | None  # the contract's clause text for the category
    explanation: str  # one plain sentence
    carc: tuple[str, ...]  # line CAS as "CO-59", file order, unique
    rarc: tuple[str, ...]  # line LQ remark codes
    mpr_exempt: bool  # the line's code is exempt from MPR under the contract
    # additions beyond the agreed interface (defaults keep it compatible)
    secondary: bool = False  # a secondary procedure: one of its units ranks 2 or lower
    group_matched: bool = False  # matched as part of its claim+date MPR group (§5)
