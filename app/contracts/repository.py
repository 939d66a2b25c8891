"""Stored contract versions (``contract_versions``) and their fee rows
(``fee_schedule_rows``): the only SQL of the contracts domain (STYLE.md).

A contract id may have many versions; the one with ``is_current`` is in force for
repricing, older ones are kept for audit (contracts.md "Validation").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.contracts.loader import LoadedContract
from app.contracts.schemas import FeeRate
from app.db.models import ContractVersion, FeeScheduleRow, new_id

FEE_SCHEDULE = "fee_schedule"
PERCENT_OF = "percent_of"


def current_versions(session: Session) -> list[ContractVersion]:
    """Every contract id's version in force, by contract id."""
    stmt = (
        select(ContractVersion)
        .where(ContractVersion.is_current.is_(True))
        .order_by(ContractVersion.contract_id)
    )
    return list(session.scalars(stmt))


def current_version_ids(session: Session) -> frozenset[uuid.UUID]:
    """The ids of the current contract versions: a cheap fingerprint of what the
    contract index holds (version ids are random, so a rolled-back load never looks
    like a later one)."""
    return frozenset(
        session.scalars(select(ContractVersion.id).where(ContractVersion.is_current.is_(True)))
    )


def current_by_ids(session: Session, contract_ids: Iterable[str]) -> dict[str, ContractVersion]:
    ids = sorted(set(contract_ids))
    if not ids:
        return {}
    stmt = select(ContractVersion).where(
        ContractVersion.is_current.is_(True), ContractVersion.contract_id.in_(ids)
    )
    return {row.contract_id: row for row in session.scalars(stmt)}


def latest_version_numbers(session: Session, contract_ids: Iterable[str]) -> dict[str, int]:
    ids = sorted(set(contract_ids))
    if not ids:
        return {}
    stmt = (
        select(ContractVersion.contract_id, func.max(ContractVersion.version))
        .where(ContractVersion.contract_id.in_(ids))
        .group_by(ContractVersion.contract_id)
    )
    return {contract_id: int(version) for contract_id, version in session.execute(stmt)}


def version_counts(session: Session) -> dict[str, int]:
    stmt = select(ContractVersion.contract_id, func.count()).group_by(ContractVersion.contract_id)
    return {contract_id: int(count) for contract_id, count in session.execute(stmt)}


def versions_of(session: Session, contract_id: str) -> list[ContractVersion]:
    """Every stored version of one contract id, newest first."""
    stmt = (
        select(ContractVersion)
        .where(ContractVersion.contract_id == contract_id)
        .order_by(ContractVersion.version.desc())
    )
    return list(session.scalars(stmt))


def row_counts(
    session: Session, version_ids: Iterable[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], int]:
    ids = list(set(version_ids))
    if not ids:
        return {}
    stmt = (
        select(FeeScheduleRow.contract_version_id, FeeScheduleRow.schedule, func.count())
        .where(FeeScheduleRow.contract_version_id.in_(ids))
        .group_by(FeeScheduleRow.contract_version_id, FeeScheduleRow.schedule)
    )
    return {(version_id, schedule): int(n) for version_id, schedule, n in session.execute(stmt)}


def fee_rows(
    session: Session, version_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, list[FeeRate]]]:
    """The fee rows of some versions: version id → schedule → rows."""
    ids = list(set(version_ids))
    result: dict[uuid.UUID, dict[str, list[FeeRate]]] = {}
    if not ids:
        return result
    stmt = select(
        FeeScheduleRow.contract_version_id,
        FeeScheduleRow.schedule,
        FeeScheduleRow.code,
        FeeScheduleRow.modifier,
        FeeScheduleRow.non_facility_amount,
        FeeScheduleRow.facility_amount,
    ).where(FeeScheduleRow.contract_version_id.in_(ids))
    for version_id, schedule, code, modifier, non_facility, facility in session.execute(stmt):
        rate = FeeRate(code, modifier or "", non_facility, facility)
        result.setdefault(version_id, {}).setdefault(schedule, []).append(rate)
    return result


def retire(session: Session, version: ContractVersion) -> None:
    """A newer version replaces this one for repricing; it stays stored for audit."""
    version.is_current = False
    session.flush()


def add_version(session: Session, *, loaded: LoadedContract, version: int) -> ContractVersion:
    contract = loaded.contract
    row = ContractVersion(
        id=new_id(),
        contract_id=contract.id,
        version=version,
        is_current=True,
        name=contract.name,
        payer_name=contract.payer.name,
        payer_ids=list(contract.payer.ids),
        practice_npi=contract.practice.npi if contract.practice else None,
        practice_tin=contract.practice.tin if contract.practice else None,
        effective_from=contract.effective_from,
        effective_to=contract.effective_to,
        content_hash=loaded.content_hash,
        document=contract.model_dump(mode="json"),
        source_path=loaded.source_path[-500:],
    )
    session.add(row)
    session.flush()
    rows: list[dict[str, Any]] = [
        _fee_row(row.id, FEE_SCHEDULE, rate) for rate in loaded.fee_rows
    ] + [_fee_row(row.id, PERCENT_OF, rate) for rate in loaded.percent_of_rows or []]
    if rows:
        session.execute(insert(FeeScheduleRow), rows)
    return row


def _fee_row(version_id: uuid.UUID, schedule: str, rate: FeeRate) -> dict[str, Any]:
    return {
        "id": new_id(),
        "contract_version_id": version_id,
        "schedule": schedule,
        "code": rate.code,
        "modifier": rate.modifier,
        "non_facility_amount": rate.non_facility,
        "facility_amount": rate.facility,
    }
