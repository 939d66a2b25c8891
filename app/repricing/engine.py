"""The repricing engine (spec/repricing.md): one ``LineResult`` per service line of a
claim payment — expected allowed, actual allowed, variance, category, explanation.

Pure: it takes the parsed claim (``app.x12.schemas.ClaimPayment``), a function giving
the contract in force on a date of service (the caller has matched payer and payee,
§1) and the shipped reference data, and returns values. Nothing is read or written
elsewhere, so a claim can be re-priced whenever a contract changes.

Per claim and date of service the steps of §3 run in order — bundling (decided before
any rate is looked up), base fee, bilateral, multiple-procedure ranking, one half-up
rounding, lesser of charges — then §5 compares the MPR group as a whole and walks the
category table for the rest. Every decision the spec leaves open is written down in
docs/repricing.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.contracts.reference import ReferenceData
from app.contracts.schemas import Contract, ContractTerms
from app.repricing import explain
from app.repricing.money import to_cents
from app.repricing.rules import (
    BILATERAL_MODIFIER,
    BUNDLING_CARCS,
    HUNDRED,
    LEFT,
    MPR_CARC,
    ONE,
    RIGHT,
    ZERO,
    Rate,
    actual_allowed,
    bilateral_percent,
    billed_code,
    billed_modifiers,
    billed_units,
    bundling_edits,
    code_changed,
    edit_applies,
    has_reason,
    is_facility,
    line_carcs,
    mpr_subject,
    pairs_as_bilateral,
    unit_rate,
    units_reduced,
)
from app.repricing.schemas import CLAUSE_KEY, DISPUTABLE, Category, LineResult
from app.x12.schemas import SECONDARY_STATUSES, ClaimPayment, ServiceLine

__all__ = [
    "ContractFor",
    "ExpectedCache",
    "actual_allowed",
    "date_of_service",
    "price_claim",
    "price_claim_with_terms",
]

ContractFor = Callable[[date | None], ContractTerms | None]


def date_of_service(claim: ClaimPayment, line: ServiceLine) -> date | None:
    """The line's DTM*472 (or DTM*150, the start of a range — the reader keeps either in
    ``service_date``); without one, the claim's DTM*232 statement start date."""
    return line.service_date or claim.statement_from_date


@dataclass(slots=True, eq=False)
class _Work:
    """One line's working state while the §3 steps of its date group run (once per
    group priced alike, see ``ExpectedCache``)."""

    line: ServiceLine
    index: int  # 0-based order in the group, which is claim order
    code: str
    modifiers: tuple[str, ...]
    units: Decimal
    exempt: bool
    category: Category | None = None  # no_rate: the contract has no rate for the code
    rate: Rate | None = None
    base: Decimal | None = None  # step 1, unrounded
    bundled_into: str | None = None
    bundle_source: str | None = None
    bilateral_percent: Decimal | None = None
    paired_with: _Work | None = None  # the other side of an RT/LT bilateral pair
    amount_before_mpr: Decimal | None = None  # steps 1–3, unrounded
    expected_raw: Decimal | None = None  # before the one rounding
    expected: Decimal | None = None  # cents, after lesser of charges
    ranks: tuple[int, ...] = ()


@dataclass(slots=True, frozen=True, eq=False)
class _Shown:
    """What one line's result shows of its expected side — steps 1–5 and what is
    worked out from them alone (rank, amounts in cents, percents). Immutable: the
    lines of every group priced alike share one (``ExpectedCache``)."""

    exempt: bool  # not subject to MPR under the contract
    category: Category | None = None  # no_rate
    ranked: bool = False  # its units were ranked for MPR: one of its date's §5 group
    base_cents: Decimal | None = None
    bundled_into: str | None = None
    bundle_source: str | None = None
    bilateral_percent: Decimal | None = None
    paired: bool = False  # one side of an RT/LT bilateral pair
    before: Decimal | None = None  # after steps 1–3, unrounded
    before_cents: Decimal | None = None
    expected: Decimal | None = None  # cents, after lesser of charges
    mpr_rank: int | None = None  # the best (lowest) rank of its units
    mpr_percent: Decimal | None = None
    secondary: bool = False  # one of its units ranks 2 or lower
    contract_reduction: Decimal | None = None


