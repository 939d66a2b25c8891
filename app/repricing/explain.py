"""Plain-English explanations of pricing results (spec/repricing.md: "an explanation in
plain English"): one sentence a billing manager understands, naming the procedure,
the rule, the contract clause where there is one, and the two amounts.

Explanations carry codes and amounts only, never patient names or member ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.repricing.money import format_money, format_percent
from app.repricing.schemas import Category


@dataclass(slots=True)
class Facts:
    """What a sentence may mention; filled by the engine, one per line and used at
    once (not frozen: a frozen dataclass sets its 22 fields one call at a time, ~2 µs
    more per line)."""

    category: Category
    code: str | None  # billed
    paid_code: str | None  # SVC01 as adjudicated
    modifiers: tuple[str, ...]
    billed_units: Decimal
    paid_units: Decimal
    date_of_service: date | None
    claim_status: str
    contract_id: str | None
    clause: str | None
    expected: Decimal | None
    actual: Decimal
    carc: tuple[str, ...]
    bundled_into: str | None
    bundle_source: str | None
    bilateral_percent: Decimal | None
    paired: bool
    group_matched: bool
    group_expected: Decimal | None
    group_actual: Decimal | None
    payer_reduction: Decimal | None
    contract_reduction: Decimal | None


# an amount's text, by the amount's own text: a file's amounts repeat (a fee
# schedule's rates, a payer's allowed amounts), and ``str`` and a look-up cost a sixth
# of rounding and formatting one (a Decimal's own hash costs more than both: ~0.35 µs).
# ``str`` gives each Decimal exactly, exponent and sign of zero included. Bounded: it
# starts again when full.
_MONEY: dict[str, str] = {}
_MONEY_ENTRIES = 4096


def money(amount: Decimal) -> str:
    """``format_money(amount)``, remembered."""
    key = str(amount)
    text = _MONEY.get(key)
    if text is None:
        text = format_money(amount)
        if len(_MONEY) >= _MONEY_ENTRIES:
            _MONEY.clear()
        _MONEY[key] = text
    return text


def _units(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _amounts(facts: Facts) -> str:
    expected = money(facts.expected) if facts.expected is not None else "none"
    return f"expected {expected}, allowed {money(facts.actual)}"


def _contract(facts: Facts) -> str:
    """ "contract Section 5.1", or "the contract" when the clause is not given."""
    return f"contract {facts.clause}" if facts.clause else "the contract"


def _reasons(facts: Facts) -> str:
    return ", ".join(facts.carc) if facts.carc else "no reason code on the line"


def sentence(facts: Facts) -> str:
    """The explanation for one result, by category."""
    code = facts.code or "the procedure"
    if facts.paired and facts.code:
        side = "RT" if "RT" in facts.modifiers else "LT"
        code = f"{facts.code}-{side}"
    # one look-up, not a walk down the §5 table (overpaid, its last row, is common)
    return _SENTENCES.get(facts.category, _other)(facts, code)


def _secondary_payment(facts: Facts, code: str) -> str:
    return (
        f"Claim processed as secondary (CLP02 {facts.claim_status}): the contract governs "
        f"the primary payer's allowed amount, so {code} is not repriced; "
        f"allowed {money(facts.actual)}."
    )


def _no_contract(facts: Facts, code: str) -> str:
    when = (
        f"on {facts.date_of_service.isoformat()}"
        if facts.date_of_service
        else ("for this line (no date of service)")
    )
    return (
        f"No contract with this payer is in force {when}, so {code} is not repriced; "
        f"allowed {money(facts.actual)}."
    )


def _no_rate(facts: Facts, code: str) -> str:
    if facts.code is None:
        return (
            "The procedure code could not be read from the remittance, so the line is "
            f"not repriced; allowed {money(facts.actual)}."
        )
    return (
        f"Contract {facts.contract_id} has no rate for {code}, so it is not repriced; "
        f"allowed {money(facts.actual)}."
    )


def _matched(facts: Facts, code: str) -> str:
    if facts.bundled_into is not None:
        source = "NCCI" if facts.bundle_source == "NCCI" else "contract"
        return (
            f"{code} is included in {facts.bundled_into} ({source} bundling edit) and not "
            f"paid separately: {_amounts(facts)}."
        )
    if facts.group_matched and facts.group_expected is not None:
        assert facts.group_actual is not None
        when = facts.date_of_service.isoformat() if facts.date_of_service else "that date"
        half = " (half of a bilateral RT + LT procedure)" if facts.paired else ""
        return (
            f"{code}{half} paid as contracted when the claim's procedures on {when} are taken "
            f"together: {_amounts(facts)} (together expected "
            f"{money(facts.group_expected)}, allowed "
            f"{money(facts.group_actual)})."
        )
    return f"{code} paid as contracted: {_amounts(facts)}."


def _code_changed(facts: Facts, code: str) -> str:
    return (
        f"Billed {code} was paid as {facts.paid_code or 'another code'}; {_contract(facts)} "
        f"rate for {code} gives {_amounts(facts)}."
    )


def _bundled_incorrectly(facts: Facts, code: str) -> str:
    return (
        f"{code} was denied as bundled ({_reasons(facts)}), but {_contract(facts)} pays it "
        f"separately: {_amounts(facts)}."
    )


def _denied(facts: Facts, code: str) -> str:
    return (
        f"{code} was denied ({_reasons(facts)}): {_amounts(facts)}; "
        "this needs an appeal, not a pricing dispute."
    )


def _units_reduced(facts: Facts, code: str) -> str:
    return (
        f"Billed {_units(facts.billed_units)} units of {code}, paid "
        f"{_units(facts.paid_units)}: {_amounts(facts)}."
    )


def _exempt_reduced(facts: Facts, code: str) -> str:
    return (
        f"{code} is exempt from multiple-procedure reduction under {_contract(facts)} but "
        f"was reduced as a multiple procedure: {_amounts(facts)}."
    )


def _mpr_overapplied(facts: Facts, code: str) -> str:
    assert facts.payer_reduction is not None
    assert facts.contract_reduction is not None
    return (
        f"Secondary procedure {code} reduced {format_percent(facts.payer_reduction)} %; "
        f"{_contract(facts)} allows {format_percent(facts.contract_reduction)} %: "
        f"{_amounts(facts)}."
    )


def _bilateral_underpaid(facts: Facts, code: str) -> str:
    percent = format_percent(facts.bilateral_percent) if facts.bilateral_percent else "100"
    return (
        f"Bilateral {code}-50 is paid at {percent} % of the rate under {_contract(facts)}: "
        f"{_amounts(facts)}."
    )


def _fee_schedule_underpaid(facts: Facts, code: str) -> str:
    where = f" ({facts.clause})" if facts.clause else ""
    return f"{code} paid below the contract rate{where}: {_amounts(facts)}."


def _overpaid(facts: Facts, code: str) -> str:
    if facts.bundled_into is not None:
        return (
            f"{code} is included in {facts.bundled_into} and not paid separately, yet "
            f"was allowed: {_amounts(facts)}; a refund may be owed."
        )
    return f"{code} allowed more than the contract gives: {_amounts(facts)}; a refund may be owed."


def _other(facts: Facts, code: str) -> str:
    return f"{code}: {_amounts(facts)}."  # reversed is set by storage, never here


_SENTENCES: dict[Category, Callable[[Facts, str], str]] = {
    Category.SECONDARY_PAYMENT: _secondary_payment,
    Category.NO_CONTRACT: _no_contract,
    Category.NO_RATE: _no_rate,
    Category.MATCHED: _matched,
    Category.CODE_CHANGED: _code_changed,
    Category.BUNDLED_INCORRECTLY: _bundled_incorrectly,
    Category.DENIED: _denied,
    Category.UNITS_REDUCED: _units_reduced,
    Category.EXEMPT_REDUCED: _exempt_reduced,
    Category.MPR_OVERAPPLIED: _mpr_overapplied,
    Category.BILATERAL_UNDERPAID: _bilateral_underpaid,
    Category.FEE_SCHEDULE_UNDERPAID: _fee_schedule_underpaid,
    Category.OVERPAID: _overpaid,
}
