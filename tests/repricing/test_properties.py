"""Properties of the repricer over generated claims (hypothesis): line order matters
only for equal-amount ties; an exempt line never changes the others' expected amounts;
variance is always expected − actual; no float anywhere in a result."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.contracts.index import ContractIndex
from app.contracts.schemas import ContractTerms
from app.disputes.deadlines import dispute_deadline
from app.reconciliation.prepare import PRICED_COLUMNS, Payee, Pricer, priced_values
from app.repricing.engine import ExpectedCache, date_of_service, price_claim
from app.repricing.schemas import Category, LineResult
from app.x12.schemas import ClaimPayment, ServiceLine
from tests.repricing.builders import (
    DOS,
    RATES,
    always,
    claim,
    line,
    price,
    reference,
    schedule,
    terms,
)

D = Decimal

# MPR-subject codes with distinct rates (412, 310, 300, 260) and no NCCI edit among them;
# with modifier 50 (× 150 %) none of them ties another either
SUBJECT = ("64483", "64493", "64490", "64479")
# exempt codes: an add-on, an E/M with modifier 25, a drug not in the indicator table
EXEMPT = ("64484", "99214", "J1040")
CODES = SUBJECT + EXEMPT


def test_generated_codes_have_no_edits_among_them_but_the_e_m() -> None:
    ref = reference()
    for code in CODES:
        columns_one = {edit.column1 for edit in ref.edits_by_column2.get(code, ())}
        assert code == "99214" or not columns_one & set(CODES), code
    assert [ref.mpr_subject(code) for code in CODES] == [True] * 4 + [False] * 3


money = st.decimals(min_value=D("0.00"), max_value=D("900.00"), places=2)
units = st.sampled_from(["1", "1", "2", "3", None])
modifiers = st.sampled_from([(), (), ("59",), ("50",), ("25",), ("26",)])
carcs = st.lists(
    st.tuples(st.sampled_from(["CO", "PR", "OA"]), st.sampled_from(["45", "59", "97", "253", "1"])),
    max_size=3,
)


@st.composite
def service_lines(draw: st.DrawFn, code: str) -> ServiceLine:
    adjustments = [f"{g}-{r}-{draw(money)}" for g, r in draw(carcs)]
    return line(
        code,
        draw(st.one_of(st.none(), money.map(str))),
        mods=draw(modifiers),
        units=draw(units),
        paid=str(draw(money)),
        charge=str(draw(st.sampled_from([D("2000.00"), D("100.00"), D("350.00")]))),
        adj=adjustments,
        orig_units=draw(st.sampled_from([None, None, "3"])),
    )


@st.composite
def distinct_code_lines(draw: st.DrawFn, codes: tuple[str, ...] = CODES) -> list[ServiceLine]:
    chosen = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=5, unique=True))
    return [draw(service_lines(code)) for code in chosen]


def _expected_by_position(results: list[LineResult]) -> dict[int, Decimal | None]:
    return {r.position: r.expected_allowed for r in results}


@settings(max_examples=100, deadline=None)
@given(lines=distinct_code_lines(), order=st.randoms(use_true_random=False))
def test_expected_does_not_depend_on_line_order(lines: list[ServiceLine], order) -> None:
    first = price(claim(*lines))  # numbers the lines 1..n
    shuffled = list(lines)
    order.shuffle(shuffled)
    again = price(claim(*shuffled))
    assert _expected_by_position(again) == _expected_by_position(first)


@settings(max_examples=60, deadline=None)
@given(code=st.sampled_from(SUBJECT), n=st.integers(min_value=2, max_value=4))
def test_equal_amount_ties_follow_claim_order(code: str, n: int) -> None:
    results = price(claim(*(line(code, "0.01") for _ in range(n))))
    assert [r.mpr_rank for r in results] == list(range(1, n + 1))
    amounts = [r.expected_allowed for r in results]
    assert amounts[0] is not None
    assert all(a is not None and a <= amounts[0] for a in amounts)


@settings(max_examples=100, deadline=None)
@given(
    lines=distinct_code_lines(SUBJECT + ("64484", "J1040")),
    extra=st.sampled_from(EXEMPT),
    extra_units=units,
    where=st.integers(min_value=0, max_value=5),
)
def test_adding_an_exempt_line_never_changes_the_others(
    lines: list[ServiceLine], extra: str, extra_units: str | None, where: int
) -> None:
    before = _expected_by_position(price(claim(*lines)))
    added = line(extra, "0.01", mods=["25"] if extra == "99214" else [], units=extra_units)
    added.position = 99
    with_extra = list(lines)
    with_extra.insert(min(where, len(lines)), added)
    after = _expected_by_position(price(claim(*with_extra)))
    del after[99]
    assert after == before


@st.composite
def any_claims(draw: st.DrawFn):
    codes = st.sampled_from(CODES + ("77003", "20610", "99999"))
    lines = [draw(service_lines(draw(codes))) for _ in range(draw(st.integers(1, 6)))]
    for item in lines:
        if draw(st.booleans()) and item.modifiers == ():
            item.modifiers = (draw(st.sampled_from(["RT", "LT"])),)
    status = draw(st.sampled_from(["1", "1", "1", "2", "19", "4"]))
    pos = draw(st.sampled_from(["11", "22", None]))
    return claim(*lines, status=status, pos=pos)


contract_variants = st.sampled_from(
    [
        {},
        {
            "multiple_procedure_schedule": [D(100), D(50), D(25)],
            "multiple_procedure_reduction_percent": None,
        },
        {"lesser_of_charges": False, "tolerance": D(0)},
        {"bilateral_percent": D(175), "mpr_exempt": ["64493"], "price_secondary": True},
    ]
)


@settings(max_examples=120, deadline=None)
@given(claim_payment=any_claims(), overrides=contract_variants)
def test_variance_is_expected_minus_actual_and_nothing_is_a_float(claim_payment, overrides) -> None:
    results = price(claim_payment, terms(**overrides))
    assert len(results) == len(claim_payment.lines)
    for result in results:
        if result.expected_allowed is None:
            assert result.variance is None
            assert result.category in {Category.SECONDARY_PAYMENT, Category.NO_RATE}
        else:
            assert result.variance == result.expected_allowed - result.actual_allowed
            assert result.expected_allowed == result.expected_allowed.quantize(D("0.01"))
            assert result.expected_allowed >= 0
        for item in dataclasses.fields(result):
            value = getattr(result, item.name)
            assert not isinstance(value, float), item.name
            if item.name in {
                "units",
                "base_amount",
                "bilateral_percent",
                "mpr_percent",
                "amount_before_mpr",
                "expected_allowed",
                "actual_allowed",
                "variance",
                "payer_reduction_percent",
            }:
                assert value is None or isinstance(value, Decimal), item.name
        assert all(isinstance(c, str) for c in result.carc + result.rarc)
        assert result.disputable is (
            result.category.value
            in {
                "code_changed",
                "bundled_incorrectly",
                "units_reduced",
                "exempt_reduced",
                "mpr_overapplied",
                "bilateral_underpaid",
                "fee_schedule_underpaid",
            }
        )
        assert result.category is not Category.REVERSED
        assert result.explanation.endswith(".")
        assert "DOE" not in result.explanation


# --- the cache of expected amounts ---------------------------------------------------

SECOND_DOS = date(2026, 7, 1)


@st.composite
def claim_runs(
    draw: st.DrawFn, dates: tuple[date | None, ...] = (DOS, SECOND_DOS), line_dates: bool = False
) -> list[ClaimPayment]:
    """Claims that mostly repeat a few billed shapes (as a practice's charge master
    makes them) with other payments, places of service and dates of service, and now
    and then another code, modifier, unit count or charge on a line. ``line_dates``:
    a line's own date of service may be any of ``dates``, not only the claim's."""
    shapes = draw(st.lists(any_claims(), min_size=1, max_size=3))
    codes = st.sampled_from(CODES + ("77003", "20610"))

    def often(value: object, other: st.SearchStrategy) -> object:
        return draw(st.one_of(st.just(value), st.just(value), other))

    run = []
    for _ in range(draw(st.integers(2, 6))):
        shape = draw(st.sampled_from(shapes))
        dos = draw(st.sampled_from(dates))
        lines = [
            line(
                often(item.procedure_code, codes),
                draw(st.one_of(st.none(), money.map(str))),
                mods=often(item.modifiers, modifiers),
                units=often(
                    None if item.units is None else str(item.units), st.sampled_from(["2", "3"])
                ),
                paid=str(draw(money)),
                charge=often(str(item.charge_amount), st.sampled_from(["150.00", "350"])),
                adj=[f"{a.group_code}-{a.reason_code}-{draw(money)}" for a in item.adjustments],
                orig_units=None if item.original_units is None else str(item.original_units),
                dos=(
                    draw(st.sampled_from(dates))
                    if line_dates
                    else dos
                    if draw(st.booleans())
                    else None
                ),
            )
            for item in shape.lines
        ]
        run.append(
            claim(
                *lines,
                status=shape.status_code,
                pos=draw(st.sampled_from([shape.place_of_service, "22"])),
                statement_from=dos,
            )
        )
    return run


@settings(max_examples=150, deadline=None)
@given(run=claim_runs(), first=contract_variants, second=contract_variants)
def test_cached_expected_amounts_give_the_same_results(
    run: list[ClaimPayment], first: dict, second: dict
) -> None:
    ref = reference()
    # another fee schedule after the first date: the contract version is part of the key
    doubled = {code: (str(D(nf) * 2), str(D(f) * 2)) for code, (nf, f) in RATES.items()}
    by_date = {DOS: terms(**first), SECOND_DOS: terms(schedule(doubled), **second)}

    def contract_for(dos: date | None) -> ContractTerms | None:
        return by_date.get(dos) if dos is not None else None

    cache = ExpectedCache()
    entries = []
    for _ in range(2):  # the second pass is served from the cache
        for claim_payment in run:
            cached = price_claim(claim_payment, contract_for, ref, cache=cache)
            uncached = price_claim(claim_payment, contract_for, ref)
            # repr shows each Decimal's exponent: the same values, digit for digit
            assert repr(cached) == repr(uncached)
        entries.append(len(cache))
    assert entries[1] == entries[0]


def test_a_full_cache_starts_again() -> None:
    cache = ExpectedCache(max_entries=2)
    ref = reference()
    found = terms()
    for code in ("64483", "64493", "64490"):
        price_claim(claim(line(code, "100.00")), always(found), ref, cache=cache)
    assert len(cache) == 1


# --- what ingest and re-pricing remember across claims --------------------------------

BEFORE_ANY = date(2025, 6, 1)  # no contract in force yet
LATER_DOS = date(2026, 6, 20)  # under the first version, as DOS


@settings(max_examples=150, deadline=None)
@given(
    runs=st.lists(
        claim_runs((DOS, LATER_DOS, SECOND_DOS, BEFORE_ANY, None), line_dates=True),
        min_size=1,
        max_size=3,
    ),
    first=contract_variants,
    second=contract_variants,
    windows=st.sampled_from(
        [
            ({"dispute_window_months": 18}, {"dispute_window_days": 90}),
            ({"dispute_window_days": 365}, {"dispute_window_months": 1}),
            (
                {"dispute_window_months": 12, "dispute_window_from": "service"},
                {"dispute_window_days": 30, "dispute_window_from": "service"},
            ),
        ]
    ),
    payment_dates=st.lists(
        st.sampled_from([date(2026, 8, 31), date(2026, 9, 15), date(2027, 1, 31), None]),
        min_size=3,
        max_size=3,
    ),
)
def test_a_pricer_gives_what_the_plain_engine_gives(
    runs: list[list[ClaimPayment]],
    first: dict[str, Any],
    second: dict[str, Any],
    windows: tuple[dict[str, Any], dict[str, Any]],
    payment_dates: list[date | None],
) -> None:
    """``Pricer.price`` (the expected amounts cached, contracts matched once per date,
    each result handed over with the contract and date of service found while
    pricing) and ``priced_values`` (deadlines remembered) against ``price_claim``
    without a cache, the contract and date of service looked up per line and the
    deadline worked out per line: every field, digit for digit."""
    ref = reference()
    doubled = {code: (str(D(nf) * 2), str(D(f) * 2)) for code, (nf, f) in RATES.items()}
    # a window in months or in days, never both
    first_window, second_window = ({"dispute_window_months": None} | w for w in windows)
    index = ContractIndex.from_terms(
        [
            terms(effective_to=SECOND_DOS - timedelta(days=1), **first_window, **first),
            terms(schedule(doubled), effective_from=SECOND_DOS, **second_window, **second),
        ]
    )
    pricer = Pricer(index, ref)
    payee = Payee(("60054",), "1326048597", None)

    def contract_for(dos: date | None) -> ContractTerms | None:
        return index.match(
            payer_identifiers=payee.payer_identifiers,
            payee_npi=payee.payee_npi,
            payee_tin=payee.payee_tin,
            service_date=dos,
        )

    for _ in range(2):  # the second pass finds everything remembered
        for run, payment_date in zip(runs, payment_dates, strict=False):
            for claim_payment in run:
                priced = pricer.price(claim_payment, payee)
                plain = price_claim(claim_payment, contract_for, ref)
                assert len(priced) == len(plain) == len(claim_payment.lines)
                by_position = {item.position: item for item in claim_payment.lines}
                for (result, found, service_date), alone in zip(priced, plain, strict=True):
                    # repr shows each Decimal's exponent: the same values, digit for digit
                    assert repr(result) == repr(alone)
                    dos = date_of_service(claim_payment, by_position[alone.position])
                    assert service_date == dos
                    assert found is contract_for(dos)
                    values = priced_values(
                        result,
                        found,
                        service_date,
                        payer_id="60054",
                        payer_name="ACME",
                        payment_date=payment_date,
                    )
                    deadline = (
                        None
                        if found is None
                        else dispute_deadline(
                            found.contract, payment_date=payment_date, service_date=dos
                        )
                    )
                    assert values[PRICED_COLUMNS.index("dispute_deadline")] == deadline
                    again = priced_values(
                        alone,
                        found,
                        dos,
                        payer_id="60054",
                        payer_name="ACME",
                        payment_date=payment_date,
                    )
                    assert repr(values) == repr(again)