# what a line outside any date group shows (secondary payment, no contract, no code)
_OUTSIDE = {exempt: _Shown(exempt) for exempt in (False, True)}


@dataclass(slots=True, frozen=True, eq=False)
class _Group:
    """A date group's expected side: each line's ``_Shown`` in claim order, which of
    them form the §5 group (their places) and that group's expected sum."""

    shown: tuple[_Shown, ...]
    members: tuple[int, ...]
    expected_sum: Decimal


@dataclass(slots=True, eq=False)
class _Line:
    """One line of a claim on its way to its result: what was billed and paid, and
    (``shown``) what its date group expects of it."""

    line: ServiceLine
    code: str | None
    modifiers: tuple[str, ...]
    units: Decimal
    dos: date | None
    terms: ContractTerms | None
    actual: Decimal  # §4 actual allowed, in cents
    category: Category | None  # decided before pricing (secondary, no contract, no code)
    shown: _Shown
    group_matched: bool = False
    group_expected: Decimal | None = None
    group_actual: Decimal | None = None


@dataclass(slots=True, eq=False)
class _Procedure:
    """A unit of MPR ranking: one line, or the two lines of an RT/LT pair."""

    works: list[_Work]
    amount: Decimal  # after steps 1–3, all units
    units: Decimal
    total: Decimal = ZERO  # after MPR, unrounded

    @property
    def order(self) -> int:
        return min(w.index for w in self.works)


def price_claim(
    claim: ClaimPayment,
    contract_for: ContractFor,
    reference: ReferenceData,
    *,
    cache: ExpectedCache | None = None,
) -> list[LineResult]:
    """Price every service line of ``claim`` (repricing.md §2–§5), in line order.

    Returns ``[]`` for a claim payment without lines and for a reversal (CLP02 = 22),
    whose lines are not priced. ``contract_for(date_of_service)`` gives the contract in
    force on that date for this claim's payer and payee, or None. ``cache``: the
    expected amounts of date groups already priced alike (``ExpectedCache``), for a
    run of many claims; the results are the same with or without it."""
    status = claim.status_code
    return [_result(item, status) for item in _priced(claim, contract_for, reference, cache)]


def price_claim_with_terms(
    claim: ClaimPayment,
    contract_for: ContractFor,
    reference: ReferenceData,
    *,
    cache: ExpectedCache | None = None,
) -> list[tuple[LineResult, ContractTerms | None, date | None]]:
    """``price_claim``, each result with the contract version it was priced under and
    the line's date of service (what a stored result records besides the result), as
    they were found while pricing: not looked up again per line."""
    status = claim.status_code
    return [
        (_result(item, status), item.terms, item.dos)
        for item in _priced(claim, contract_for, reference, cache)
    ]


def _priced(
    claim: ClaimPayment,
    contract_for: ContractFor,
    reference: ReferenceData,
    cache: ExpectedCache | None,
) -> list[_Line]:
    """Every line of the claim through §3 and the §5 group comparison, ready for its
    result."""
    if claim.is_reversal or not claim.lines:
        return []
    # §5 rows above the amounts: secondary payment, no contract, unreadable code
    secondary_claim = claim.status_code in SECONDARY_STATUSES
    statement_from = claim.statement_from_date
    contracts: dict[date | None, ContractTerms | None] = {}
    items: list[_Line] = []
    by_date: dict[date | None, list[_Line]] = {}
    for line in claim.lines:
        dos = line.service_date or statement_from  # date_of_service(claim, line)
        if dos in contracts:
            terms = contracts[dos]
        else:
            terms = contracts[dos] = contract_for(dos)
        contract = terms.contract if terms is not None else None
        code = billed_code(line)
        if secondary_claim and (contract is None or not contract.price_secondary):
            category: Category | None = Category.SECONDARY_PAYMENT
        elif contract is None:
            category = Category.NO_CONTRACT
        elif code is None:
            category = Category.NO_RATE
        else:
            category = None
        item = _Line(
            line,
            code,
            billed_modifiers(line),
            billed_units(line),
            dos,
            terms,
            to_cents(actual_allowed(line)),
            category,
            # a line of a date group is given its group's (below)
            _OUTSIDE[category is not None and not mpr_subject(code, contract, reference)],
        )
        items.append(item)
        if category is None:
            by_date.setdefault(dos, []).append(item)

    if by_date:
        facility = is_facility(claim.place_of_service)
        for same_date in by_date.values():
            terms = same_date[0].terms
            assert terms is not None  # only lines with a contract are grouped
            if cache is None:
                group = _group(same_date, terms, reference, facility=facility)
            else:
                group = cache.group(same_date, terms, reference, facility=facility)
            for item, shown in zip(same_date, group.shown, strict=True):
                item.shown = shown
            _compare_group(same_date, group, terms.contract)
    return items


