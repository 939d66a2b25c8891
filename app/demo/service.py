"""Load the demo (``era-recon serve --demo``): the sample contracts of the contracts
folder and the sample ERA files of ``app/demo/era``, dated relative to today so a new
user sees open dispute packets at once (spec/interfaces.md ``serve --demo``).

Loading twice changes nothing: the contracts service keeps an unchanged contract as
it is, and ingest answers ``duplicate`` for files whose claim payments are stored.
Each file is ingested in its own savepoint (ingest's all-or-nothing rule), and the
caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from app.access import service as access_service
from app.access.schemas import Actor, Role
from app.contracts import service as contracts_service
from app.demo.samples import sample_files
from app.reconciliation import service as ingest_service
from app.x12.errors import X12Rejected


@dataclass(slots=True)
class DemoFile:
    name: str
    status: str  # processed | duplicate | rejected
    claims: int = 0
    underpaid_total: str = "0.00"
    message: str | None = None


@dataclass(slots=True)
class DemoReport:
    contracts_loaded: list[str] = field(default_factory=list)
    contracts_unchanged: list[str] = field(default_factory=list)
    files: list[DemoFile] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return sum(1 for item in self.files if item.status == "processed")


def load_demo(
    session: Session,
    *,
    contracts_path: Path,
    actor: Actor,
    today: date,
    validate_inline_lines: int = 2000,
) -> DemoReport:
    """Load the contracts folder, then every sample ERA file moved to ``today``."""
    report = DemoReport()
    loaded = contracts_service.load_paths(session, paths=[contracts_path], actor=actor)
    report.contracts_loaded = [item.contract_id for item in loaded.loaded + loaded.new_versions]
    report.contracts_unchanged = [item.contract_id for item in loaded.unchanged]
    for sample in sample_files(today=today):
        try:
            result = ingest_service.ingest_file(
                session,
                data=sample.data,
                filename=sample.name,
                actor=actor,
                validate_inline_lines=validate_inline_lines,
            )
        except X12Rejected as exc:  # a sample must never be rejected; say so plainly
            report.files.append(DemoFile(sample.name, "rejected", message=exc.message))
            continue
        report.files.append(
            DemoFile(
                sample.name,
                result.status,
                claims=result.claims,
                underpaid_total=result.underpaid_total,
            )
        )
    return report


# the name of the demo's admin key (it shows in the audit log)
DEMO_KEY_NAME = "demo admin"


def fresh_demo_key(session: Session, *, pepper: bytes, actor: Actor) -> str:
    """A new admin key for the demo, its secret returned once. The demo keys of
    earlier runs are revoked first, so running the demo again leaves one demo key."""
    for key in access_service.list_keys(session):
        if key.name == DEMO_KEY_NAME and key.active:
            access_service.revoke_key(session, key_ref=key.id, actor=actor)
    _key, secret = access_service.create_key(
        session, role=Role.ADMIN, name=DEMO_KEY_NAME, actor=actor, pepper=pepper
    )
    return secret
