"""Each rule of repricing.md §2–§4 on its own, table-driven: what was billed, place of
service, the rate look-up (modifier rows, percent-of), bundling, bilateral, multiple
procedure reduction, rounding, lesser of charges and the actual allowed amount."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.contracts.reference import CodeIndicators, NcciEdit
from app.contracts.schemas import FeeRate, FeeSchedule
from app.repricing.engine import actual_allowed, date_of_service, price_claim
from app.repricing.rules import NCCI_ASSOCIATED_MODIFIERS, is_facility
from app.repricing.schemas import Category
from app.x12.schemas import Adjustment
from tests.repricing.builders import (
    always,
    claim,
    line,
    price,
    reference,
    reference_with,
    schedule,
    terms,
)

D = Decimal


def expected(*lines_, **kwargs) -> list[Decimal | None]:
    return [r.expected_allowed for r in price(claim(*lines_), **kwargs)]


# --- §2 what was billed ---------------------------------------------------------------


def test_svc06_is_the_billed_procedure_with_its_modifiers_and_svc07_units() -> None:
    (result,) = price(
        claim(
            line(
                "64490",
                "300.00",
                mods=["59"],
                units="1",
                orig_code="64493",
                orig_mods=["RT"],
                orig_units="1",
            )
        )
    )
    assert (result.procedure_code, result.modifiers, result.units) == ("64493", ("RT",), D(1))
    assert (result.expected_allowed, result.variance) == (D("310.00"), D("10.00"))
    assert result.category is Category.CODE_CHANGED


@pytest.mark.parametrize(
    ("svc05", "svc07", "units"),
    [(None, None, D(1)), ("2", None, D(2)), ("1", "3", D(3)), (None, "2", D(2))],
)
def test_billed_units_are_svc07_else_svc05_else_one(
    svc05: str | None, svc07: str | None, units: Decimal
) -> None:
    (result,) = price(claim(line("64484", "0.01", units=svc05, orig_units=svc07)))
    assert result.units == units
    assert result.expected_allowed == D("198.00") * units


@pytest.mark.parametrize(
    ("pos", "facility"),
    [("11", False), ("22", True), ("21", True), ("24", True), ("31", True), ("61", True)]
    + [("19", True), ("12", False), ("49", False), (None, False), ("", False)],
)
def test_place_of_service_chooses_facility_or_non_facility_rate(
    pos: str | None, facility: bool
) -> None:
    assert is_facility(pos) is facility
    (result,) = price(claim(line("64483", "0.01"), pos=pos))
    assert result.expected_allowed == (D("236.50") if facility else D("412.00"))


def test_blank_facility_rate_falls_back_to_non_facility() -> None:
    fees = FeeSchedule.of([FeeRate("64483", "", D("412.00"), None)])
    (result,) = price(claim(line("64483", "412.00"), pos="22"), terms(fees))
    assert result.expected_allowed == D("412.00")


def test_date_of_service_is_the_line_date_else_the_claim_statement_date() -> None:
    with_date = line("64483", dos=date(2026, 6, 3))
    without = line("64483", dos=None)
    c = claim(with_date, without, statement_from=date(2026, 6, 1))
    assert date_of_service(c, with_date) == date(2026, 6, 3)
    assert date_of_service(c, without) == date(2026, 6, 1)
    assert date_of_service(claim(line("64483", dos=None), statement_from=None), without) is None


def test_contract_is_asked_for_each_line_date_of_service() -> None:
    asked: list[date | None] = []
    june = terms()

    def contract_for(dos: date | None):
        asked.append(dos)
        return june if dos == date(2026, 6, 1) else None

    results = price_claim(
        claim(
            line("64483", "412.00", dos=date(2026, 6, 1)),
            line("64493", "310.00", dos=date(2026, 7, 1)),
            line("64490", "150.00", dos=None),
            statement_from=date(2026, 6, 1),
        ),
        contract_for,
        reference(),
    )
    assert sorted(asked, key=str) == [date(2026, 6, 1), date(2026, 7, 1)]
    assert [r.category for r in results] == [
        Category.MATCHED,
        Category.NO_CONTRACT,
        Category.MATCHED,  # no line date: the claim's DTM*232, June 1
    ]
    # the line without its own date joins June 1's ranking: 64490 is rank 2
    assert results[2].mpr_rank == 2
    assert results[2].expected_allowed == D("150.00")


# --- §3 step 1: the rate ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("mods", "rate"),
    [((), "88.00"), (("26",), "45.10"), (("TC",), "42.90"), (("59", "26"), "45.10")]
    + [(("XS",), "88.00")],
)
def test_modifier_row_else_blank_modifier_row(mods: tuple[str, ...], rate: str) -> None:
    fees = schedule(w77003_26="45.10", w77003_TC="42.90")
    (result,) = price(claim(line("77003", "0.01", mods=mods)), terms(fees))
    assert result.base_amount == D(rate)
    assert result.expected_allowed == D(rate)


MEDICARE = FeeSchedule.of(
    [
        FeeRate("64483", "", D("236.13"), D("107.71")),
        FeeRate("64635", "", D("420.50"), D("186.64")),
        FeeRate("77003", "", D("99.63"), None),
        FeeRate("77003", "26", D("45.10"), D("45.10")),
    ]
)


@pytest.mark.parametrize(
    ("code", "mods", "pos", "amount"),
    [
        ("64635", (), "11", "504.60"),  # 420.50 × 120 %
        ("64635", (), "22", "223.97"),  # 186.64 × 120 % = 223.968
        ("77003", ("26",), "11", "54.12"),  # the referenced schedule's 26 row
        ("64483", (), "11", "412.00"),  # the contract's own row takes precedence
    ],
)
def test_percent_of_schedule(code: str, mods: tuple[str, ...], pos: str, amount: str) -> None:
    own = schedule({"64483": ("412.00", "236.50")})
    found = terms(
        own,
        MEDICARE,
        percent_of={"schedule": "medicare.csv", "percent": D(120)},
    )
    (result,) = price(claim(line(code, "0.01", mods=mods), pos=pos), found)
    assert result.expected_allowed == D(amount)


def test_percent_of_without_own_fee_schedule() -> None:
    found = terms(
        FeeSchedule(),
        MEDICARE,
        fee_schedule=None,
        percent_of={"schedule": "medicare.csv", "percent": D("112.5")},
    )
    first, second = price(claim(line("64483", "0.01"), line("64484", "0.01")), found)
    assert first.expected_allowed == D("265.65")  # 236.13 × 112.5 % = 265.64625
    assert second.category is Category.NO_RATE


# --- §3 step 2: bundling ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("column_two", "column_one", "bundled"),
    [
        # NCCI 64483/20610 indicator 1: an NCCI-associated modifier lifts it
        (("20610", ()), "64483", True),
        (("20610", ("59",)), "64483", False),
        (("20610", ("XS",)), "64483", False),
        (("20610", ("RT",)), "64483", False),
        (("20610", ("26",)), "64483", True),  # not an NCCI-associated modifier
        (("20610", ("51",)), "64483", True),
        # NCCI 27096/64484 indicator 0: nothing lifts it
        (("64484", ()), "27096", True),
        (("64484", ("59",)), "27096", True),
        (("64484", ("XU",)), "27096", True),
        # NCCI 64483/99214 indicator 1: modifier 25 on the E/M lifts it
        (("99214", ()), "64483", True),
        (("99214", ("25",)), "64483", False),
    ],
)
def test_ncci_edits_and_their_modifier_indicator(
    column_two: tuple[str, tuple[str, ...]], column_one: str, bundled: bool
) -> None:
    code, mods = column_two
    first, second = price(claim(line(column_one, "0.01"), line(code, "0.00", mods=mods)))
    assert first.bundled_into is None
    assert second.bundled_into == (column_one if bundled else None)
    if bundled:
        assert second.expected_allowed == D("0.00")
        assert second.mpr_rank is None
        assert second.category is Category.MATCHED  # paid 0 as the edit says
    else:
        assert second.expected_allowed > 0


@pytest.mark.parametrize("modifier", sorted(NCCI_ASSOCIATED_MODIFIERS))
def test_every_ncci_associated_modifier_lifts_an_indicator_1_edit(modifier: str) -> None:
    _, imaging = price(claim(line("64483", "0.01"), line("77003", "0.01", mods=[modifier])))
    assert imaging.bundled_into is None
    assert imaging.expected_allowed == D("88.00")


def test_column_one_must_be_on_the_same_date() -> None:
    first, second = price(
        claim(
            line("64483", "412.00", dos=date(2026, 6, 1)),
            line("77003", "88.00", dos=date(2026, 6, 2)),
        )
    )
    assert second.bundled_into is None
    assert second.expected_allowed == D("88.00")


def test_column_two_alone_is_not_bundled() -> None:
    (result,) = price(claim(line("77003", "88.00")))
    assert (result.bundled_into, result.expected_allowed) == (None, D("88.00"))


@pytest.mark.parametrize(
    ("modifier_allowed", "mods", "bundled"),
    [(False, (), True), (False, ("59",), True), (True, ("59",), False), (True, (), True)],
)
def test_contract_bundling_edits(
    modifier_allowed: bool, mods: tuple[str, ...], bundled: bool
) -> None:
    # 64494 into 64493 is not an NCCI edit; the contract adds it
    found = terms(
        bundled=[{"code": "64494", "into": ["64493"], "modifier_allowed": modifier_allowed}]
    )
    _, add_on = price(claim(line("64493", "0.01"), line("64494", "0.01", mods=mods)), found)
    assert add_on.bundled_into == ("64493" if bundled else None)
    assert add_on.expected_allowed == (D("0.00") if bundled else D("155.00"))


def test_contract_edit_without_modifier_allowed_beats_an_ncci_indicator_1() -> None:
    # NCCI 64483/77003 has indicator 1 (59 lifts it); the contract says it never does
    found = terms(bundled=[{"code": "77003", "into": ["64483"]}])
    _, imaging = price(claim(line("64483", "0.01"), line("77003", "0.01", mods=["59"])), found)
    assert imaging.bundled_into == "64483"
    assert imaging.expected_allowed == D("0.00")


def test_bundled_line_needs_no_rate() -> None:
    fees = schedule({"64483": ("412.00", "236.50")})
    _, imaging = price(claim(line("64483", "412.00"), line("77003", "0.00")), terms(fees))
    assert imaging.category is Category.MATCHED
    assert (imaging.expected_allowed, imaging.base_amount) == (D("0.00"), None)


def test_mutual_edits_keep_the_earlier_line_payable() -> None:
    ref = reference_with(edits=[NcciEdit("64493", "64490", "0"), NcciEdit("64490", "64493", "0")])
    first, second = price(claim(line("64490", "0.01"), line("64493", "0.01")), ref=ref)
    assert (first.bundled_into, second.bundled_into) == (None, "64490")
    assert (first.expected_allowed, second.expected_allowed) == (D("300.00"), D("0.00"))


def test_bundled_line_takes_no_part_in_mpr() -> None:
    # 20610 is MPR-subject; bundled into 64483 it does not push 64493 down a rank
    results = price(claim(line("64483", "0.01"), line("20610", "0.00"), line("64493", "0.01")))
    assert [r.mpr_rank for r in results] == [1, None, 2]
    assert [r.expected_allowed for r in results] == [D("412.00"), D("0.00"), D("155.00")]


# --- §3 step 3: bilateral --------------------------------------------------------------


@pytest.mark.parametrize(
    ("indicator", "percent", "amount"),
    [("1", 150, "465.00"), ("3", 200, "620.00"), ("0", 100, "310.00")]
    + [("2", 100, "310.00"), ("9", 100, "310.00"), (None, 150, "465.00")],
)
def test_modifier_50_by_bilateral_indicator(
    indicator: str | None, percent: int, amount: str
) -> None:
    if indicator is None:  # a code not in the table
        ref = reference_with()
        fees = schedule({"X0001": ("310.00", "310.00")})
        code = "X0001"
    else:
        ref = reference_with(CodeIndicators("64493", "2", indicator, "000"))
        fees = schedule()
        code = "64493"
    (result,) = price(claim(line(code, "0.01", mods=["50"])), terms(fees), ref=ref)
    assert result.bilateral_percent == D(percent)
    assert result.amount_before_mpr == D(amount)
    assert result.expected_allowed == D(amount)


def test_contract_bilateral_percent() -> None:
    (result,) = expected(line("64493", "0.01", mods=["50"]), bilateral_percent=D(175))
    assert result == D("542.50")


def test_rt_and_lt_lines_are_one_bilateral_procedure_split_equally() -> None:
    right, left = price(
        claim(line("64493", "155.00", mods=["RT"]), line("64493", "310.00", mods=["LT"]))
    )
    for result in (right, left):
        assert result.bilateral_percent == D(150)
        assert result.amount_before_mpr == D("232.50")
        assert result.expected_allowed == D("232.50")
        assert result.mpr_rank == 1
        assert result.secondary is False


def test_rt_lt_split_rounds_so_the_cents_add_up() -> None:
    fees = schedule({"64493": ("66.67", "66.67")})  # 150 % = 100.005 → 100.01
    right, left = price(
        claim(line("64493", "0.01", mods=["RT"]), line("64493", "0.01", mods=["LT"])),
        terms(fees),
    )
    assert right.expected_allowed == D("50.00")  # 50.0025 half-up
    assert left.expected_allowed == D("50.01")
    assert right.expected_allowed + left.expected_allowed == D("100.01")


def test_rt_lt_pair_ranks_as_one_procedure() -> None:
    results = price(
        claim(
            line("64483", "0.01"),
            line("64493", "0.01", mods=["RT"]),
            line("64493", "0.01", mods=["LT"]),
        )
    )
    # the pair (465.00) outranks 64483 (412.00), which becomes rank 2 at 50 %
    assert [r.mpr_rank for r in results] == [2, 1, 1]
    assert [r.expected_allowed for r in results] == [D("206.00"), D("232.50"), D("232.50")]


def test_rt_lt_pair_as_secondary_procedure() -> None:
    results = price(
        claim(
            line("64635", "0.01"),
            line("64493", "0.01", mods=["RT"]),
            line("64493", "0.01", mods=["LT"]),
        )
    )
    # 64493 is column two of 64635 (indicator 1), but RT/LT are anatomic modifiers
    assert [r.bundled_into for r in results] == [None, None, None]
    assert [r.expected_allowed for r in results] == [D("500.00"), D("116.25"), D("116.25")]
    assert results[1].secondary
    assert results[2].secondary


@pytest.mark.parametrize(
    ("code", "mods_units", "paired"),
    [
        ("20552", [(("RT",), "1"), (("LT",), "1")], False),  # bilateral indicator 0
        ("64493", [(("RT",), "1"), (("RT",), "1")], False),  # two rights
        ("64493", [(("RT",), "1"), (("LT",), "2")], False),  # different units
        ("64493", [(("RT", "50"), "1"), (("LT",), "1")], False),  # 50 priced on its own
        ("64493", [(("RT",), "2"), (("LT",), "2")], True),
    ],
)
def test_what_makes_an_rt_lt_pair(
    code: str, mods_units: list[tuple[tuple[str, ...], str]], paired: bool
) -> None:
    results = price(claim(*(line(code, "0.01", mods=m, units=u) for m, u in mods_units)))
    same_percent = results[0].bilateral_percent == results[1].bilateral_percent == D(150)
    assert (same_percent and results[0].mpr_rank == results[1].mpr_rank) is paired


def test_three_sides_pair_in_claim_order() -> None:
    results = price(
        claim(
            line("64493", "0.01", mods=["RT"]),
            line("64493", "0.01", mods=["LT"]),
            line("64493", "0.01", mods=["RT"]),
        )
    )
    # the pair (465.00) is rank 1; the third line (310.00) rank 2
    assert [r.mpr_rank for r in results] == [1, 1, 2]
    assert [r.expected_allowed for r in results] == [D("232.50"), D("232.50"), D("155.00")]
    assert results[2].bilateral_percent is None


# --- §3 step 4: multiple procedure reduction ------------------------------------------


def test_subject_units_beyond_the_first_are_more_procedures() -> None:
    (result,) = price(claim(line("64493", "310.00", units="2", adj=["CO-59-310.00"])))
    assert result.expected_allowed == D("465.00")  # 310 + 155
    assert (result.mpr_rank, result.mpr_percent) == (1, D("75.00"))
    assert result.secondary is True
    assert result.payer_reduction_percent == D("50.00")
    assert result.category is Category.MPR_OVERAPPLIED
    assert result.explanation == (
        "Secondary procedure 64493 reduced 50 %; contract Section 4.2 allows 25 %: "
        "expected $465.00, allowed $310.00."
    )


def test_multi_unit_line_after_a_higher_procedure() -> None:
    first, second = price(claim(line("64483", "0.01"), line("64493", "0.01", units="2")))
    assert second.expected_allowed == D("310.00")  # ranks 2 and 3 at 50 %
    assert (second.mpr_rank, second.mpr_percent) == (2, D("50.00"))


def test_exempt_units_are_never_reduced() -> None:
    assert expected(line("64483", "0.01"), line("64484", "0.01", units="3")) == [
        D("412.00"),
        D("594.00"),
    ]


def test_schedule_100_50_25_last_repeats() -> None:
    results = price(
        claim(
            line("64479", "0.01"),
            line("64493", "0.01"),
            line("64483", "0.01"),
            line("64490", "0.01"),
        ),
        multiple_procedure_schedule=[D(100), D(50), D(25)],
        multiple_procedure_reduction_percent=None,
    )
    assert [r.mpr_rank for r in results] == [4, 2, 1, 3]
    assert [r.expected_allowed for r in results] == [
        D("65.00"),
        D("155.00"),
        D("412.00"),
        D("75.00"),
    ]
    assert [r.mpr_percent for r in results] == [D(25), D(50), D(100), D(25)]


@pytest.mark.parametrize(
    ("reduction", "second"), [(None, "155.00"), (D(40), "186.00"), (D(0), "310.00")]
)
def test_reduction_percent(reduction: Decimal | None, second: str) -> None:
    results = expected(
        line("64483", "0.01"),
        line("64493", "0.01"),
        multiple_procedure_reduction_percent=reduction,
    )
    assert results == [D("412.00"), D(second)]


def test_ties_rank_in_claim_order() -> None:
    results = price(claim(line("64493", "0.01", mods=["59"]), line("64493", "0.01", mods=["59"])))
    assert [r.mpr_rank for r in results] == [1, 2]
    assert [r.expected_allowed for r in results] == [D("310.00"), D("155.00")]


def test_contract_mpr_exempt_and_subject_lists() -> None:
    exempt = expected(line("64483", "0.01"), line("64493", "0.01"), mpr_exempt=["64493"])
    assert exempt == [D("412.00"), D("310.00")]
    subject = price(
        claim(line("64483", "0.01"), line("64484", "0.01", units="2")), mpr_subject=["64484"]
    )
    assert subject[1].mpr_exempt is False
    assert subject[1].expected_allowed == D("198.00")  # two units at rank 2 and 3
    both = expected(
        line("64483", "0.01"), line("64493", "0.01"), mpr_exempt=["64493"], mpr_subject=["64493"]
    )
    assert both == [D("412.00"), D("310.00")]  # exempt wins


def test_two_dates_of_service_rank_separately() -> None:
    june_1, june_2 = date(2026, 6, 1), date(2026, 6, 2)
    results = price(
        claim(
            line("64483", "412.00", dos=june_1),
            line("64493", "155.00", dos=june_1),
            line("64493", "310.00", dos=june_2),
            line("64483", "206.00", dos=june_2, adj=["CO-59-206.00"]),
        )
    )
    assert [r.mpr_rank for r in results] == [1, 2, 2, 1]
    assert [r.expected_allowed for r in results] == [
        D("412.00"),
        D("155.00"),
        D("155.00"),
        D("412.00"),
    ]
    # June 1 matches; on June 2 the payer ranked them the other way (516 ≠ 567)
    assert [r.category for r in results] == [
        Category.MATCHED,
        Category.MATCHED,
        Category.OVERPAID,
        Category.FEE_SCHEDULE_UNDERPAID,  # CO-59 but 64483 is not a secondary procedure
    ]


def test_exempt_codes_are_e_m_add_ons_and_unknown_codes() -> None:
    results = price(
        claim(
            line("64483", "0.01"),
            line("99214", "0.01", mods=["25"]),
            line("64484", "0.01"),
            line("J1040", "0.01", units="4"),
        )
    )
    assert [r.mpr_exempt for r in results] == [False, True, True, True]
    assert [r.mpr_rank for r in results] == [1, None, None, None]
    assert [r.expected_allowed for r in results] == [
        D("412.00"),
        D("148.90"),
        D("198.00"),
        D("48.00"),
    ]


def test_fractional_units_weigh_their_fraction() -> None:
    (result,) = price(claim(line("64493", "0.01", units="1.5")))
    assert result.expected_allowed == D("387.50")  # 310 + 0.5 × 310 × 50 %


# --- §3 step 5: rounding and lesser of charges ----------------------------------------


def test_rounded_half_up_once_at_the_end() -> None:
    fees = schedule({"64483": ("100.005", "100.005"), "64493": ("0.015", "0.015")})
    results = price(claim(line("64483", "0.01"), line("64493", "0.01", units="3")), terms(fees))
    assert results[0].expected_allowed == D("100.01")  # 100.005 half-up
    # 0.0075 × 3 = 0.0225 → 0.02 (rounding each unit first would give 0.03)
    assert results[1].expected_allowed == D("0.02")


@pytest.mark.parametrize(
    ("lesser", "charge", "amount"),
    [(True, "300.00", "300.00"), (False, "300.00", "412.00"), (True, "500.00", "412.00")],
)
def test_lesser_of_charges(lesser: bool, charge: str, amount: str) -> None:
    (result,) = price(claim(line("64483", "300.00", charge=charge)), lesser_of_charges=lesser)
    assert result.expected_allowed == D(amount)
    assert result.amount_before_mpr == D("412.00")


def test_lesser_of_charges_applies_to_each_side_of_a_pair() -> None:
    right, left = price(
        claim(
            line("64493", "0.01", mods=["RT"], charge="200.00"),
            line("64493", "0.01", mods=["LT"], charge="900.00"),
        )
    )
    assert (right.expected_allowed, left.expected_allowed) == (D("200.00"), D("232.50"))


# --- §4 actual allowed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "paid", "adjustments", "actual"),
    [
        ("390.00", "300.00", ["PR-1-90.00"], "390.00"),  # AMT*B6 wins
        (None, "403.76", ["CO-45-838.00", "CO-253-8.24"], "412.00"),  # sequestration
        (None, "312.00", ["PR-1-100.00", "CO-45-838.00"], "412.00"),  # deductible
        (None, "300.00", ["PR-2-50.00", "PR-3-62.00"], "412.00"),  # coinsurance, copay
        (None, "400.00", ["OA-23-12.00", "PI-45-5.00"], "400.00"),  # OA/PI not counted
        (None, "400.00", ["OA-253-8.16"], "400.00"),  # only CO-253 is sequestration
        (None, "0.00", [], "0.00"),
    ],
)
def test_actual_allowed(
    allowed: str | None, paid: str, adjustments: list[str], actual: str
) -> None:
    service_line = line("64483", allowed, paid=paid, adj=adjustments)
    assert actual_allowed(service_line) == D(actual)
    (result,) = price(claim(service_line))
    assert result.actual_allowed == D(actual)


def test_sequestration_without_amt_b6_matches() -> None:
    (result,) = price(claim(line("64483", None, paid="403.76", adj=["CO-45-838", "CO-253-8.24"])))
    assert (result.actual_allowed, result.variance) == (D("412.00"), D("0.00"))
    assert result.category is Category.MATCHED


def test_claim_level_cas_is_not_spread_over_lines() -> None:
    c = claim(line("64483", None, paid="400.00"))
    c.adjustments = [Adjustment("CO", "253", D("8.00")), Adjustment("PR", "1", D("12.00"))]
    (result,) = price(c)
    assert result.actual_allowed == D("400.00")


def test_reversal_and_claim_without_lines_are_not_priced() -> None:
    assert price(claim(line("64483", "-412.00"), status="22")) == []
    assert price_claim(claim(), always(terms()), reference()) == []


def test_one_result_per_line_in_line_order() -> None:
    results = price(claim(line("64493", "1"), line("J1040", "1"), line("64483", "1")))
    assert [r.position for r in results] == [1, 2, 3]
    assert [r.procedure_code for r in results] == ["64493", "J1040", "64483"]


def test_carc_and_rarc_are_reported_from_the_line() -> None:
    (result,) = price(
        claim(
            line(
                "64483",
                "390.00",
                adj=["CO-45-800.00", "CO-59-10.00", "CO-45-50.00", "PR-2-10.00"],
                remarks=["N130", "M15"],
            )
        )
    )
    assert result.carc == ("CO-45", "CO-59", "PR-2")
    assert result.rarc == ("N130", "M15")
