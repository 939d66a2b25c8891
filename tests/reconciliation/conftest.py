"""Fixtures of the ingest tests: the worked example's contract stored, row counts of
every intake table, and a helper that ingests bytes as the command line does."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR, Actor
from app.contracts.service import load_paths
from app.db import models
from app.reconciliation import queries, service
from app.reconciliation.schemas import FileResult
from app.reconciliation.service import ingest_file
from tests.support import shared_path

TABLES = (
    models.EraFile,
    models.Remittance,
    models.ClaimPayment,
    models.ServiceLine,
    models.ProviderAdjustment,
    models.PricingResult,
    models.ResultEvent,
)


def row_counts(session: Session) -> dict[str, int]:
    return {
        model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in TABLES
    }


@pytest.fixture
def examples() -> Path:
    return shared_path("spec", "examples")


@pytest.fixture
def contract(session: Session, examples: Path) -> None:
    load_paths(session, paths=[examples / "prairie-ppo-2026.yaml"], actor=CLI_ACTOR)


Ingest = Callable[..., FileResult]


@pytest.fixture(params=["in-process", "child-process"])
def ingest(
    request: pytest.FixtureRequest, session: Session, monkeypatch: pytest.MonkeyPatch
) -> Ingest:
    """Ingest as the command line does; every test using it runs twice: files read and
    priced in this process, and in a child process (as files from
    ``service.PROCESS_BYTES`` on are) — the same answers and the same rows."""
    if request.param == "child-process":
        monkeypatch.setattr(service, "PROCESS_BYTES", 0)

    def run(data: bytes, *, actor: Actor = CLI_ACTOR, **options: Any) -> FileResult:
        options.setdefault("filename", "test.835")
        result = ingest_file(session, data=data, actor=actor, **options)
        if result.status == "processed":
            # the summary of a stored file is built from what the ingest wrote: it
            # must be what reading the file back gives
            assert result.summary is not None
            stored = queries.file_summary(
                session, file_id=result.summary.id, actor=actor, audit=False
            )
            assert result.summary.model_dump(mode="json") == stored.model_dump(mode="json")
        return result

    return run


def results_by_lcn(session: Session) -> dict[str, models.PricingResult]:
    session.expire_all()
    rows = session.execute(
        select(models.ServiceLine.line_control_number, models.PricingResult).join(
            models.PricingResult, models.PricingResult.service_line_id == models.ServiceLine.id
        )
    ).all()
    return dict(rows)


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"