class ExpectedCache:
    """§3 steps 1–5 of a date group — bundling, rates, bilateral, multiple-procedure
    ranking, the rounding and the lesser of charges — depend only on the contract
    version, the facility column and each line's billed code, modifiers, units and
    charge, in claim order; never on what the payer paid. A practice bills a few
    combinations of codes from one charge master, so the claims of a file repeat
    them: each combination is worked out once (``_Group``, with what the results show
    of it in cents and percents and the §5 group's expected sum) and shared by the
    groups that repeat it. For one unit of work (one contract index); bounded."""

    def __init__(self, max_entries: int = 8192) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[Any, ...], tuple[ContractTerms, ReferenceData, _Group]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def group(
        self, items: list[_Line], terms: ContractTerms, reference: ReferenceData, *, facility: bool
    ) -> _Group:
        """``_group(items, …)``, from the cache when the same group was seen."""
        # the text of units and charges: Decimal("2") and Decimal("2.0") are equal but
        # print apart, and the results must be the same object for object
        key = (
            id(terms),
            id(reference),
            facility,
            tuple([(i.code, i.modifiers, str(i.units), str(i.line.charge_amount)) for i in items]),
        )
        found = self._entries.get(key)
        if found is not None and found[0] is terms and found[1] is reference:
            return found[2]
        group = _group(items, terms, reference, facility=facility)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        # terms and reference are kept with the entry: their ids are not reused while it lives
        self._entries[key] = (terms, reference, group)
        return group


def _group(
    items: list[_Line], terms: ContractTerms, reference: ReferenceData, *, facility: bool
) -> _Group:
    """§3 steps 1–5 for the lines of one date of service, and what their results show
    of it: what the contract expects, from what was billed alone."""
    contract = terms.contract
    works = []
    for index, item in enumerate(items):
        code = item.code
        assert code is not None  # only lines with a code are grouped
        exempt = not mpr_subject(code, contract, reference)
        works.append(_Work(item.line, index, code, item.modifiers, item.units, exempt))
    _expect(works, terms, reference, facility=facility)
    members = tuple(n for n, work in enumerate(works) if work.ranks)
    # §5 compares the ranked lines as a group: the expected side of that comparison
    expected_sum = sum((works[n].expected or ZERO for n in members), ZERO)
    return _Group(tuple(_shown(work, contract) for work in works), members, expected_sum)


