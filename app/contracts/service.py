"""Contract services (spec/contracts.md, spec/interfaces.md ``contracts check|load``,
``GET/POST /v1/contracts``): check files, store them as versions, list them.

A key limited to practices lists the contracts of its practices and those naming
no practice (``list_contracts``); the API and the web page both ask here.

Loading is all or nothing: a batch with any problem — in a file, between the files,
or against a stored contract (ambiguous precedence) — raises ``ContractInvalid`` and
stores nothing. A valid contract whose content equals its current stored version
changes nothing (so ``serve`` may load the folder at every start); other content
becomes version n+1 and the one in force, older versions are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from sqlalchemy.orm import Session

from app.access import audit
from app.access.schemas import Actor
from app.contracts import repository
from app.contracts.errors import ContractInvalid
from app.contracts.loader import (
    ContractKey,
    LoadedContract,
    ParseResult,
    ambiguity_problems,
    normalise_payer_ids,
    parse_documents,
    parse_paths,
)
from app.contracts.schemas import (
    ContractSummary,
    LoadedItem,
    LoadReport,
    Problem,
)


def stored_keys(session: Session) -> list[ContractKey]:
    """The precedence keys of the contracts in force."""
    return [
        ContractKey(
            contract_id=row.contract_id,
            payer_ids=frozenset(normalise_payer_ids(row.payer_ids)),
            practice_npi=row.practice_npi,
            practice_tin=row.practice_tin,
            effective_from=row.effective_from,
        )
        for row in repository.current_versions(session)
    ]


def _all_problems(session: Session | None, parsed: ParseResult) -> list[Problem]:
    problems = list(parsed.problems)
    if session is not None and not problems:
        batch = [ContractKey.of(loaded) for loaded in parsed.contracts]
        problems.extend(ambiguity_problems(batch, stored_keys(session)))
    return problems


def check_paths(paths: Iterable[str | Path], *, session: Session | None = None) -> list[Problem]:
    """Every problem of these contract files and folders, [] when they are valid.
    Without a session the files are checked among themselves only; with one, also
    against the stored contracts (ambiguous precedence)."""
    return _all_problems(session, parse_paths(paths))


def load_paths(session: Session, *, paths: Iterable[str | Path], actor: Actor) -> LoadReport:
    """Validate and store contract files and folders (``era-recon contracts load``)."""
    return _load(session, parse_paths(paths), actor=actor)


def load_documents(session: Session, *, files: Mapping[str, bytes], actor: Actor) -> LoadReport:
    """Validate and store uploaded YAML + CSV files, by file name (``POST
    /v1/contracts``): the CSVs are found by the names the YAML gives."""
    return _load(session, parse_documents(files), actor=actor)


def _load(session: Session, parsed: ParseResult, *, actor: Actor) -> LoadReport:
    problems = _all_problems(session, parsed)
    if problems:
        raise ContractInvalid(problems)
    report = store_contracts(session, contracts=parsed.contracts, actor=actor)
    return report.model_copy(update={"practices": sorted(parsed.practices)})


def store_contracts(
    session: Session, *, contracts: list[LoadedContract], actor: Actor
) -> LoadReport:
    """Store valid contracts: unchanged, first version, or version n+1 (the old one
    kept, no longer current). One audit entry when anything changed."""
    ids = [loaded.contract.id for loaded in contracts]
    current = repository.current_by_ids(session, ids)
    latest = repository.latest_version_numbers(session, ids)
    items: list[LoadedItem] = []
    for loaded in contracts:
        contract_id = loaded.contract.id
        row = current.get(contract_id)
        if row is not None and row.content_hash == loaded.content_hash:
            items.append(
                LoadedItem(
                    contract_id=contract_id,
                    version=row.version,
                    status="unchanged",
                    source_path=loaded.source_path,
                )
            )
            continue
        if row is not None:
            repository.retire(session, row)
        version = latest.get(contract_id, 0) + 1
        repository.add_version(session, loaded=loaded, version=version)
        items.append(
            LoadedItem(
                contract_id=contract_id,
                version=version,
                status="new_version" if contract_id in latest else "loaded",
                source_path=loaded.source_path,
            )
        )
    report = LoadReport(items=items)
    if report.changed:
        stored = [item for item in items if item.status != "unchanged"]
        audit.record(
            session,
            actor=actor,
            action="contracts.load",
            object_type="contract",
            # one contract: its id; several: see details
            object_id=stored[0].contract_id if len(stored) == 1 else None,
            details={
                "stored": [{"contract_id": i.contract_id, "version": i.version} for i in stored],
                "unchanged": [item.contract_id for item in report.unchanged],
            },
        )
    return report


def list_contracts(session: Session, *, actor: Actor | None = None) -> list[ContractSummary]:
    """The contracts in force (their current version), by id. For an ``actor`` limited
    to practices: the contracts naming one of its practices (by NPI or TIN) and those
    naming none, which apply to every practice (spec/contracts.md)."""
    versions = [
        version
        for version in repository.current_versions(session)
        if actor is None or visible_to(actor, npi=version.practice_npi, tin=version.practice_tin)
    ]
    counts = repository.version_counts(session)
    rows = repository.row_counts(session, [version.id for version in versions])
    return [
        ContractSummary(
            id=version.contract_id,
            version=version.version,
            versions=counts.get(version.contract_id, 1),
            name=version.name,
            payer_name=version.payer_name,
            payer_ids=list(version.payer_ids),
            practice_npi=version.practice_npi,
            practice_tin=version.practice_tin,
            effective_from=version.effective_from,
            effective_to=version.effective_to,
            fee_schedule_rows=rows.get((version.id, repository.FEE_SCHEDULE), 0),
            percent_of_rows=rows.get((version.id, repository.PERCENT_OF), 0),
            content_hash=version.content_hash,
            source_path=version.source_path,
            loaded_at=version.loaded_at,
        )
        for version in versions
    ]


def visible_to(actor: Actor, *, npi: str | None, tin: str | None) -> bool:
    """Whether a contract naming practice ``npi``/``tin`` (or none) is ``actor``'s to see."""
    if not actor.is_scoped or (npi is None and tin is None):
        return True
    return any(key is not None and actor.may_see(key) for key in (npi, tin))
