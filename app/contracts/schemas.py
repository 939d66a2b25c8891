"""Contract files as data (spec/contracts.md): the YAML document and its fee schedules.

``Contract`` is the validated YAML. ``FeeSchedule`` is a CSV's rows indexed for the
repricer's look-up. ``ContractTerms`` is what the repricer prices a claim with: the
contract, its schedules, and the stored version id it came from.

Money and percents are ``Decimal``. Line-numbered validation of the raw files lives
in ``loader.py``; these models hold the rules that need no file position.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CONTRACT_ID_PATTERN = r"^[a-z0-9-]+$"

# the "modifier blank" row of a fee schedule: any modifier without its own row
ANY_MODIFIER = ""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PayerTerms(_Strict):
    name: str
    ids: list[str] = Field(min_length=1)
    address: str | None = None


class PracticeTerms(_Strict):
    npi: str | None = None
    tin: str | None = None


class PercentOf(_Strict):
    schedule: str
    percent: Decimal = Field(gt=0)


class BundlingEdit(_Strict):
    code: str  # column two: included in ...
    into: list[str] = Field(min_length=1)  # ... these column-one codes
    modifier_allowed: bool = False  # True = NCCI modifier indicator 1


class Clauses(_Strict):
    fee_schedule: str | None = None
    multiple_procedure_reduction: str | None = None
    bilateral: str | None = None
    bundling: str | None = None
    dispute_window: str | None = None


class Contract(_Strict):
    id: str = Field(pattern=CONTRACT_ID_PATTERN)
    name: str
    payer: PayerTerms
    practice: PracticeTerms | None = None
    effective_from: date
    effective_to: date | None = None
    dispute_window_months: int | None = Field(default=None, gt=0)
    dispute_window_days: int | None = Field(default=None, gt=0)
    dispute_window_from: Literal["payment", "service"] = "payment"
    multiple_procedure_reduction_percent: Decimal | None = Field(default=None, ge=0, le=100)
    multiple_procedure_schedule: list[Decimal] | None = None
    bilateral_percent: Decimal = Field(default=Decimal(150), ge=100, le=200)
    tolerance: Decimal = Field(default=Decimal("1.00"), ge=0)
    price_secondary: bool = False
    lesser_of_charges: bool = True
    fee_schedule: str | None = None
    percent_of: PercentOf | None = None
    mpr_exempt: list[str] = Field(default_factory=list)
    mpr_subject: list[str] = Field(default_factory=list)
    bundled: list[BundlingEdit] = Field(default_factory=list)
    clauses: Clauses = Field(default_factory=Clauses)

    def mpr_payment_percent(self, rank: int) -> Decimal:
        """Payment percent of the procedure ranked ``rank`` (1 = highest) under this
        contract's multiple-procedure rule (repricing.md §3 step 4)."""
        if self.multiple_procedure_schedule:
            schedule = self.multiple_procedure_schedule
            return schedule[min(rank, len(schedule)) - 1]
        if rank == 1:
            return Decimal(100)
        reduction = self.multiple_procedure_reduction_percent
        return Decimal(100) - (Decimal(50) if reduction is None else reduction)


@dataclass(slots=True, frozen=True)
class FeeRate:
    code: str
    modifier: str  # "" = any modifier without its own row
    non_facility: Decimal
    facility: Decimal | None  # None falls back to non_facility

    def amount(self, *, facility: bool) -> Decimal:
        if facility and self.facility is not None:
            return self.facility
        return self.non_facility


@dataclass(slots=True)
class FeeSchedule:
    """A fee schedule indexed by (code, modifier)."""

    rates: dict[tuple[str, str], FeeRate] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: list[FeeRate]) -> FeeSchedule:
        return cls({(row.code, row.modifier): row for row in rows})

    def rate(self, code: str, modifiers: tuple[str, ...]) -> FeeRate | None:
        """The row for one of the line's modifiers (26, TC, ...), else the blank
        modifier row (repricing.md §3 step 1)."""
        for modifier in modifiers:
            row = self.rates.get((code, modifier))
            if row is not None:
                return row
        return self.rates.get((code, ANY_MODIFIER))

    def __len__(self) -> int:
        return len(self.rates)


@dataclass(slots=True, frozen=True)
class ContractTerms:
    """A stored contract version ready to price with."""

    contract: Contract
    fee_schedule: FeeSchedule
    percent_of_schedule: FeeSchedule | None = None
    version_id: uuid.UUID | None = None
    version: int = 1


# ------------------------------------------------------------ validation and storage


@dataclass(slots=True, frozen=True)
class Problem:
    """One validation problem of a contract file: the file as given, the line in it
    (1-based; a CSV's header is line 1; 0 = the file as a whole) and a plain message."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file}: {self.message}"

    def as_dict(self) -> dict[str, str | int]:
        return {"file": self.file, "line": self.line, "message": self.message}


@dataclass(slots=True, frozen=True)
class Letterhead:
    """What a dispute letter is sent from, per practice NPI (``practices.yaml``,
    contracts.md "Practices (letterhead)")."""

    npi: str
    name: str
    address_lines: tuple[str, ...]
    phone: str | None = None
    signer_name: str | None = None
    signer_title: str | None = None

    @property
    def address(self) -> str:
        return "\n".join(self.address_lines)


class ContractSummary(BaseModel):
    """A stored contract (its current version) as listed by ``contracts list`` and
    ``GET /v1/contracts``."""

    model_config = ConfigDict(frozen=True)

    id: str
    version: int
    versions: int
    name: str
    payer_name: str
    payer_ids: list[str]
    practice_npi: str | None = None
    practice_tin: str | None = None
    effective_from: date
    effective_to: date | None = None
    fee_schedule_rows: int = 0
    percent_of_rows: int = 0
    content_hash: str
    source_path: str | None = None
    loaded_at: datetime


class LoadedItem(BaseModel):
    """What loading did to one contract id: ``loaded`` (first version), ``new_version``
    (content changed) or ``unchanged`` (identical content already current)."""

    model_config = ConfigDict(frozen=True)

    contract_id: str
    version: int
    status: Literal["loaded", "new_version", "unchanged"]
    source_path: str | None = None


class LoadReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: list[LoadedItem] = Field(default_factory=list)
    # NPIs of the letterheads read from a practices.yaml in the batch (not stored)
    practices: list[str] = Field(default_factory=list)

    def _with(self, status: str) -> list[LoadedItem]:
        return [item for item in self.items if item.status == status]

    @property
    def loaded(self) -> list[LoadedItem]:
        return self._with("loaded")

    @property
    def new_versions(self) -> list[LoadedItem]:
        return self._with("new_version")

    @property
    def unchanged(self) -> list[LoadedItem]:
        return self._with("unchanged")

    @property
    def changed(self) -> bool:
        return any(item.status != "unchanged" for item in self.items)