def _expect(
    works: list[_Work], terms: ContractTerms, reference: ReferenceData, *, facility: bool
) -> None:
    """§3 steps 1–5 for the lines of one date of service: what the contract expects,
    from what was billed alone."""
    contract = terms.contract
    _bundle(works, contract, reference)

    # step 1: base fee (also looked up for bundled lines, for the record)
    for work in works:
        work.rate = unit_rate(terms, work.code, work.modifiers, facility=facility)
        if work.rate is not None:
            work.base = work.rate.amount * work.units
        if work.bundled_into is not None:
            work.amount_before_mpr = ZERO
            work.expected_raw = ZERO
        elif work.rate is None:
            work.category = Category.NO_RATE

    priced = [w for w in works if w.bundled_into is None and w.base is not None]

    # step 3: bilateral — modifier 50, then RT + LT pairs
    for work in priced:
        assert work.base is not None
        assert work.rate is not None
        work.amount_before_mpr = work.base
        if BILATERAL_MODIFIER in work.modifiers:
            # a fee-schedule row of its own for modifier 50 is already the bilateral price
            percent = (
                HUNDRED
                if work.rate.modifier == BILATERAL_MODIFIER
                else bilateral_percent(work.code, contract, reference)
            )
            work.bilateral_percent = percent
            work.amount_before_mpr = work.base * percent / HUNDRED
    pairs = _bilateral_pairs(priced, contract, reference)

    # step 4: multiple procedure reduction among the subject lines
    procedures: list[_Procedure] = []
    paired = {id(w) for pair in pairs for w in pair.works}
    for pair in pairs:
        if not pair.works[0].exempt:
            procedures.append(pair)
        else:
            pair.total = pair.amount
    for work in priced:
        if id(work) in paired:
            continue
        assert work.amount_before_mpr is not None
        if work.exempt:
            work.expected_raw = work.amount_before_mpr
        else:
            procedures.append(_Procedure([work], work.amount_before_mpr, work.units))
    _rank(procedures, contract)
    for procedure in procedures:
        if len(procedure.works) == 1:
            procedure.works[0].expected_raw = procedure.total
    for pair in pairs:
        for work in pair.works:
            work.expected_raw = pair.total / 2

    # step 5: one rounding, lesser of charges; a pair's cents add up to its total
    for work in works:
        if work.expected_raw is not None and work.paired_with is None:
            work.expected = _cap(to_cents(work.expected_raw), work, contract)
    for pair in pairs:
        first, second = pair.works
        first_cents = to_cents(pair.total / 2)
        first.expected = _cap(first_cents, first, contract)
        second.expected = _cap(to_cents(pair.total) - first_cents, second, contract)


def _shown(work: _Work, contract: Contract) -> _Shown:
    """What a result shows of the expected side — rank, the amounts in cents, the
    effective and the contract's reduction percents — from steps 1–5 alone, so worked
    out once per group (the cache shares it with the amounts)."""
    ranks = work.ranks
    before = work.amount_before_mpr
    mpr_rank = mpr_percent = None
    secondary = False
    if ranks:
        rank = mpr_rank = min(ranks)
        secondary = max(ranks) >= 2
        if before is not None and work.expected_raw is not None:
            if before > 0:
                mpr_percent = to_cents(HUNDRED * work.expected_raw / before)
            else:
                mpr_percent = contract.mpr_payment_percent(rank)
    base_cents = before_cents = contract_reduction = None
    # a line without a rate (no_rate) shows none of it
    expected = work.expected if work.category is None else None
    if expected is not None:
        if work.base is not None:
            base_cents = to_cents(work.base)
        if before is not None:
            before_cents = to_cents(before)
            if before > 0:
                contract_reduction = to_cents(HUNDRED * (ONE - expected / before))
    return _Shown(
        exempt=work.exempt,
        category=work.category,
        ranked=bool(ranks),
        base_cents=base_cents,
        bundled_into=work.bundled_into,
        bundle_source=work.bundle_source,
        bilateral_percent=work.bilateral_percent,
        paired=work.paired_with is not None,
        before=before,
        before_cents=before_cents,
        expected=work.expected,
        mpr_rank=mpr_rank,
        mpr_percent=mpr_percent,
        secondary=secondary,
        contract_reduction=contract_reduction,
    )


def _compare_group(items: list[_Line], group: _Group, contract: Contract) -> None:
    """§5: the lines of one date ranked together are compared as a group first."""
    members = group.members
    if members:
        expected_sum = group.expected_sum
        actual_sum = ZERO  # as sum(…, ZERO) adds, without a generator per claim
        for n in members:
            actual_sum += items[n].actual
        within = abs(expected_sum - actual_sum) <= contract.tolerance
        for n in members:
            item = items[n]
            item.group_matched = within
            item.group_expected = expected_sum
            item.group_actual = actual_sum


