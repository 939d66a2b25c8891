"""The worked examples: repricing.md's four and the end-to-end example of
``../shared/spec/examples`` priced purely (every line of expected.json; the E2A/E2B
lines with the values they had before the second file reversed them)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from app.contracts.index import ContractIndex
from app.contracts.loader import parse_paths
from app.contracts.schemas import ContractTerms, FeeSchedule
from app.repricing.engine import price_claim
from app.repricing.schemas import Category, LineResult
from app.x12.reader import parse_835
from app.x12.schemas import Remittance
from tests.repricing.builders import (
    claim,
    line,
    prairie_claims,
    prairie_terms,
    price,
    reference,
)
from tests.support import shared_path

D = Decimal


def _expected_lines() -> dict[str, dict[str, str | None]]:
    path = shared_path("spec", "examples", "expected.json")
    lines: dict[str, dict[str, str | None]] = json.loads(path.read_text())[
        "lines_by_line_control_number"
    ]
    return lines


def _priced_example() -> dict[str, LineResult]:
    terms = prairie_terms()
    out: dict[str, LineResult] = {}
    for claim_payment in prairie_claims().values():
        for service_line, result in zip(
            claim_payment.lines, price(claim_payment, terms), strict=True
        ):
            assert service_line.line_control_number is not None
            out[service_line.line_control_number] = result
    return out


# before the reversal made them `reversed` (the example's `why`)
PRE_REVERSAL = {
    "E2A": ("412.00", "412.00", "0.00", Category.MATCHED),
    "E2B": ("155.00", "124.00", "31.00", Category.MPR_OVERAPPLIED),
}


@pytest.mark.parametrize(
    "lcn",
    ["E1A", "E1B", "E2A", "E2B", "E3A", "E3B", "E4A", "E5A", "E5B", "E6A", "E6B", "E7A", "E8A"]
    + ["E2C", "E2D"],
)
def test_example_line_matches_expected_json(lcn: str) -> None:
    wanted = _expected_lines()[lcn]
    got = _priced_example()[lcn]

    def money(value: str | None) -> Decimal | None:
        return None if value is None else D(value)

    if lcn in PRE_REVERSAL:
        exp, act, var, category = PRE_REVERSAL[lcn]
        assert wanted["category"] == "reversed"
        assert (money(wanted["expected_allowed"]), money(wanted["variance"])) == (D(exp), D(var))
        assert (got.expected_allowed, got.actual_allowed, got.variance, got.category) == (
            D(exp),
            D(act),
            D(var),
            category,
        )
        return
    assert got.expected_allowed == money(wanted["expected_allowed"])
    assert got.actual_allowed == money(wanted["actual_allowed"])
    assert got.variance == money(wanted["variance"])
    assert got.category == Category(str(wanted["category"]))


def test_example_covers_every_line_of_expected_json() -> None:
    assert set(_priced_example()) == set(_expected_lines())


def test_example_mpr_overapplied_line_carries_its_reduction_and_clause() -> None:
    e2b = _priced_example()["E2B"]
    assert e2b.payer_reduction_percent == D("60.00")
    assert e2b.mpr_rank == 2
    assert e2b.mpr_percent == D("50.00")
    assert e2b.clause == "Section 5.1"
    assert e2b.contract_id == "prairie-ppo-2026"
    assert e2b.disputable is True
    assert e2b.carc == ("CO-45", "CO-59")
    assert e2b.explanation == (
        "Secondary procedure 64493 reduced 60 %; contract Section 5.1 allows 50 %: "
        "expected $155.00, allowed $124.00."
    )


# --- repricing.md "Worked examples": MPR 50 %, bilateral 150 %, tolerance 1.00, office


def test_worked_example_em_with_modifier_25_and_underpaid_procedure() -> None:
    em, procedure = price(
        claim(line("99214", "148.90", mods=["25"]), line("64483", "390.00", mods=["RT"]))
    )
    assert (em.expected_allowed, em.variance, em.category) == (
        D("148.90"),
        D("0.00"),
        Category.MATCHED,
    )
    assert (procedure.expected_allowed, procedure.variance, procedure.category) == (
        D("412.00"),
        D("22.00"),
        Category.FEE_SCHEDULE_UNDERPAID,
    )
    assert procedure.clause == "Exhibit A"


def test_worked_example_secondary_procedure_reduced_too_much() -> None:
    first, second = price(
        claim(line("64483", "412.00"), line("64493", "124.00", adj=["CO-59-186.00"]))
    )
    assert first.category is Category.MATCHED
    assert second.mpr_rank == 2
    assert (second.expected_allowed, second.variance) == (D("155.00"), D("31.00"))
    assert second.category is Category.MPR_OVERAPPLIED
    assert second.payer_reduction_percent == D("60.00")


@pytest.mark.parametrize(
    ("adjustments", "category"),
    [
        (["CO-59-198.00"], Category.EXEMPT_REDUCED),
        (["CO-45-198.00"], Category.FEE_SCHEDULE_UNDERPAID),
    ],
)
def test_worked_example_add_on_two_units_never_reduced(
    adjustments: list[str], category: Category
) -> None:
    _, add_on = price(
        claim(line("64483", "412.00"), line("64484", "198.00", units="2", adj=adjustments))
    )
    assert add_on.mpr_exempt is True
    assert add_on.mpr_rank is None
    assert (add_on.expected_allowed, add_on.variance, add_on.category) == (
        D("396.00"),
        D("198.00"),
        category,
    )


def test_worked_example_bilateral_modifier_50() -> None:
    (result,) = price(claim(line("64493", "310.00", mods=["50"])))
    assert result.bilateral_percent == D(150)
    assert (result.expected_allowed, result.variance, result.category) == (
        D("465.00"),
        D("155.00"),
        Category.BILATERAL_UNDERPAID,
    )
    assert result.clause == "Section 4.3"


# --- the same example read from its files: the 835 reader, the contract loader and the
# contract index feed the repricer exactly as ingest does


def _priced_from_files() -> dict[str, LineResult]:
    loaded = parse_paths([shared_path("spec", "examples", "prairie-ppo-2026.yaml")])
    assert loaded.ok, loaded.problems
    index = ContractIndex.from_terms(
        ContractTerms(
            item.contract,
            FeeSchedule.of(item.fee_rows),
            FeeSchedule.of(item.percent_of_rows) if item.percent_of_rows is not None else None,
        )
        for item in loaded.contracts
    )
    out: dict[str, LineResult] = {}
    for name in ("prairie-2026-06-15.835", "prairie-2026-07-20-reversal.835"):
        parsed = parse_835(shared_path("spec", "examples", name).read_bytes())
        for remittance in parsed.remittances:

            def contract_for(dos: date | None, r: Remittance = remittance) -> ContractTerms | None:
                return index.match(
                    payer_identifiers=r.payer_identifiers,
                    payee_npi=r.payee_npi,
                    payee_tin=r.payee_tin,
                    service_date=dos,
                )

            for claim_payment in remittance.claims:
                results = price_claim(claim_payment, contract_for, reference())
                if claim_payment.is_reversal:
                    assert results == []
                    continue
                for service_line, result in zip(claim_payment.lines, results, strict=True):
                    assert service_line.line_control_number is not None
                    out[service_line.line_control_number] = result
    return out


def test_example_files_price_as_expected_json() -> None:
    got = _priced_from_files()
    wanted = _expected_lines()
    assert set(got) == set(wanted)
    for lcn, result in got.items():
        want = wanted[lcn]
        if lcn in PRE_REVERSAL:
            exp, act, var, category = PRE_REVERSAL[lcn]
            want = {
                "expected_allowed": exp,
                "actual_allowed": act,
                "variance": var,
                "category": category.value,
            }
        row = (
            None if result.expected_allowed is None else str(result.expected_allowed),
            str(result.actual_allowed),
            None if result.variance is None else str(result.variance),
            result.category.value,
        )
        assert row == (
            want["expected_allowed"],
            want["actual_allowed"],
            want["variance"],
            want["category"],
        ), lcn
