"""The 835 domain objects, named after the implementation guide (005010X221A1).

``Remittance`` is one transaction set (ST/SE); ``ClaimPayment`` is Loop 2100 (CLP);
``ServiceLine`` is Loop 2110 (SVC); ``Adjustment`` is one CAS triple (group, reason,
amount, quantity); ``ProviderAdjustment`` is one PLB adjustment. Every amount is a
``Decimal`` exactly as written in the file (never rounded, never float).

``Finding`` is one located problem: an error that rejects the file, or a warning
that does not stop it being read (spec/parsing.md).

These are plain slotted dataclasses: the reader builds tens of thousands of them per
second and the repricer reads them; neither needs validation machinery here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any


class ClaimStatus(StrEnum):
    """CLP02 claim status codes (005010X221A1)."""

    PRIMARY = "1"
    SECONDARY = "2"
    TERTIARY = "3"
    DENIED = "4"
    PRIMARY_FORWARDED = "19"
    SECONDARY_FORWARDED = "20"
    TERTIARY_FORWARDED = "21"
    REVERSAL = "22"
    NOT_OUR_CLAIM = "23"
    PREDETERMINATION = "25"


# CLP02 values of a claim processed as secondary or tertiary (repricing.md §5)
SECONDARY_STATUSES = frozenset({"2", "3", "20", "21"})


@dataclass(slots=True, frozen=True)
class Finding:
    """A located problem. ``segment_number`` counts segments from 1 at the start of the
    file (ISA = 1); ``loop`` is the 835 loop id (``2100``) when known; ``element`` the
    element reference (``CLP04``) when known."""

    message: str
    segment_number: int | None = None
    segment: str | None = None
    loop: str | None = None
    element: str | None = None
    code: str = "invalid"

    def as_dict(self) -> dict[str, Any]:
        return {
            "segment_number": self.segment_number,
            "segment": self.segment,
            "loop": self.loop,
            "element": self.element,
            "code": self.code,
            "message": self.message,
        }


@dataclass(slots=True)
class Adjustment:
    """One CAS triple: CAS01 group with (CAS02, CAS03, CAS04), (CAS05, CAS06, CAS07)…"""

    group_code: str  # CAS01: CO, PR, OA, PI (CR in 4010)
    reason_code: str  # CAS02 / 05 / 08 / 11 / 14 / 17
    amount: Decimal  # CAS03 / 06 / ...
    quantity: Decimal | None = None  # CAS04 / 07 / ...

    @property
    def carc(self) -> str:
        """``CO-45``: group and reason, as shown to people and stored on results."""
        return f"{self.group_code}-{self.reason_code}"


@dataclass(slots=True)
class ServiceLine:
    """Loop 2110. ``procedure_code`` is None when SVC01 could not be read (the line is
    kept, with a warning, and priced ``no_rate``)."""

    position: int  # 1-based order on the claim
    procedure_qualifier: str | None  # SVC01-1 (HC, AD, ER, N4, ...)
    procedure_code: str | None  # SVC01-2
    modifiers: tuple[str, ...]  # SVC01-3 .. SVC01-6
    charge_amount: Decimal  # SVC02
    paid_amount: Decimal  # SVC03
    revenue_code: str | None = None  # SVC04
    units: Decimal | None = None  # SVC05 (paid units)
    original_qualifier: str | None = None  # SVC06-1
    original_procedure_code: str | None = None  # SVC06-2
    original_modifiers: tuple[str, ...] = ()  # SVC06-3 .. SVC06-6
    original_units: Decimal | None = None  # SVC07 (billed units)
    service_date: date | None = None  # DTM*472, else DTM*150 (start of a range)
    service_end_date: date | None = None  # DTM*151
    line_control_number: str | None = None  # REF*6R
    allowed_amount: Decimal | None = None  # AMT*B6
    remark_codes: tuple[str, ...] = ()  # LQ02 (LQ01 = HE or RX)
    adjustments: list[Adjustment] = field(default_factory=list)  # line-level CAS
    segment_number: int | None = None  # of the SVC segment


@dataclass(slots=True)
class ClaimPayment:
    """Loop 2100 (CLP) with its patient, dates, claim-level CAS and service lines."""

    position: int  # 1-based order in the transaction
    claim_id: str  # CLP01 patient control number
    status_code: str  # CLP02
    charge_amount: Decimal  # CLP03
    paid_amount: Decimal  # CLP04
    patient_responsibility_amount: Decimal | None = None  # CLP05
    filing_indicator: str | None = None  # CLP06
    payer_claim_number: str | None = None  # CLP07
    place_of_service: str | None = None  # CLP08 (facility code value)
    frequency_code: str | None = None  # CLP09
    patient_name: str | None = None  # NM1*QC "LAST, FIRST M"
    patient_member_id: str | None = None  # NM1*QC NM109
    insured_name: str | None = None  # NM1*IL
    insured_member_id: str | None = None  # NM1*IL NM109
    statement_from_date: date | None = None  # DTM*232
    statement_to_date: date | None = None  # DTM*233
    remark_codes: tuple[str, ...] = ()  # MOA / MIA remark codes
    adjustments: list[Adjustment] = field(default_factory=list)  # claim-level CAS
    lines: list[ServiceLine] = field(default_factory=list)
    segment_number: int | None = None  # of the CLP segment

    @property
    def is_reversal(self) -> bool:
        return self.status_code == ClaimStatus.REVERSAL


@dataclass(slots=True)
class ProviderAdjustment:
    """One PLB adjustment: PLB03/PLB04, PLB05/PLB06, ... of one PLB segment."""

    provider_id: str | None  # PLB01
    fiscal_period_date: date | None  # PLB02
    reason_code: str  # PLB03-1 (WO, L6, CS, ...)
    reference_id: str | None  # PLB03-2
    amount: Decimal  # PLB04 (positive reduces the payment)


@dataclass(slots=True)
class Party:
    """N1 loop 1000A (payer) or 1000B (payee) with its N3/N4 and REF."""

    name: str | None = None  # N102
    id_qualifier: str | None = None  # N103 (XX = NPI, FI = TIN, XV, PI, ...)
    identifier: str | None = None  # N104
    address_lines: tuple[str, ...] = ()  # N301, N302
    city: str | None = None  # N401
    state: str | None = None  # N402
    postal_code: str | None = None  # N403
    additional_id: str | None = None  # payer REF*2U / payee REF*TJ

    def address(self) -> dict[str, Any]:
        return {
            "lines": list(self.address_lines),
            "city": self.city,
            "state": self.state,
            "postal_code": self.postal_code,
        }


@dataclass(slots=True)
class Remittance:
    """One 835 transaction set (ST/SE): a payment from one payer to one payee."""

    position: int  # 1-based order of the ST in the file
    control_number: str | None  # ST02
    version: str | None  # GS08 (005010X221A1 / 004010X091A1)
    handling_code: str | None  # BPR01
    payment_amount: Decimal  # BPR02
    credit_debit: str | None  # BPR03
    payment_method: str | None  # BPR04 (ACH, CHK, NON, BOP, FWT)
    payment_date: date | None  # BPR16
    trace_type: str | None  # TRN01
    trace_number: str | None  # TRN02 (check or EFT number)
    trace_originator: str | None  # TRN03 (payer TIN, usually with a leading 1)
    production_date: date | None  # DTM*405
    payer: Party = field(default_factory=Party)
    payee: Party = field(default_factory=Party)
    claims: list[ClaimPayment] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    segment_number: int | None = None  # of the ST segment

    @property
    def payer_id(self) -> str | None:
        """REF*2U, else N1*PR N104, else TRN03 (repricing.md "Where results appear")."""
        return self.payer.additional_id or self.payer.identifier or self.trace_originator

    @property
    def payer_identifiers(self) -> tuple[str, ...]:
        """Every id a contract's ``payer.ids`` is matched against (repricing.md §1):
        REF*2U, N1*PR N104, and TRN03 with and without its leading ``1``."""
        ids: list[str] = []
        for value in (self.payer.additional_id, self.payer.identifier, self.trace_originator):
            if value and value not in ids:
                ids.append(value)
        trn03 = self.trace_originator
        if trn03 and len(trn03) == 10 and trn03.startswith("1") and trn03[1:] not in ids:
            ids.append(trn03[1:])
        return tuple(ids)

    @property
    def payee_npi(self) -> str | None:
        return self.payee.identifier if self.payee.id_qualifier == "XX" else None

    @property
    def payee_tin(self) -> str | None:
        if self.payee.id_qualifier == "FI" and self.payee.identifier:
            return self.payee.identifier
        return self.payee.additional_id

    @property
    def effective_payment_date(self) -> date | None:
        """BPR16, else DTM*405 (disputes.md "Deadline")."""
        return self.payment_date or self.production_date

    @property
    def practice_key(self) -> str | None:
        """Payee NPI, else TIN: the practice a packet belongs to (disputes.md)."""
        return self.payee_npi or self.payee_tin
