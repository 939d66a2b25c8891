"""Explanations read as one plain sentence a billing manager understands: the
procedure, the rule, the contract clause where there is one, and the amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.db import types
from app.repricing import explain as sentences
from app.repricing.engine import price_claim
from app.repricing.money import format_money, format_percent, to_cents
from app.repricing.schemas import Category
from tests.repricing.builders import always, claim, line, price, reference

D = Decimal


def explain(*lines_, **kwargs) -> list[str]:
    status = kwargs.pop("status", "1")
    return [r.explanation for r in price(claim(*lines_, status=status), **kwargs)]


@pytest.mark.parametrize(
    ("lines_", "kwargs", "sentence"),
    [
        (
            [line("64483", "390.00")],
            {},
            "64483 paid below the contract rate (Exhibit A): expected $412.00, allowed $390.00.",
        ),
        (
            [line("64483", "412.00"), line("64493", "124.00", adj=["CO-59-186.00"])],
            {},
            "Secondary procedure 64493 reduced 60 %; contract Section 4.2 allows 50 %: "
            "expected $155.00, allowed $124.00.",
        ),
        (
            [line("64493", "310.00", mods=["50"])],
            {},
            "Bilateral 64493-50 is paid at 150 % of the rate under contract Section 4.3: "
            "expected $465.00, allowed $310.00.",
        ),
        (
            [line("64483", "412.00"), line("64484", "198.00", units="2", adj=["CO-59-198"])],
            {},
            "64484 is exempt from multiple-procedure reduction under contract Section 4.2 but "
            "was reduced as a multiple procedure: expected $396.00, allowed $198.00.",
        ),
        (
            [line("64483", "0.00", adj=["CO-197-1250.00"])],
            {},
            "64483 was denied (CO-197): expected $412.00, allowed $0.00; this needs an appeal, "
            "not a pricing dispute.",
        ),
        (
            [line("64483", "0.00", adj=["CO-97-1250.00"])],
            {},
            "64483 was denied as bundled (CO-97), but contract Section 4.4 pays it separately: "
            "expected $412.00, allowed $0.00.",
        ),
        (
            [line("64484", "198.00", units="1", orig_units="2")],
            {},
            "Billed 2 units of 64484, paid 1: expected $396.00, allowed $198.00.",
        ),
        (
            [line("64479", "260.00", orig_code="64483")],
            {},
            "Billed 64483 was paid as 64479; contract Exhibit A rate for 64483 gives "
            "expected $412.00, allowed $260.00.",
        ),
        (
            [line("64483", "1412.00")],
            {},
            "64483 allowed more than the contract gives: expected $412.00, allowed $1,412.00; "
            "a refund may be owed.",
        ),
        (
            [line("99999", "80.00")],
            {},
            "Contract acme-ppo-2026 has no rate for 99999, so it is not repriced; allowed $80.00.",
        ),
        (
            [line(None, "80.00")],
            {},
            "The procedure code could not be read from the remittance, so the line is not "
            "repriced; allowed $80.00.",
        ),
        (
            [line("64483", "300.00")],
            {"status": "2"},
            "Claim processed as secondary (CLP02 2): the contract governs the primary payer's "
            "allowed amount, so 64483 is not repriced; allowed $300.00.",
        ),
        (
            [line("64483", "412.00")],
            {},
            "64483 paid as contracted: expected $412.00, allowed $412.00.",
        ),
    ],
)
def test_last_line_explanation(lines_, kwargs, sentence: str) -> None:
    assert explain(*lines_, **kwargs)[-1] == sentence


def test_bundled_line_explanation() -> None:
    _, imaging = explain(line("64483", "412.00"), line("77003", "0.00", adj=["CO-97-150.00"]))
    assert imaging == (
        "77003 is included in 64483 (NCCI bundling edit) and not paid separately: "
        "expected $0.00, allowed $0.00."
    )


def test_bundled_line_paid_anyway_is_overpaid() -> None:
    _, imaging = price(claim(line("64483", "412.00"), line("77003", "88.00")))
    assert imaging.category is Category.OVERPAID
    assert imaging.explanation == (
        "77003 is included in 64483 and not paid separately, yet was allowed: "
        "expected $0.00, allowed $88.00; a refund may be owed."
    )


def test_bilateral_pair_explanation_names_the_side() -> None:
    right, _ = explain(
        line("64493", "155.00", mods=["RT"], dos=date(2026, 6, 8)),
        line("64493", "310.00", mods=["LT"], dos=date(2026, 6, 8)),
    )
    assert right == (
        "64493-RT (half of a bilateral RT + LT procedure) paid as contracted when the "
        "claim's procedures on 2026-06-08 are taken together: expected $232.50, allowed "
        "$155.00 (together expected $465.00, allowed $465.00)."
    )


def test_no_contract_explanation_gives_the_date() -> None:
    (result,) = price_claim(claim(line("64483", "300.00")), always(None), reference())
    assert result.explanation == (
        "No contract with this payer is in force on 2026-06-01, so 64483 is not repriced; "
        "allowed $300.00."
    )


def test_explanations_never_carry_patient_details() -> None:
    c = claim(line("64483", "390.00"), line("64493", "0.00", adj=["CO-197-1.00"]))
    c.patient_name = "DOE, JANE"
    c.patient_member_id = "ME12345"
    for result in price(c):
        assert "DOE" not in result.explanation
        assert "ME12345" not in result.explanation


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (D("1234.56"), "$1,234.56"),
        (D("0"), "$0.00"),
        (D("1234567.891"), "$1,234,567.89"),
        (D("0.005"), "$0.01"),
        (D("-77.50"), "-$77.50"),
        (D("412"), "$412.00"),
    ],
)
def test_format_money(amount: Decimal, text: str) -> None:
    assert format_money(amount) == text


@pytest.mark.parametrize(
    ("value", "cents"),
    [("50.005", "50.01"), ("50.0049", "50.00"), ("-0.005", "-0.01"), ("2.5", "2.50")]
    + [("100.015", "100.02"), ("0", "0.00")],
)
def test_to_cents_rounds_half_up(value: str, cents: str) -> None:
    rounded = to_cents(D(value))
    assert rounded == D(cents)
    assert str(rounded) == cents


@given(
    st.lists(
        st.decimals(
            min_value=D("-99999999.999"), max_value=D("99999999.999"), allow_nan=False, places=3
        )
        | st.sampled_from([D("0"), D("-0"), D("0.00"), D("-0.00"), D("10"), D("10.0"), D("10.00")])
        | st.sampled_from([D("-0.004"), D("0.004"), D("-0.005"), D("0.005"), D("1E+2")]),
        max_size=30,
    )
)
def test_remembered_money_text_is_format_money(amounts: list[Decimal]) -> None:
    """``explain.money`` remembers each text: equal values of other exponents or
    signs of zero, in any order, each still read as ``format_money`` gives them."""
    for amount in amounts + amounts[::-1]:
        assert sentences.money(amount) == format_money(amount)


def test_remembered_money_text_starts_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentences, "_MONEY", {})
    monkeypatch.setattr(sentences, "_MONEY_ENTRIES", 3)
    for cents in range(1, 6):
        assert sentences.money(D(cents) / 100) == f"$0.0{cents}"
    assert len(sentences._MONEY) == 2  # cleared at the fourth, then the fifth added


def test_to_cents_is_the_one_used_by_the_money_column() -> None:
    assert types.to_cents is to_cents


@pytest.mark.parametrize(
    ("value", "text"),
    [(D("60.00"), "60"), (D("12.50"), "12.5"), (D("33.333"), "33.33"), (D(150), "150")],
)
def test_format_percent(value: Decimal, text: str) -> None:
    assert format_percent(value) == text
