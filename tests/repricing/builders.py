"""Builders for pure repricing tests: literal claims, lines and contracts, the shipped
reference data, and the worked example of ``../shared/spec/examples`` read from its
files (contract YAML + fee CSV) with its claims written out as the 835s hold them."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import yaml

from app.contracts.reference import CodeIndicators, NcciEdit, ReferenceData, load_reference
from app.contracts.schemas import Contract, ContractTerms, FeeRate, FeeSchedule
from app.repricing.engine import price_claim
from app.repricing.schemas import LineResult
from app.x12.schemas import Adjustment, ClaimPayment, ServiceLine
from tests.support import shared_path

D = Decimal
DOS = date(2026, 6, 1)

# the rates of repricing.md's worked examples, plus a few for rule tests
RATES: dict[str, tuple[str, str]] = {
    "64483": ("412.00", "236.50"),
    "64484": ("198.00", "110.00"),
    "64493": ("310.00", "170.00"),
    "64494": ("155.00", "85.00"),
    "64490": ("300.00", "160.00"),
    "64635": ("500.00", "280.00"),
    "64636": ("120.00", "70.00"),
    "62323": ("250.00", "140.00"),
    "20610": ("80.00", "45.00"),
    "27096": ("160.00", "90.00"),
    "77003": ("88.00", "88.00"),
    "99214": ("148.90", "110.00"),
    "64479": ("260.00", "140.00"),
    "20552": ("50.00", "30.00"),
    "J1040": ("12.00", "12.00"),  # a drug: not in the indicator table, MPR-exempt
}


def reference() -> ReferenceData:
    return load_reference()


def reference_with(*indicators: CodeIndicators, edits: Iterable[NcciEdit] = ()) -> ReferenceData:
    """The shipped reference data with some codes' indicators replaced or added, and
    extra edits."""
    shipped = load_reference()
    codes = {ind.code for ind in indicators}
    kept = [ind for ind in shipped.indicators.values() if ind.code not in codes]
    return ReferenceData.of(kept + list(indicators), shipped.edits() + list(edits))


def schedule(rates: dict[str, tuple[str, str]] | None = None, **extra: str) -> FeeSchedule:
    """A fee schedule from ``{code: (non_facility, facility)}``; ``extra`` adds
    modifier rows as ``code_modifier="amount"`` (e.g. ``w77003_26="45.10"``)."""
    rows = [FeeRate(code, "", D(nf), D(f)) for code, (nf, f) in (rates or RATES).items()]
    for key, amount in extra.items():
        code, modifier = key.lstrip("w").split("_")
        rows.append(FeeRate(code, modifier, D(amount), D(amount)))
    return FeeSchedule.of(rows)


def contract(**overrides: Any) -> Contract:
    values: dict[str, Any] = {
        "id": "acme-ppo-2026",
        "name": "Acme PPO",
        "payer": {"name": "ACME HEALTH PLAN", "ids": ["60054"]},
        "effective_from": date(2026, 1, 1),
        "dispute_window_months": 18,
        "multiple_procedure_reduction_percent": D(50),
        "bilateral_percent": D(150),
        "tolerance": D("1.00"),
        "fee_schedule": "fees.csv",
        "clauses": {
            "fee_schedule": "Exhibit A",
            "multiple_procedure_reduction": "Section 4.2",
            "bilateral": "Section 4.3",
            "bundling": "Section 4.4",
        },
    }
    values.update(overrides)
    return Contract.model_validate(values)


def terms(
    fees: FeeSchedule | None = None,
    percent_fees: FeeSchedule | None = None,
    **overrides: Any,
) -> ContractTerms:
    """Contract terms: ``fees`` (default ``schedule()``), the ``percent_of`` schedule,
    and contract fields as overrides."""
    return ContractTerms(
        contract(**overrides),
        fees if fees is not None else schedule(),
        percent_fees,
    )


def cas(*triples: str) -> list[Adjustment]:
    """``cas("CO-45-838.00", "CO-59-186.00")`` → adjustments."""
    out = []
    for triple in triples:
        group, reason, amount = triple.split("-")
        out.append(Adjustment(group, reason, D(amount)))
    return out


def line(
    code: str | None,
    allowed: str | None = None,
    *,
    mods: Iterable[str] = (),
    units: str | None = None,
    charge: str = "2000.00",
    paid: str | None = None,
    adj: Iterable[str] = (),
    dos: date | None = DOS,
    orig_code: str | None = None,
    orig_mods: Iterable[str] = (),
    orig_units: str | None = None,
    remarks: Iterable[str] = (),
    position: int = 0,
) -> ServiceLine:
    return ServiceLine(
        position=position,
        procedure_qualifier="HC",
        procedure_code=code,
        modifiers=tuple(mods),
        charge_amount=D(charge),
        paid_amount=D(paid if paid is not None else (allowed or "0.00")),
        units=D(units) if units is not None else None,
        original_qualifier="HC" if orig_code else None,
        original_procedure_code=orig_code,
        original_modifiers=tuple(orig_mods),
        original_units=D(orig_units) if orig_units is not None else None,
        service_date=dos,
        allowed_amount=D(allowed) if allowed is not None else None,
        remark_codes=tuple(remarks),
        adjustments=cas(*adj),
    )


def claim(
    *lines: ServiceLine,
    status: str = "1",
    pos: str | None = "11",
    statement_from: date | None = DOS,
    claim_id: str = "PA1",
) -> ClaimPayment:
    numbered = []
    for i, item in enumerate(lines, start=1):
        item.position = item.position or i
        numbered.append(item)
    return ClaimPayment(
        position=1,
        claim_id=claim_id,
        status_code=status,
        charge_amount=sum((item.charge_amount for item in numbered), D(0)),
        paid_amount=sum((item.paid_amount for item in numbered), D(0)),
        place_of_service=pos,
        statement_from_date=statement_from,
        lines=numbered,
    )


def always(found: ContractTerms | None) -> Callable[[date | None], ContractTerms | None]:
    return lambda _dos: found


def price(
    claim_payment: ClaimPayment,
    found: ContractTerms | None = None,
    *,
    ref: ReferenceData | None = None,
    **overrides: Any,
) -> list[LineResult]:
    """Price under ``found`` (default: ``terms(**overrides)``) for every date."""
    chosen = found if found is not None else terms(**overrides)
    return price_claim(claim_payment, always(chosen), ref or reference())


# --- the worked example of ../shared/spec/examples ----------------------------------


def prairie_terms() -> ContractTerms:
    """prairie-ppo-2026.yaml with prairie-fees.csv, read from ../shared."""
    doc = yaml.safe_load(shared_path("spec", "examples", "prairie-ppo-2026.yaml").read_text())
    with shared_path("spec", "examples", doc["fee_schedule"]).open(newline="") as handle:
        rows = [
            FeeRate(
                r["code"],
                r["modifier"] or "",
                D(r["non_facility"]),
                D(r["facility"]) if r["facility"] else None,
            )
            for r in csv.DictReader(handle)
        ]
    return ContractTerms(Contract.model_validate(doc), FeeSchedule.of(rows))


def _l(
    lcn: str,
    code: str,
    charge: str,
    paid: str,
    units: str,
    day: int,
    adj: Iterable[str],
    mods: Iterable[str] = (),
) -> ServiceLine:
    item = line(
        code,
        paid,  # AMT*B6 equals SVC03 on every line of the example
        mods=mods,
        units=units,
        charge=charge,
        paid=paid,
        adj=adj,
        dos=date(2026, 6, day),
    )
    item.line_control_number = lcn
    return item


def prairie_claims() -> dict[str, ClaimPayment]:
    """The claims of prairie-2026-06-15.835 and the corrected E2 of
    prairie-2026-07-20-reversal.835, keyed by CLP01 (E2R for the correction)."""
    c = {
        "E1": claim(
            _l("E1A", "99214", "250.00", "148.90", "1", 1, ["CO-45-101.10"], ["25"]),
            _l("E1B", "64483", "1250.00", "390.00", "1", 1, ["CO-45-860.00"], ["RT"]),
            statement_from=date(2026, 6, 1),
            claim_id="E1",
        ),
        "E2": claim(
            _l("E2A", "64483", "1250.00", "412.00", "1", 2, ["CO-45-838.00"]),
            _l("E2B", "64493", "900.00", "124.00", "1", 2, ["CO-45-590.00", "CO-59-186.00"]),
            statement_from=date(2026, 6, 2),
            claim_id="E2",
        ),
        "E3": claim(
            _l("E3A", "64483", "1250.00", "412.00", "1", 3, ["CO-45-838.00"]),
            _l("E3B", "64484", "1200.00", "198.00", "2", 3, ["CO-45-804.00", "CO-59-198.00"]),
            statement_from=date(2026, 6, 3),
            claim_id="E3",
        ),
        "E4": claim(
            _l("E4A", "64493", "1800.00", "310.00", "1", 4, ["CO-45-1490.00"], ["50"]),
            statement_from=date(2026, 6, 4),
            claim_id="E4",
        ),
        "E5": claim(
            _l("E5A", "64483", "1250.00", "412.00", "1", 5, ["CO-45-838.00"]),
            _l("E5B", "77003", "150.00", "0.00", "1", 5, ["CO-97-150.00"]),
            statement_from=date(2026, 6, 5),
            claim_id="E5",
        ),
        "E6": claim(
            _l(
                "E6A", "64493", "900.00", "155.00", "1", 8, ["CO-45-590.00", "CO-59-155.00"], ["RT"]
            ),
            _l("E6B", "64493", "900.00", "310.00", "1", 8, ["CO-45-590.00"], ["LT"]),
            statement_from=date(2026, 6, 8),
            claim_id="E6",
        ),
        "E7": claim(
            _l("E7A", "64483", "1250.00", "0.00", "1", 9, ["CO-197-1250.00"]),
            statement_from=date(2026, 6, 9),
            claim_id="E7",
        ),
        "E8": claim(
            _l("E8A", "64483", "1250.00", "300.00", "1", 10, ["CO-45-950.00"]),
            status="2",
            statement_from=date(2026, 6, 10),
            claim_id="E8",
        ),
        "E2R": claim(
            _l("E2C", "64483", "1250.00", "412.00", "1", 2, ["CO-45-838.00"]),
            _l("E2D", "64493", "900.00", "155.00", "1", 2, ["CO-45-590.00", "CO-59-155.00"]),
            statement_from=date(2026, 6, 2),
            claim_id="E2",
        ),
    }
    for item in c.values():
        item.place_of_service = "11"
    return c
