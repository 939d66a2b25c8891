"""``era-recon contracts check|load|list|reference`` through Typer's CliRunner; the
``connection`` fixture binds the CLI's unit of work to the rolled-back test database."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli.main import cli
from app.db.models import ContractVersion
from tests.support import ROOT

runner = CliRunner()
SAMPLES = str(ROOT / "contracts")
VALID = """\
id: acme-ppo-2026
name: Acme PPO
payer:
  name: ACME HEALTH PLAN
  ids: ["60054"]
effective_from: 2026-01-01
dispute_window_months: 18
fee_schedule: fees.csv
"""
FEES = "code,modifier,non_facility,facility\n64483,,412.00,236.50\n"


def _broken(tmp_path: Path) -> Path:
    (tmp_path / "acme.yaml").write_text(VALID + "bilateral_percent: 300\n")
    (tmp_path / "fees.csv").write_text(FEES + "64483,,1.00,\n")
    return tmp_path


def test_check_prints_every_problem_as_file_line_message(tmp_path: Path) -> None:
    folder = _broken(tmp_path)
    result = runner.invoke(cli, ["contracts", "check", str(folder)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{folder / 'acme.yaml'}:9: 'bilateral_percent' must be between 100 and 200, got 300",
        f"{folder / 'fees.csv'}:3: duplicate row for 64483 with no modifier (first on line 2)",
    ]
    assert "2 problems" in result.stderr


def test_check_json(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["contracts", "check", "--json", str(_broken(tmp_path))])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["problems"][0] == {
        "file": str(tmp_path / "acme.yaml"),
        "line": 9,
        "message": "'bilateral_percent' must be between 100 and 200, got 300",
    }


def test_check_the_samples() -> None:
    result = runner.invoke(cli, ["contracts", "check", SAMPLES])
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 3 contracts valid (big-sky-hmo, plains-tpa, summit-ppo)\n"


def test_check_needs_a_path() -> None:
    assert runner.invoke(cli, ["contracts", "check"]).exit_code == 2


def test_load_then_reload_then_list(connection: Connection) -> None:
    result = runner.invoke(cli, ["contracts", "load", SAMPLES])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        "loaded: big-sky-hmo (version 1)",
        "loaded: plains-tpa (version 1)",
        "loaded: summit-ppo (version 1)",
    ]
    result = runner.invoke(cli, ["contracts", "load", "--json", SAMPLES])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert {i["status"] for i in document["items"]} == {"unchanged"}
    assert document["practices"] == ["1326048597", "1487652301"]

    listed = json.loads(runner.invoke(cli, ["contracts", "list", "--json"]).stdout)
    by_id = {item["id"]: item for item in listed["items"]}
    assert set(by_id) == {"big-sky-hmo", "plains-tpa", "summit-ppo"}
    assert by_id["summit-ppo"]["payer_ids"] == ["71412", "1840000071"]
    assert by_id["summit-ppo"]["effective_from"] == "2025-01-01"

    table = runner.invoke(cli, ["contracts", "list"]).stdout.splitlines()
    assert table[0].split() == ["id", "version", "payer", "payer", "ids", "practice", "effective"]
    assert any(line.startswith("plains-tpa") and "1487652301" in line for line in table)


def test_load_of_a_broken_folder_stores_nothing(connection: Connection, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["contracts", "load", str(_broken(tmp_path))])
    assert result.exit_code == 1
    assert f"{tmp_path / 'acme.yaml'}:9:" in result.stdout
    assert "nothing stored" in result.stderr
    with Session(bind=connection) as session:
        assert session.scalars(select(ContractVersion)).all() == []


def test_list_without_contracts(connection: Connection) -> None:
    result = runner.invoke(cli, ["contracts", "list"])
    assert result.exit_code == 0
    assert "no contracts stored" in result.stdout


def test_reference_shows_source_release_and_counts() -> None:
    result = runner.invoke(cli, ["contracts", "reference"])
    assert result.exit_code == 0
    assert "48 codes with MPFS indicators" in result.stdout
    assert "1420 active NCCI PTP edits" in result.stdout
    assert "release: RVU25D" in result.stdout
    assert "release: 2024Q3 (2024-07-01)" in result.stdout
    document = json.loads(runner.invoke(cli, ["contracts", "reference", "--json"]).stdout)
    assert (document["codes"], document["ncci_edits"]) == (48, 1420)
    assert document["files"]["mpfs_indicators"]["release"] == "RVU25D"
