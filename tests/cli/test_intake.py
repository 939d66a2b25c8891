"""``era-recon ingest`` and ``era-recon validate`` through Typer's CliRunner, on the
test database (the ``connection`` fixture binds each unit of work to it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli.main import cli
from app.config import get_settings
from app.db import models
from tests.support import shared_path

runner = CliRunner()


@pytest.fixture
def june() -> Path:
    return shared_path("spec", "examples", "prairie-2026-06-15.835")


@pytest.fixture
def inbox(tmp_path: Path, june: Path) -> Path:
    """A folder: a good file, a bad one, and the good one again under another name."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(june, folder / "a-june.835")
    (folder / "b-bad.835").write_bytes(
        june.read_bytes().replace(b"CLP*E5*1*1400.00", b"CLP*E5*1*14X")
    )
    shutil.copy(june, folder / "c-june-again.835")
    (folder / "sub").mkdir()  # folders inside are not read
    return folder


def claims_stored(session: Session) -> int:
    return session.execute(select(func.count()).select_from(models.ClaimPayment)).scalar_one()


def test_a_rejected_file_among_several_does_not_affect_the_others(
    connection, session: Session, inbox: Path
) -> None:
    result = runner.invoke(cli, ["ingest", str(inbox), "--json"])

    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    files = document["files"]
    assert [(f["file"], f["status"]) for f in files] == [
        ("a-june.835", "processed"),
        ("b-bad.835", "rejected"),
        ("c-june-again.835", "duplicate"),
    ]
    processed, rejected, duplicate = files
    assert set(processed) >= {
        "file",
        "status",
        "remittance_ids",
        "claims",
        "duplicates",
        "lines",
        "underpaid_total",
        "errors",
        "warnings",
    }
    assert (processed["claims"], processed["lines"], processed["underpaid_total"]) == (
        8,
        13,
        "0.00",  # no contract loaded: every line no_contract
    )
    assert rejected["errors"]
    assert rejected["errors"][0]["segment"] == "CLP"
    assert rejected["errors"][0]["segment_number"]
    assert duplicate["file_id"] == processed["file_id"]
    assert claims_stored(session) == 8


def test_text_output_and_exit_zero_when_nothing_is_rejected(
    connection, session: Session, june: Path
) -> None:
    result = runner.invoke(cli, ["ingest", str(june)])

    assert result.exit_code == 0, result.output
    assert "prairie-2026-06-15.835: processed" in result.stdout
    assert "8 claim payments" in result.stdout
    assert "DOE" not in result.stdout

    again = runner.invoke(cli, ["ingest", str(june)])
    assert again.exit_code == 0
    assert "duplicate" in again.stdout


def test_rejected_errors_are_located_in_the_text_output(connection, inbox: Path) -> None:
    result = runner.invoke(cli, ["ingest", str(inbox / "b-bad.835")])

    assert result.exit_code == 1
    assert "b-bad.835: rejected" in result.stdout
    assert "error: segment" in result.stdout


@pytest.mark.parametrize("args", [["ingest", "/no/such/file.835"], ["ingest"]])
def test_usage_errors_exit_2(connection, args: list[str]) -> None:
    assert runner.invoke(cli, args).exit_code == 2


def test_validate_files_prints_findings(connection, june: Path, tmp_path: Path) -> None:
    broken = tmp_path / "wrong-count.835"
    broken.write_bytes(june.read_bytes().replace(b"SE*104*", b"SE*99*"))

    result = runner.invoke(cli, ["validate", str(june), str(broken), "--json"])

    assert result.exit_code == 0, result.output
    reports = {r["file"]: r for r in json.loads(result.stdout)["files"]}
    assert reports["wrong-count.835"]["status"] == "done"
    assert any(f["segment"] == "SE" for f in reports["wrong-count.835"]["findings"])
    assert len(reports["prairie-2026-06-15.835"]["findings"]) < len(
        reports["wrong-count.835"]["findings"]
    )


def test_validate_pending_validates_what_ingest_left_waiting(
    connection, session: Session, june: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERA_RECON_VALIDATE_INLINE_LINES", "5")
    get_settings.cache_clear()
    try:
        assert runner.invoke(cli, ["ingest", str(june)]).exit_code == 0
    finally:
        monkeypatch.delenv("ERA_RECON_VALIDATE_INLINE_LINES")
        get_settings.cache_clear()
    statuses = session.scalars(select(models.EraFile.validation_status)).all()
    assert statuses == ["pending"]

    result = runner.invoke(cli, ["validate", "--pending"])

    assert result.exit_code == 0, result.output
    assert "validated 1 stored file" in result.stdout
    session.expire_all()
    assert session.scalars(select(models.EraFile.validation_status)).all() == ["done"]
    assert runner.invoke(cli, ["validate", "--pending", str(june)]).exit_code == 2
