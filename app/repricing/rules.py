"""The single rules of repricing (spec/repricing.md §2–§5), one small pure function
each, so the engine reads as the spec's steps and each rule is tested on its own.

What was billed (§2), the rate look-up with facility/non-facility and percent-of
(§3 step 1), the bundling edits (step 2), the bilateral percent (step 3), MPR
subjectness (step 4), the actual allowed amount (§4) and the CARC tests of the §5
table. No clock, database or settings: values in, values out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.contracts.reference import ReferenceData
from app.contracts.schemas import Contract, ContractTerms, FeeRate
from app.x12.schemas import ServiceLine

HUNDRED = Decimal(100)
ONE = Decimal(1)
ZERO = Decimal(0)

# CLP08 place-of-service codes priced at the fee schedule's facility rate (§2)
FACILITY_POS = frozenset(
    {"19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"}
)

# Modifiers that may bypass an NCCI edit whose modifier indicator is 1 (§3 step 2)
NCCI_ASSOCIATED_MODIFIERS = frozenset(
    {"24", "25", "27", "57", "58", "59", "78", "79", "91", "XE", "XP", "XS", "XU"}
    | {"E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9"}
    | {"TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9"}
    | {"LT", "RT", "LC", "LD", "LM", "RC", "RI"}
)

BILATERAL_MODIFIER = "50"
RIGHT, LEFT = "RT", "LT"

# CARC reasons a payer uses to deny a line as included in another (§5)
BUNDLING_CARCS = frozenset({"97", "B15", "234"})
# CARC 59: processed under multiple or concurrent procedure rules (§5)
MPR_CARC = "59"
SEQUESTRATION_CARC = "253"


# --- §2 what was billed ---------------------------------------------------------------


def billed_code(line: ServiceLine) -> str | None:
    """SVC06-2 (original submitted procedure) when present, else SVC01-2."""
    return line.original_procedure_code or line.procedure_code


def billed_modifiers(line: ServiceLine) -> tuple[str, ...]:
    """SVC06's modifiers when SVC06 is present, else SVC01's."""
    if line.original_procedure_code:
        return tuple(line.original_modifiers)
    return tuple(line.modifiers)


def billed_units(line: ServiceLine) -> Decimal:
    """SVC07 (original units), else SVC05 (paid units), else 1."""
    if line.original_units is not None:
        return line.original_units
    if line.units is not None:
        return line.units
    return ONE


def paid_units(line: ServiceLine) -> Decimal:
    """SVC05, which the guide lets the payer omit when it is 1."""
    return line.units if line.units is not None else ONE


def code_changed(line: ServiceLine) -> bool:
    """The payer adjudicated another code than billed: SVC06-2 present and ≠ SVC01-2."""
    return bool(line.original_procedure_code) and (
        line.original_procedure_code != line.procedure_code
    )


def units_reduced(line: ServiceLine) -> bool:
    """Paid units (SVC05) below billed units (SVC07)."""
    return line.original_units is not None and paid_units(line) < line.original_units


def is_facility(place_of_service: str | None) -> bool:
    """CLP08 in the facility list prices at the facility rate; any other or none at the
    non-facility rate."""
    return place_of_service is not None and place_of_service.strip() in FACILITY_POS


# --- §3 step 1: the rate --------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Rate:
    """One unit's fee for a line, and where it came from (for explanations)."""

    amount: Decimal  # per unit, unrounded
    modifier: str  # the fee-schedule row's modifier ("" = the blank-modifier row)
    source: str  # "fee_schedule" or "percent_of"


def unit_rate(
    terms: ContractTerms, code: str, modifiers: tuple[str, ...], *, facility: bool
) -> Rate | None:
    """The contract's rate for one unit of ``code``: the fee schedule's row for one of
    the line's modifiers (26, TC, ...), else its blank-modifier row; failing both, the
    ``percent_of`` schedule's row picked the same way × ``percent`` %. Facility or
    non-facility column per CLP08 (a blank facility rate falls back to non-facility)."""
    row: FeeRate | None = terms.fee_schedule.rate(code, modifiers)
    if row is not None:
        return Rate(row.amount(facility=facility), row.modifier, "fee_schedule")
    percent_of = terms.contract.percent_of
    if percent_of is None or terms.percent_of_schedule is None:
        return None
    row = terms.percent_of_schedule.rate(code, modifiers)
    if row is None:
        return None
    return Rate(
        row.amount(facility=facility) * percent_of.percent / HUNDRED, row.modifier, "percent_of"
    )


# --- §3 step 2: bundling --------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Edit:
    """A bundling edit: ``column2`` is included in ``column1`` unless the indicator is
    1 and the column-two line carries an NCCI-associated modifier."""

    column1: str
    column2: str
    modifier_indicator: str  # "0" never unbundles, "1" may, "9" not applicable
    source: str  # "NCCI" or "contract"


# ReferenceData → its edits keyed by (column one, column two); kept with the data it was
# built from so an id is never reused while its entry lives
_PAIR_INDEX: dict[int, tuple[ReferenceData, dict[tuple[str, str], Edit]]] = {}


