"""The demo: sample files moved to today, every category present, packets open at
once, and loading twice (even on another day) adds nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access import service as access_service
from app.access.keys import key_pepper
from app.access.schemas import CLI_ACTOR
from app.db.models import ClaimPayment, ContractVersion, EraFile, PricingResult
from app.demo.samples import ANCHOR, sample_files, sample_names, shift_dates
from app.demo.service import DEMO_KEY_NAME, fresh_demo_key, load_demo
from app.disputes import service as disputes_service
from app.reconciliation import queries
from app.x12.reader import parse_835
from app.x12.validation import validate_835

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
TODAY = date(2026, 11, 27)

UNDERPAYMENT_CATEGORIES = (
    "fee_schedule_underpaid",
    "mpr_overapplied",
    "exempt_reduced",
    "bilateral_underpaid",
    "bundled_incorrectly",
    "code_changed",
    "units_reduced",
)


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (EraFile, ClaimPayment, PricingResult, ContractVersion)
    )


@pytest.fixture
def loaded(session: Session):
    # pyx12's full validation is checked once per file below, not on every load
    report = load_demo(
        session, contracts_path=CONTRACTS, actor=CLI_ACTOR, today=TODAY, validate_inline_lines=0
    )
    session.flush()
    return report


# ------------------------------------------------------------------ date shifting


@pytest.mark.parametrize("name", sample_names())
@pytest.mark.parametrize("days", [0, 1, 316, 3650, -20])
def test_shifting_moves_only_dates_and_keeps_the_file_balanced(name: str, days: int) -> None:
    original = next(s for s in sample_files(today=ANCHOR) if s.name == name).data
    moved = shift_dates(original, days=days)
    before, after = parse_835(original), parse_835(moved)
    assert len(moved) == len(original)
    assert moved.index(b"GS*") == 106 + 1  # the ISA keeps its fixed width
    for old, new in zip(before.remittances, after.remittances, strict=True):
        assert new.payment_amount == old.payment_amount
        assert new.trace_number == old.trace_number
        assert old.payment_date is not None
        assert new.payment_date == old.payment_date + timedelta(days=days)
        for old_claim, new_claim in zip(old.claims, new.claims, strict=True):
            assert new_claim.paid_amount == old_claim.paid_amount
            assert new_claim.statement_from_date == old_claim.statement_from_date + timedelta(
                days=days
            )
            for old_line, new_line in zip(old_claim.lines, new_claim.lines, strict=True):
                assert new_line.service_date == old_line.service_date + timedelta(days=days)
    balance = [w for w in after.warnings if "balance" in w.message.lower()]
    assert balance == []


@pytest.mark.parametrize(
    ("segment", "days", "expected"),
    [
        ("BPR*I*1.00*C*CHK************20260115", 10, "BPR*I*1.00*C*CHK************20260125"),
        ("DTM*405*20260115", -15, "DTM*405*20251231"),
        ("DTM*472*20240228", 1, "DTM*472*20240229"),
        ("DTM*232*20260115", 365, "DTM*232*20270115"),
        ("DTM*036*20260115", 10, "DTM*036*20260115"),  # expiration dates are not moved
        ("DTM*472*2026XX15", 10, "DTM*472*2026XX15"),  # not a date: left to the reader
    ],
)
def test_shift_dates_rewrites_the_right_elements(segment: str, days: int, expected: str) -> None:
    isa = (
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
        "*260115*0800*^*00501*000000001*0*P*:~"
    )
    moved = shift_dates(f"{isa}{segment}~".encode(), days=days).decode()
    assert moved.split("~")[1] == expected
    shifted_isa = moved.split("~")[0]
    assert len(shifted_isa) == 105
    assert shifted_isa.split("*")[9] == (date(2026, 1, 15) + timedelta(days=days)).strftime(
        "%y%m%d"
    )


@pytest.mark.parametrize("name", sample_names())
def test_sample_files_pass_pyx12s_full_validation(name: str) -> None:
    sample = next(s for s in sample_files(today=TODAY) if s.name == name)
    assert validate_835(sample.data) == []


# ------------------------------------------------------------------------ loading


def test_every_sample_file_is_processed(loaded) -> None:
    assert [item.status for item in loaded.files] == ["processed"] * len(sample_names())
    assert len(loaded.files) >= 4
    assert sorted(loaded.contracts_loaded) == ["big-sky-hmo", "plains-tpa", "summit-ppo"]


def test_each_underpayment_category_and_the_other_outcomes_are_present(
    session: Session, loaded
) -> None:
    page = queries.list_variances(
        session, actor=CLI_ACTOR, include_all=True, limit=200, as_of=TODAY
    )
    categories = {item.category for item in page.items}
    for category in (*UNDERPAYMENT_CATEGORIES, "denied", "overpaid", "reversed", "matched"):
        assert category in categories, category
    reversed_lines = [item for item in page.items if item.category == "reversed"]
    assert [item.claim_id for item in reversed_lines] == ["BH24101"]
    assert all(Decimal(item.variance or "0") >= 0 for item in page.items if item.disputable)


def test_packets_are_open_at_once_and_none_has_expired(session: Session, loaded) -> None:
    packets = disputes_service.list_packets(session, actor=CLI_ACTOR, as_of=TODAY).packets
    assert {(p.payer_id, p.practice_npi) for p in packets} == {
        ("71412", "1326048597"),
        ("83017", "1326048597"),
        ("90211", "1487652301"),
    }
    assert all(p.status == "open" for p in packets)
    assert all(p.earliest_deadline is not None and p.earliest_deadline >= TODAY for p in packets)
    by_payer = {p.payer_id: p for p in packets}
    assert set(by_payer["71412"].by_category) == {
        "fee_schedule_underpaid",
        "mpr_overapplied",
        "exempt_reduced",
        "bilateral_underpaid",
        "bundled_incorrectly",
        "code_changed",
        "units_reduced",
    }
    # the administrator's window counts 180 days from the date of service: due soon
    assert by_payer["90211"].urgent is True
    assert by_payer["71412"].urgent is False


def test_the_dashboard_has_something_in_every_chart(session: Session, loaded) -> None:
    board = disputes_service.dashboard(session, actor=CLI_ACTOR, as_of=TODAY)
    assert len(board.underpaid_by_payer) == 3
    assert len(board.underpaid_by_category) == len(UNDERPAYMENT_CATEGORIES)
    assert board.underpaid_by_month
    assert Decimal(board.pipeline.open.amount) > 0
    assert Decimal(board.pipeline.expired.amount) > 0  # one line shows a closed window
    assert board.expiring_next
    assert Decimal(board.overpaid_total) > 0
    assert board.denied_lines == 1


@pytest.mark.parametrize("later", [0, 1, 45])
def test_loading_twice_adds_nothing(session: Session, loaded, later: int) -> None:
    before = _counts(session)
    again = load_demo(
        session,
        contracts_path=CONTRACTS,
        actor=CLI_ACTOR,
        today=TODAY + timedelta(days=later),
        validate_inline_lines=0,
    )
    session.flush()
    assert _counts(session) == before
    assert {item.status for item in again.files} == {"duplicate"}
    assert again.contracts_loaded == []
    assert sorted(again.contracts_unchanged) == ["big-sky-hmo", "plains-tpa", "summit-ppo"]


def test_each_run_leaves_one_working_demo_key(session: Session) -> None:
    pepper = key_pepper("demo-test")
    first = fresh_demo_key(session, pepper=pepper, actor=CLI_ACTOR)
    second = fresh_demo_key(session, pepper=pepper, actor=CLI_ACTOR)
    assert first != second
    assert access_service.authenticate(session, secret=first, pepper=pepper) is None
    actor = access_service.authenticate(session, secret=second, pepper=pepper)
    assert actor is not None
    assert actor.role == "admin"
    active = [k for k in access_service.list_keys(session) if k.name == DEMO_KEY_NAME and k.active]
    assert len(active) == 1
