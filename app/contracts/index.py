"""Which contract applies to a line (spec/repricing.md §1), fast enough per claim.

``ContractIndex`` holds every current contract version with its fee rows in memory,
indexed by payer id. Build it once per ingest (``ContractIndex.load(session)``) or
from terms in a test (``ContractIndex.from_terms``), then ask ``match`` per line:

- payer: one of the remittance's payer identifiers (``N1*PR REF*2U``, ``N1*PR N104``,
  ``TRN03``) is one of the contract's payer ids. TRN03 is the payer's TIN with a
  leading ``1``, so 10-digit ids starting with 1 are compared with and without it
  on both sides;
- practice: every field the contract's ``practice`` gives (NPI, TIN) equals the
  payee's (``N1*PE N104`` by ``N103``, or ``REF*TJ``); no ``practice`` = every payee;
- date of service within ``effective_from`` … ``effective_to``, both inclusive.

Of several that apply, the latest ``effective_from`` wins; equal → the one with a
practice (more practice fields beat fewer); still equal → the contract id first in
alphabetical order, so the answer never depends on load order (loading refuses the
truly ambiguous case). A line without a date of service matches nothing.

Answers are cached per (payer ids, NPI, TIN, date) inside the index.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import date

from sqlalchemy.orm import Session

from app.contracts import repository
from app.contracts.loader import normalise_payer_ids, payer_id_forms
from app.contracts.schemas import Contract, ContractTerms, FeeSchedule

_CacheKey = tuple[frozenset[str], str | None, str | None, date | None]


def _digits(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = "".join(ch for ch in value if ch.isalnum()).upper()
    return cleaned or None


def practice_matches(contract: Contract, *, payee_npi: str | None, payee_tin: str | None) -> bool:
    """Every practice field the contract gives matches the payee's."""
    practice = contract.practice
    if practice is None:
        return True
    if practice.npi is not None and _digits(practice.npi) != _digits(payee_npi):
        return False
    return practice.tin is None or _digits(practice.tin) == _digits(payee_tin)


def in_force(contract: Contract, service_date: date) -> bool:
    if service_date < contract.effective_from:
        return False
    return contract.effective_to is None or service_date <= contract.effective_to


def _specificity(contract: Contract) -> int:
    practice = contract.practice
    if practice is None:
        return 0
    return int(practice.npi is not None) + int(practice.tin is not None)


def precedence(terms: ContractTerms) -> tuple[int, int, str]:
    """Sort key, best first: latest effective_from, then most specific practice, then id."""
    contract = terms.contract
    return (-contract.effective_from.toordinal(), -_specificity(contract), contract.id)


class ContractIndex:
    def __init__(self, terms: Iterable[ContractTerms]) -> None:
        self._terms = sorted(terms, key=precedence)
        self._by_payer: dict[str, list[ContractTerms]] = {}
        for item in self._terms:
            for form in sorted(normalise_payer_ids(item.contract.payer.ids)):
                self._by_payer.setdefault(form, []).append(item)
        self._cache: dict[_CacheKey, ContractTerms | None] = {}

    @classmethod
    def from_terms(cls, terms: Iterable[ContractTerms]) -> ContractIndex:
        return cls(terms)

    @classmethod
    def load(cls, session: Session) -> ContractIndex:
        """Every current contract version with its fee rows, read once."""
        versions = repository.current_versions(session)
        rows = repository.fee_rows(session, [version.id for version in versions])
        terms = []
        for version in versions:
            contract = Contract.model_validate(version.document)
            schedules = rows.get(version.id, {})
            percent = None
            if contract.percent_of is not None:
                percent = FeeSchedule.of(schedules.get(repository.PERCENT_OF, []))
            terms.append(
                ContractTerms(
                    contract=contract,
                    fee_schedule=FeeSchedule.of(schedules.get(repository.FEE_SCHEDULE, [])),
                    percent_of_schedule=percent,
                    version_id=version.id,
                    version=version.version,
                )
            )
        return cls(terms)

    @property
    def terms(self) -> list[ContractTerms]:
        return list(self._terms)

    def __len__(self) -> int:
        return len(self._terms)

    def candidates(
        self,
        *,
        payer_identifiers: Iterable[str],
        payee_npi: str | None,
        payee_tin: str | None,
    ) -> list[ContractTerms]:
        """The contracts of this payer and payee, whatever their dates, best first."""
        forms: set[str] = set()
        for identifier in payer_identifiers:
            if identifier:
                forms |= payer_id_forms(identifier)
        found: dict[int, ContractTerms] = {}
        for form in forms:
            for item in self._by_payer.get(form, ()):
                found[id(item)] = item
        return sorted(
            (
                item
                for item in found.values()
                if practice_matches(item.contract, payee_npi=payee_npi, payee_tin=payee_tin)
            ),
            key=precedence,
        )

    def match(
        self,
        *,
        payer_identifiers: Iterable[str],
        payee_npi: str | None,
        payee_tin: str | None,
        service_date: date | None,
    ) -> ContractTerms | None:
        """The contract in force for a line (repricing.md §1), or None."""
        ids = frozenset(payer_identifiers)
        key: _CacheKey = (ids, payee_npi, payee_tin, service_date)
        if key in self._cache:
            return self._cache[key]
        found = None
        if service_date is not None:
            for item in self.candidates(
                payer_identifiers=ids, payee_npi=payee_npi, payee_tin=payee_tin
            ):
                if in_force(item.contract, service_date):
                    found = item
                    break
        self._cache[key] = found
        return found

    def contract_for(
        self,
        *,
        payer_identifiers: Iterable[str],
        payee_npi: str | None,
        payee_tin: str | None,
    ) -> Callable[[date | None], ContractTerms | None]:
        """``match`` with payer and payee fixed: the ``contract_for(date_of_service)``
        the repricer takes (``price_claim``)."""
        ids = frozenset(payer_identifiers)

        def contract_for(service_date: date | None) -> ContractTerms | None:
            return self.match(
                payer_identifiers=ids,
                payee_npi=payee_npi,
                payee_tin=payee_tin,
                service_date=service_date,
            )

        return contract_for


_current: tuple[frozenset[uuid.UUID], ContractIndex] | None = None
_current_lock = threading.Lock()


def current_index(
    session: Session, *, fingerprint: frozenset[uuid.UUID] | None = None
) -> ContractIndex:
    """The index of the current contracts, reused across ingests while the set of
    current versions is unchanged (one small query instead of reading every contract
    and fee row per file). Only a cache: a contract loaded by any process changes the
    set, and the next ingest reads the index again. ``fingerprint``: that set, when
    the caller read it already (``repository.current_version_ids`` in the same
    transaction)."""
    global _current
    if fingerprint is None:
        fingerprint = repository.current_version_ids(session)
    cached = _current
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    index = ContractIndex.load(session)
    with _current_lock:
        _current = (fingerprint, index)
    return index
