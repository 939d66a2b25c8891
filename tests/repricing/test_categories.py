"""The category table of repricing.md §5, row by row: each row applies, and each wins
over the rows below it when both would match; the group comparison; tolerance;
disputable, clause and payer reduction per category."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.repricing.engine import price_claim
from app.repricing.schemas import CLAUSE_KEY, DISPUTABLE, Category
from tests.repricing.builders import always, claim, line, price, reference, schedule, terms

D = Decimal
C = Category


def only(results):
    (result,) = results
    return result


# --- secondary payment, no contract, no rate -------------------------------------------


@pytest.mark.parametrize(
    ("status", "category"),
    [("2", C.SECONDARY_PAYMENT), ("3", C.SECONDARY_PAYMENT), ("20", C.SECONDARY_PAYMENT)]
    + [("21", C.SECONDARY_PAYMENT), ("1", C.MATCHED), ("19", C.MATCHED), ("4", C.MATCHED)],
)
def test_claims_processed_as_secondary_are_not_priced(status: str, category: Category) -> None:
    result = only(price(claim(line("64483", "412.00"), status=status)))
    assert result.category is category
    if category is C.SECONDARY_PAYMENT:
        assert (result.expected_allowed, result.variance) == (None, None)
        assert result.actual_allowed == D("412.00")
        assert result.contract_id == "acme-ppo-2026"


def test_price_secondary_prices_secondary_claims() -> None:
    result = only(price(claim(line("64483", "390.00"), status="2"), price_secondary=True))
    assert (result.expected_allowed, result.category) == (D("412.00"), C.FEE_SCHEDULE_UNDERPAID)


def test_secondary_payment_wins_over_no_contract_and_no_rate() -> None:
    no_contract = price_claim(claim(line("64483", "300.00"), status="2"), always(None), reference())
    assert only(no_contract).category is C.SECONDARY_PAYMENT
    assert only(no_contract).contract_id is None
    no_rate = only(price(claim(line("99999", "300.00"), status="3")))
    assert no_rate.category is C.SECONDARY_PAYMENT


def test_no_contract_wins_over_no_rate() -> None:
    results = price_claim(
        claim(line(None, "10.00"), line("64483", "412.00")), always(None), reference()
    )
    assert [r.category for r in results] == [C.NO_CONTRACT, C.NO_CONTRACT]
    assert all(r.expected_allowed is None and r.variance is None for r in results)
    assert [r.actual_allowed for r in results] == [D("10.00"), D("412.00")]
    assert all(r.contract_id is None and r.disputable is False for r in results)


@pytest.mark.parametrize("allowed", ["0.00", "412.00", "5000.00"])
def test_no_rate_wins_over_every_amount_row(allowed: str) -> None:
    result = only(price(claim(line("99999", allowed, adj=["CO-97-10.00"]))))
    assert result.category is C.NO_RATE
    assert (result.expected_allowed, result.variance, result.base_amount) == (None, None, None)
    assert result.contract_id == "acme-ppo-2026"
    assert result.actual_allowed == D(allowed)


def test_unreadable_procedure_code_is_no_rate() -> None:
    first, second = price(claim(line(None, "25.00"), line("64483", "412.00")))
    assert (first.category, first.procedure_code) == (C.NO_RATE, None)
    assert "could not be read" in first.explanation
    assert second.category is C.MATCHED


# --- the amount rows -------------------------------------------------------------------

SVC06 = {"orig_code": "64483"}  # billed 64483, adjudicated as 64479 (SVC01)


@pytest.mark.parametrize(
    ("service_line", "category"),
    [
        # matched wins over code_changed (within tolerance)
        (line("64479", "411.50", **SVC06), C.MATCHED),
        # code_changed wins over bundled_incorrectly and denied
        (line("64479", "0.00", adj=["CO-97-1250.00"], **SVC06), C.CODE_CHANGED),
        (line("64479", "260.00", **SVC06), C.CODE_CHANGED),
        # ... but only when underpaid
        (line("64479", "450.00", **SVC06), C.OVERPAID),
        # bundled_incorrectly wins over denied
        (line("64483", "0.00", adj=["CO-97-1250.00"]), C.BUNDLED_INCORRECTLY),
        (line("64483", "0.00", adj=["OA-B15-1250.00"]), C.BUNDLED_INCORRECTLY),
        (line("64483", "0.00", adj=["CO-234-1250.00"]), C.BUNDLED_INCORRECTLY),
        # denied: any other reason, or none
        (line("64483", "0.00", adj=["CO-197-1250.00"]), C.DENIED),
        (line("64483", "0.00", adj=["PR-96-1250.00"]), C.DENIED),
        (line("64483", "0.00"), C.DENIED),
        # denied wins over units_reduced
        (line("64484", "0.00", units="1", orig_units="2", adj=["CO-151-1200.00"]), C.DENIED),
        # units_reduced wins over exempt_reduced
        (line("64484", "99.00", units="1", orig_units="2", adj=["CO-59-99.00"]), C.UNITS_REDUCED),
        (line("64484", "198.00", units="1", orig_units="2"), C.UNITS_REDUCED),
        # exempt_reduced wins over bilateral_underpaid
        (line("64484", "198.00", mods=["50"], adj=["CO-59-99.00"]), C.EXEMPT_REDUCED),
        (line("64484", "99.00", adj=["OA-59-99.00"]), C.EXEMPT_REDUCED),
        # bilateral_underpaid wins over fee_schedule_underpaid
        (line("64493", "310.00", mods=["50"]), C.BILATERAL_UNDERPAID),
        # fee_schedule_underpaid: a single subject procedure carrying CO-59 is not secondary
        (line("64483", "206.00", adj=["CO-59-206.00"]), C.FEE_SCHEDULE_UNDERPAID),
        (line("64484", "150.00", adj=["CO-45-48.00"]), C.FEE_SCHEDULE_UNDERPAID),
        (line("64483", "410.99"), C.FEE_SCHEDULE_UNDERPAID),
        (line("64483", "413.01"), C.OVERPAID),
    ],
)
def test_category_rows_in_order(service_line, category: Category) -> None:
    # 64483 stands first on the claim so 64484 (its add-on) is not alone; the line
    # under test is the last one, and 64483 is allowed its full rate
    lines = [service_line]
    if service_line.procedure_code == "64484":
        lines.insert(0, line("64483", "412.00"))
    result = price(claim(*lines))[-1]
    assert result.category is category
    assert result.disputable is (category in DISPUTABLE)


def test_mpr_overapplied_wins_over_bilateral_underpaid() -> None:
    fees = schedule({"64483": ("700.00", "700.00"), "64493": ("310.00", "170.00")})
    first, second = price(
        claim(line("64483", "700.00"), line("64493", "150.00", mods=["50"], adj=["CO-59-82.50"])),
        terms(fees),
    )
    assert second.mpr_rank == 2
    assert (second.amount_before_mpr, second.expected_allowed) == (D("465.00"), D("232.50"))
    assert second.category is C.MPR_OVERAPPLIED
    assert second.payer_reduction_percent == D("67.74")  # 1 − 150 / 465


@pytest.mark.parametrize("group", ["CO", "PR", "OA", "PI"])
def test_mpr_overapplied_needs_carc_59_in_any_group(group: str) -> None:
    _, second = price(
        claim(line("64483", "412.00"), line("64493", "124.00", adj=[f"{group}-59-31"]))
    )
    assert second.category is C.MPR_OVERAPPLIED


def test_secondary_procedure_underpaid_without_carc_59_is_fee_schedule_underpaid() -> None:
    _, second = price(claim(line("64483", "412.00"), line("64493", "124.00", adj=["CO-45-776"])))
    assert second.category is C.FEE_SCHEDULE_UNDERPAID
    assert second.payer_reduction_percent == D("60.00")


@pytest.mark.parametrize(
    ("tolerance", "allowed", "category"),
    [
        (None, "411.00", C.MATCHED),
        (None, "410.99", C.FEE_SCHEDULE_UNDERPAID),
        (None, "413.00", C.MATCHED),
        (None, "413.01", C.OVERPAID),
        (D("0"), "411.99", C.FEE_SCHEDULE_UNDERPAID),
        (D("0"), "412.00", C.MATCHED),
        (D("5.00"), "407.00", C.MATCHED),
        (D("5.00"), "417.01", C.OVERPAID),
    ],
)
def test_tolerance(tolerance: Decimal | None, allowed: str, category: Category) -> None:
    overrides = {} if tolerance is None else {"tolerance": tolerance}
    result = only(price(claim(line("64483", allowed)), **overrides))
    assert result.category is category
    assert result.variance == D("412.00") - D(allowed)


# --- §5 the MPR group is compared first -------------------------------------------------


@pytest.mark.parametrize(
    ("first_allowed", "second_allowed", "categories"),
    [
        # the payer ranked them the other way round but paid the contract's total
        ("361.00", "206.00", (C.MATCHED, C.MATCHED)),
        ("360.01", "206.00", (C.MATCHED, C.MATCHED)),  # 0.99 short: within tolerance
        ("360.00", "206.00", (C.MATCHED, C.MATCHED)),  # 1.00 short: at the tolerance
        ("359.99", "206.00", (C.FEE_SCHEDULE_UNDERPAID, C.OVERPAID)),  # 1.01 short
        # the group rule wins even over a line paid 0: the total is what was due
        ("0.00", "567.00", (C.MATCHED, C.MATCHED)),
        ("0.00", "155.00", (C.DENIED, C.MATCHED)),
    ],
)
def test_group_comparison_before_the_table(
    first_allowed: str, second_allowed: str, categories: tuple[Category, Category]
) -> None:
    results = price(claim(line("64483", first_allowed), line("64493", second_allowed)))
    assert tuple(r.category for r in results) == categories
    assert [r.expected_allowed for r in results] == [D("412.00"), D("155.00")]


def test_group_matched_mentions_the_group_and_flags_it() -> None:
    first, second = price(claim(line("64483", "361.00"), line("64493", "206.00")))
    assert first.group_matched is True
    assert second.group_matched is True
    assert first.explanation == (
        "64483 paid as contracted when the claim's procedures on 2026-06-01 are taken "
        "together: expected $412.00, allowed $361.00 (together expected $567.00, "
        "allowed $567.00)."
    )


def test_group_is_only_the_ranked_lines() -> None:
    # the exempt add-on and the bundled imaging are not part of the group: the payer's
    # shortfall on 64484 cannot be offset by the ranked lines
    results = price(
        claim(
            line("64483", "412.00"),
            line("64484", "198.00", units="2", adj=["CO-59-198.00"]),
            line("77003", "0.00", adj=["CO-97-150.00"]),
        )
    )
    assert [r.category for r in results] == [C.MATCHED, C.EXEMPT_REDUCED, C.MATCHED]
    assert [r.group_matched for r in results] == [False, False, False]


# --- clause, disputable, payer reduction ------------------------------------------------


def test_disputable_and_clause_key_tables() -> None:
    assert {
        C.CODE_CHANGED,
        C.BUNDLED_INCORRECTLY,
        C.UNITS_REDUCED,
        C.EXEMPT_REDUCED,
        C.MPR_OVERAPPLIED,
        C.BILATERAL_UNDERPAID,
        C.FEE_SCHEDULE_UNDERPAID,
    } == DISPUTABLE
    assert set(CLAUSE_KEY) == DISPUTABLE
    assert CLAUSE_KEY[C.UNITS_REDUCED] == "fee_schedule"
    assert CLAUSE_KEY[C.EXEMPT_REDUCED] == "multiple_procedure_reduction"
    assert CLAUSE_KEY[C.BUNDLED_INCORRECTLY] == "bundling"
    assert [c.value for c in Category][:4] == [
        "reversed",
        "secondary_payment",
        "no_contract",
        "no_rate",
    ]


@pytest.mark.parametrize(
    ("service_line", "category", "clause"),
    [
        (line("64483", "390.00"), C.FEE_SCHEDULE_UNDERPAID, "Exhibit A"),
        (line("64479", "260.00", **SVC06), C.CODE_CHANGED, "Exhibit A"),
        (line("64483", "0.00", adj=["CO-97-1.00"]), C.BUNDLED_INCORRECTLY, "Section 4.4"),
        (line("64493", "310.00", mods=["50"]), C.BILATERAL_UNDERPAID, "Section 4.3"),
        (line("64483", "412.00"), C.MATCHED, None),
        (line("64483", "0.00", adj=["CO-197-1.00"]), C.DENIED, None),
        (line("64483", "500.00"), C.OVERPAID, None),
    ],
)
def test_clause_of_the_category(service_line, category: Category, clause: str | None) -> None:
    result = only(price(claim(service_line)))
    assert (result.category, result.clause) == (category, clause)


def test_missing_clause_is_none() -> None:
    result = only(price(claim(line("64483", "390.00")), clauses={}))
    assert result.category is C.FEE_SCHEDULE_UNDERPAID
    assert result.clause is None
    assert result.explanation == (
        "64483 paid below the contract rate: expected $412.00, allowed $390.00."
    )


def test_payer_reduction_on_every_secondary_line_only() -> None:
    results = price(
        claim(
            line("64483", "412.00"),
            line("64493", "155.00"),
            line("64490", "0.00", adj=["CO-197-1.00"]),
            line("64484", "198.00"),
        )
    )
    assert [r.payer_reduction_percent for r in results] == [None, D("50.00"), D("100.00"), None]
    assert [r.secondary for r in results] == [False, True, True, False]