def _bundle(works: list[_Work], contract: Contract, reference: ReferenceData) -> None:
    """Step 2: a line is bundled when an edit puts its code (column two) into a code
    billed on another line of the same claim and date (column one) and its modifiers do
    not lift the edit. When two lines' edits point at each other, the one earlier on the
    claim stays payable."""
    by_code: dict[str, list[_Work]] = {}
    for work in works:
        assert work.code is not None
        by_code.setdefault(work.code, []).append(work)
    into: dict[int, list[tuple[_Work, str]]] = {}
    for work in works:
        assert work.code is not None
        found: list[tuple[_Work, str]] = []
        for code, others in by_code.items():
            if code == work.code:
                continue
            for edit in bundling_edits(code, work.code, contract, reference):
                if edit_applies(edit, work.modifiers):
                    found.extend((other, edit.source) for other in others)
                    break
        into[id(work)] = sorted(found, key=lambda item: item[0].index)
    for work in works:
        for column_one, source in into[id(work)]:
            mutual = any(back is work for back, _ in into[id(column_one)])
            if mutual and work.index < column_one.index:
                continue
            work.bundled_into = column_one.code
            work.bundle_source = source
            break


def _bilateral_pairs(
    priced: list[_Work], contract: Contract, reference: ReferenceData
) -> list[_Procedure]:
    """Step 3: an RT line and an LT line of one code (bilateral indicator 1, equal
    units, no modifier 50) on one date are one bilateral procedure, priced at the
    bilateral percent of one side's fee; lines are paired in claim order."""
    sides: dict[tuple[str, Decimal], tuple[list[_Work], list[_Work]]] = {}
    for work in priced:
        assert work.code is not None
        mods = work.modifiers
        if BILATERAL_MODIFIER in mods or (RIGHT in mods) == (LEFT in mods):
            continue
        if not pairs_as_bilateral(work.code, reference):
            continue
        rights, lefts = sides.setdefault((work.code, work.units), ([], []))
        (rights if RIGHT in mods else lefts).append(work)
    pairs: list[_Procedure] = []
    for (code, units), (rights, lefts) in sides.items():
        for right, left in zip(rights, lefts, strict=False):
            first, second = sorted((right, left), key=lambda w: w.index)
            assert first.base is not None
            assert second.base is not None
            percent = bilateral_percent(code, contract, reference)
            amount = (first.base + second.base) / 2 * percent / HUNDRED
            for work, other in ((first, second), (second, first)):
                work.paired_with = other
                work.bilateral_percent = percent
                work.amount_before_mpr = amount / 2
            pairs.append(_Procedure([first, second], amount, units))
    pairs.sort(key=lambda p: p.order)
    return pairs


def _unit_weights(units: Decimal) -> list[Decimal]:
    """Each whole unit is one procedure; a fractional remainder is one more, weighted by
    its fraction (so the weights add up to the units)."""
    if units <= 0:
        return []
    whole = int(units)
    weights = [ONE] * whole
    if units - whole > 0:
        weights.append(units - whole)
    return weights


def _rank(procedures: list[_Procedure], contract: Contract) -> None:
    """Step 4: rank every unit of every subject procedure by its amount (per unit),
    highest first, ties by claim order; rank 1 at 100 %, rank n at the contract's
    schedule. Adds each unit's payment to its procedure's ``total``."""
    slots: list[tuple[Decimal, int, int, Decimal, _Procedure]] = []
    for procedure in procedures:
        procedure.total = ZERO
        if procedure.units <= 0:
            continue
        per_unit = procedure.amount / procedure.units
        for k, weight in enumerate(_unit_weights(procedure.units)):
            slots.append((per_unit, procedure.order, k, weight, procedure))
    slots.sort(key=lambda s: (-s[0], s[1], s[2]))
    for rank, (per_unit, _order, _k, weight, procedure) in enumerate(slots, start=1):
        procedure.total += per_unit * weight * contract.mpr_payment_percent(rank) / HUNDRED
        for work in procedure.works:
            work.ranks += (rank,)


def _cap(expected: Decimal, work: _Work, contract: Contract) -> Decimal:
    """``lesser_of_charges``: the expected amount never exceeds the line's charge."""
    if contract.lesser_of_charges:
        return min(expected, work.line.charge_amount)
    return expected


