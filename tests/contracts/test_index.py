"""Which contract applies (repricing.md §1): payer id forms, practice by NPI and/or TIN,
effective dates inclusive, latest effective_from wins, practice-specific beats general."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.contracts.index import ContractIndex
from app.contracts.schemas import Contract, ContractTerms, FeeSchedule

NPI = "1326048597"
TIN = "830000001"


def terms(contract_id: str, **fields: Any) -> ContractTerms:
    document: dict[str, Any] = {
        "id": contract_id,
        "name": contract_id,
        "payer": {"name": "ACME", "ids": fields.pop("ids", ["60054"])},
        "effective_from": date(2026, 1, 1),
        "dispute_window_months": 12,
        "fee_schedule": "fees.csv",
    }
    document.update(fields)
    return ContractTerms(contract=Contract.model_validate(document), fee_schedule=FeeSchedule())


def match(index: ContractIndex, **kwargs: Any) -> str | None:
    args: dict[str, Any] = {
        "payer_identifiers": ["60054"],
        "payee_npi": NPI,
        "payee_tin": TIN,
        "service_date": date(2026, 6, 1),
    }
    args.update(kwargs)
    found = index.match(**args)
    return found.contract.id if found is not None else None


@pytest.mark.parametrize(
    ("contract_ids", "remittance_ids", "expected"),
    [
        pytest.param(["60054"], ["60054"], "c", id="REF*2U"),
        pytest.param(["ACME01"], ["acme01 "], "c", id="N104, case and spaces"),
        pytest.param(["846543210"], ["1846543210", "846543210"], "c", id="TRN03 both forms"),
        pytest.param(["846543210"], ["1846543210"], "c", id="TRN03 with its leading 1"),
        pytest.param(["1846543210"], ["846543210"], "c", id="contract gives the TRN03 form"),
        pytest.param(["1846543210"], ["1846543210"], "c", id="TRN03 as given"),
        pytest.param(["60054"], ["160054"], None, id="a leading 1 on a short id is not stripped"),
        pytest.param(["60054"], ["60055", "1846543210"], None, id="other payer"),
        pytest.param(["60054"], [], None, id="no identifiers"),
    ],
)
def test_payer_id_forms(
    contract_ids: list[str], remittance_ids: list[str], expected: str | None
) -> None:
    index = ContractIndex.from_terms([terms("c", ids=contract_ids)])
    assert match(index, payer_identifiers=remittance_ids) == expected


@pytest.mark.parametrize(
    ("practice", "npi", "tin", "expected"),
    [
        pytest.param(None, None, None, "c", id="no practice: every payee"),
        pytest.param({"npi": NPI}, NPI, None, "c", id="NPI"),
        pytest.param({"npi": NPI}, "1487652301", TIN, None, id="other NPI"),
        pytest.param({"tin": TIN}, None, TIN, "c", id="TIN (REF*TJ)"),
        pytest.param({"tin": TIN}, NPI, "83-0000001", "c", id="TIN with a hyphen"),
        pytest.param({"tin": TIN}, NPI, None, None, id="TIN given, payee has none"),
        pytest.param({"npi": NPI, "tin": TIN}, NPI, TIN, "c", id="both match"),
        pytest.param({"npi": NPI, "tin": TIN}, NPI, "830000002", None, id="both, TIN differs"),
        pytest.param({"npi": NPI, "tin": TIN}, NPI, None, None, id="both, payee TIN unknown"),
    ],
)
def test_practice_by_npi_and_tin(
    practice: dict[str, str] | None, npi: str | None, tin: str | None, expected: str | None
) -> None:
    index = ContractIndex.from_terms([terms("c", practice=practice)])
    assert match(index, payee_npi=npi, payee_tin=tin) == expected


@pytest.mark.parametrize(
    ("service_date", "expected"),
    [
        (date(2025, 12, 31), None),
        (date(2026, 1, 1), "c"),
        (date(2026, 12, 31), "c"),
        (date(2027, 1, 1), None),
        (None, None),
    ],
)
def test_effective_dates_are_inclusive_at_both_edges(
    service_date: date | None, expected: str | None
) -> None:
    index = ContractIndex.from_terms([terms("c", effective_to=date(2026, 12, 31))])
    assert match(index, service_date=service_date) == expected


@pytest.mark.parametrize(
    ("service_date", "expected"),
    [
        (date(2026, 3, 31), "old"),
        (date(2026, 4, 1), "new"),
        (date(2026, 9, 1), "new"),
    ],
)
def test_latest_effective_from_wins(service_date: date, expected: str) -> None:
    index = ContractIndex.from_terms(
        [
            terms("new", effective_from=date(2026, 4, 1)),
            terms("old", effective_from=date(2025, 1, 1)),
        ]
    )
    assert match(index, service_date=service_date) == expected


def test_a_later_general_contract_beats_an_older_specific_one() -> None:
    index = ContractIndex.from_terms(
        [
            terms("specific", practice={"npi": NPI}, effective_from=date(2025, 1, 1)),
            terms("general", effective_from=date(2026, 1, 1)),
        ]
    )
    assert match(index) == "general"


@pytest.mark.parametrize(
    ("payee_npi", "expected"),
    [(NPI, "specific"), ("1487652301", "general"), (None, "general")],
)
def test_practice_specific_beats_general_on_equal_dates(
    payee_npi: str | None, expected: str
) -> None:
    contracts = [terms("general"), terms("specific", practice={"npi": NPI})]
    for order in (contracts, list(reversed(contracts))):
        index = ContractIndex.from_terms(order)
        assert match(index, payee_npi=payee_npi) == expected


def test_more_practice_fields_beat_fewer_on_equal_dates() -> None:
    index = ContractIndex.from_terms(
        [terms("npi-only", practice={"npi": NPI}), terms("both", practice={"npi": NPI, "tin": TIN})]
    )
    assert match(index) == "both"
    assert match(index, payee_tin="830000002") == "npi-only"


def test_contract_for_fixes_payer_and_payee() -> None:
    index = ContractIndex.from_terms(
        [terms("c", effective_to=date(2026, 6, 30)), terms("d", effective_from=date(2026, 7, 1))]
    )
    contract_for = index.contract_for(payer_identifiers=["60054"], payee_npi=NPI, payee_tin=None)
    found = [contract_for(d) for d in (date(2026, 6, 30), date(2026, 7, 1), None)]
    assert [t.contract.id if t else None for t in found] == ["c", "d", None]


def test_answers_are_cached_per_key() -> None:
    index = ContractIndex.from_terms([terms("c")])
    first = index.match(
        payer_identifiers=["60054"], payee_npi=NPI, payee_tin=None, service_date=date(2026, 2, 1)
    )
    second = index.match(
        payer_identifiers=("60054",), payee_npi=NPI, payee_tin=None, service_date=date(2026, 2, 1)
    )
    assert first is second
    assert first is not None
    assert len(index) == 1