def _pair_index(reference: ReferenceData) -> dict[tuple[str, str], Edit]:
    cached = _PAIR_INDEX.get(id(reference))
    if cached is not None and cached[0] is reference:
        return cached[1]
    index = {
        (e.column1, e.column2): Edit(e.column1, e.column2, e.modifier_indicator, "NCCI")
        for edits in reference.edits_by_column2.values()
        for e in edits
    }
    if len(_PAIR_INDEX) >= 8:  # a process holds one or two releases; tests a few more
        _PAIR_INDEX.clear()
    _PAIR_INDEX[id(reference)] = (reference, index)
    return index


def bundling_edits(
    column_one: str, column_two: str, contract: Contract, reference: ReferenceData
) -> list[Edit]:
    """The edits that say ``column_two`` is included in ``column_one``: the shipped
    NCCI procedure-to-procedure edit, then the contract's own ``bundled`` entries
    (whose ``modifier_allowed: true`` behaves like modifier indicator 1)."""
    found: list[Edit] = []
    shipped = _pair_index(reference).get((column_one, column_two))
    if shipped is not None:
        found.append(shipped)
    for entry in contract.bundled:
        if entry.code == column_two and column_one in entry.into:
            indicator = "1" if entry.modifier_allowed else "0"
            found.append(Edit(column_one, column_two, indicator, "contract"))
    return found


def edit_applies(edit: Edit, modifiers: tuple[str, ...]) -> bool:
    """Whether the edit bundles a column-two line with these modifiers (the column-one
    code being present is checked by the caller). Indicator 9 marks a deleted edit."""
    if edit.modifier_indicator == "9":
        return False
    if edit.modifier_indicator == "1":
        return not any(m in NCCI_ASSOCIATED_MODIFIERS for m in modifiers)
    return True


# --- §3 step 3: bilateral -------------------------------------------------------------


def bilateral_percent(code: str, contract: Contract, reference: ReferenceData) -> Decimal:
    """Percent of the base fee for a bilateral procedure, by the code's BILAT SURG
    indicator: 1 or a code not in the table → the contract's ``bilateral_percent``;
    3 → 200 (each side at its own fee); 0, 2, 9 → 100."""
    indicator = reference.bilateral_indicator(code)
    if indicator == "3":
        return Decimal(200)
    if indicator in ("0", "2", "9"):
        return HUNDRED
    return contract.bilateral_percent


def pairs_as_bilateral(code: str, reference: ReferenceData) -> bool:
    """An RT line and an LT line of this code on one date are one bilateral procedure
    only when its bilateral indicator is 1."""
    return reference.bilateral_indicator(code) == "1"


# --- §3 step 4: MPR subjectness -------------------------------------------------------


def mpr_subject(code: str | None, contract: Contract | None, reference: ReferenceData) -> bool:
    """Subject to MPR: MULT PROC 2 or 3, plus the contract's ``mpr_subject``, minus its
    ``mpr_exempt``. Everything else (indicator 0 add-ons and E/M, 9, unknown codes such
    as drugs and supplies) is exempt."""
    if code is None:
        return False
    if contract is not None:
        if code in contract.mpr_exempt:
            return False
        if code in contract.mpr_subject:
            return True
    return reference.mpr_subject(code)


# --- §4 actual allowed ----------------------------------------------------------------


def actual_allowed(line: ServiceLine) -> Decimal:
    """``AMT*B6`` when present; otherwise SVC03 (paid) + the line's CAS group PR
    adjustments + its CO-253 (sequestration) adjustments. Claim-level CAS is never
    spread over lines."""
    if line.allowed_amount is not None:
        return line.allowed_amount
    total = line.paid_amount
    for adj in line.adjustments:
        if adj.group_code == "PR" or (
            adj.group_code == "CO" and adj.reason_code == SEQUESTRATION_CARC
        ):
            total += adj.amount
    return total


# --- §5 CARC tests --------------------------------------------------------------------


def line_carcs(line: ServiceLine) -> tuple[str, ...]:
    """The line's CAS as ``CO-59`` (group-reason), in file order, each once."""
    adjustments = line.adjustments
    if len(adjustments) == 1:  # the usual line: nothing to drop
        return (adjustments[0].carc,)
    return tuple(dict.fromkeys([adj.carc for adj in adjustments]))


def has_reason(line: ServiceLine, reasons: frozenset[str] | str) -> bool:
    """Whether any line-level CAS (any group) carries one of ``reasons``."""
    wanted = frozenset({reasons}) if isinstance(reasons, str) else reasons
    return any(adj.reason_code in wanted for adj in line.adjustments)


__all__ = [
    "BILATERAL_MODIFIER",
    "BUNDLING_CARCS",
    "FACILITY_POS",
    "MPR_CARC",
    "NCCI_ASSOCIATED_MODIFIERS",
    "Edit",
    "Rate",
    "actual_allowed",
    "billed_code",
    "billed_modifiers",
    "billed_units",
    "bilateral_percent",
    "bundling_edits",
    "code_changed",
    "edit_applies",
    "has_reason",
    "is_facility",
    "line_carcs",
    "mpr_subject",
    "pairs_as_bilateral",
    "paid_units",
    "unit_rate",
    "units_reduced",
]