def _result(item: _Line, claim_status: str) -> LineResult:
    """§5: variance and the first matching row of the category table."""
    line = item.line
    shown = item.shown
    terms = item.terms
    contract = terms.contract if terms is not None else None
    carcs = line_carcs(line)
    actual = item.actual
    before = shown.before
    payer_reduction = None
    if shown.secondary and before is not None and before > 0:
        payer_reduction = to_cents(HUNDRED * (ONE - actual / before))

    category = item.category if item.category is not None else shown.category
    expected = variance = None
    if category is None:
        expected = shown.expected
        assert contract is not None
        assert expected is not None
        variance = expected - actual
        category = _categorize(item, contract, expected, actual, variance)

    clause = None
    if contract is not None:
        clause_key = CLAUSE_KEY.get(category)
        if clause_key is not None:
            clause = getattr(contract.clauses, clause_key)

    # matched only thanks to the §5 group comparison (alone it would not be)
    by_group = (
        category is Category.MATCHED
        and item.group_matched
        and contract is not None
        and variance is not None
        and abs(variance) > contract.tolerance
    )

    contract_id = contract.id if contract is not None else None
    code = item.code
    modifiers = item.modifiers
    units = item.units
    bundled_into = shown.bundled_into
    bilateral = shown.bilateral_percent
    # positional: a dataclass matches keyword arguments to its fields one by one, which
    # costs ~0.7 µs a line for each of these two; the comments name the fields in order
    text = explain.sentence(
        explain.Facts(
            category,
            code,  # code
            line.procedure_code,  # paid_code
            modifiers,
            units,  # billed_units
            line.units if line.units is not None else ONE,  # paid_units
            item.dos,  # date_of_service
            claim_status,
            contract_id,
            clause,
            expected,
            actual,
            carcs,  # carc
            bundled_into,
            shown.bundle_source,
            bilateral,  # bilateral_percent
            shown.paired,
            by_group,  # group_matched
            item.group_expected,
            item.group_actual,
            payer_reduction,
            shown.contract_reduction,
        )
    )
    return LineResult(
        line.position,
        code,  # procedure_code
        modifiers,
        units,
        shown.base_cents,  # base_amount
        bundled_into,
        bilateral,  # bilateral_percent
        shown.mpr_rank,
        shown.mpr_percent,
        shown.before_cents,  # amount_before_mpr
        expected,  # expected_allowed
        actual,  # actual_allowed
        variance,
        category,
        category in DISPUTABLE,  # disputable
        payer_reduction,  # payer_reduction_percent
        contract_id,
        clause,
        text,  # explanation
        carcs,  # carc
        tuple(line.remark_codes),  # rarc
        shown.exempt,  # mpr_exempt
        shown.secondary,
        by_group,  # group_matched
    )


def _categorize(
    item: _Line, contract: Contract, expected: Decimal, actual: Decimal, variance: Decimal
) -> Category:
    """The §5 table from ``matched`` down; the first matching row wins. ``variance``:
    expected − actual."""
    line = item.line
    shown = item.shown
    underpaid = variance > 0
    if item.group_matched or abs(variance) <= contract.tolerance:
        return Category.MATCHED
    if underpaid and code_changed(line):
        return Category.CODE_CHANGED
    if actual == 0:  # the two rows of a line paid nothing, in the table's order
        if has_reason(line, BUNDLING_CARCS) and shown.bundled_into is None:
            return Category.BUNDLED_INCORRECTLY
        return Category.DENIED
    if underpaid and units_reduced(line):
        return Category.UNITS_REDUCED
    if underpaid and shown.exempt and has_reason(line, MPR_CARC):
        return Category.EXEMPT_REDUCED
    before = shown.before
    if (
        underpaid
        and shown.secondary
        and has_reason(line, MPR_CARC)
        and before is not None
        and before > 0
        and (ONE - actual / before) > (ONE - expected / before)
    ):
        return Category.MPR_OVERAPPLIED
    if underpaid and BILATERAL_MODIFIER in item.modifiers:
        return Category.BILATERAL_UNDERPAID
    if underpaid:
        return Category.FEE_SCHEDULE_UNDERPAID
    return Category.OVERPAID
