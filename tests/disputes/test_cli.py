"""``era-recon disputes`` through Typer's CliRunner on the test database: the table,
``--json``, exports with ``--format``/``--out``/``--packet``, and usage errors."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli.main import cli
from app.disputes.schemas import open_packet_id
from tests.disputes.builders import OTHER_PAYER, OTHER_PAYER_NAME, claim, remittance, result
from tests.factories import PAYER_ID, PRACTICE_NPI

runner = CliRunner()
OPEN_ID = str(open_packet_id(PRACTICE_NPI, PAYER_ID))


@pytest.fixture
def data(connection: Connection, session: Session) -> None:
    rem = remittance(session)
    result(session, claim(session, rem, "PA1"), variance="22.00")
    result(session, claim(session, rem, "PA2"), variance="31.00", category="mpr_overapplied")
    result(session, claim(session, rem, "PA3"), variance="5.00", deadline=None)
    result(session, claim(session, rem, "PA4"), variance="9.00", deadline=None, status="upheld")
    other = remittance(session, payer=OTHER_PAYER, payer_name=OTHER_PAYER_NAME)
    result(session, claim(session, other, "PB1"), variance="40.00")
    result(session, claim(session, other, "PB2"), variance="7.50", deadline=date(2026, 1, 1))
    session.flush()


def _run(*args: str):
    return runner.invoke(cli, ["disputes", "--as-of", "2026-11-27", *args])


def test_table_lists_packets_and_the_expired_total(data: None) -> None:
    got = _run()
    assert got.exit_code == 0, got.output
    assert OPEN_ID in got.stdout
    assert "58.00" in got.stdout
    assert "ACME HEALTH PLAN" in got.stdout
    assert "expired (past the dispute window): 1 lines, 7.50" in got.stdout


def test_json_prints_packets_with_items_and_expired(data: None) -> None:
    got = _run("--json")
    assert got.exit_code == 0, got.output
    document = json.loads(got.stdout)
    assert document["as_of"] == "2026-11-27"
    packets = {p["id"]: p for p in document["packets"]}
    assert packets[OPEN_ID]["total"] == "58.00"
    assert [i["claim_id"] for i in packets[OPEN_ID]["items"]] == ["PA1", "PA2", "PA3"]
    assert [e["claim_id"] for e in document["expired"]] == ["PB2"]
    assert document["expired"][0]["expired"] is True


def test_export_one_packet_as_pdf(data: None, tmp_path: Path) -> None:
    out = tmp_path / "letter.pdf"
    got = _run("--format", "pdf", "--packet", OPEN_ID, "--out", str(out))
    assert got.exit_code == 0, got.output
    assert out.read_bytes().startswith(b"%PDF")
    assert str(out) in got.stdout


def test_export_all_as_zip_and_csv(data: None, tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    got = _run("--format", "zip", "--out", str(archive))
    assert got.exit_code == 0, got.output
    assert len(zipfile.ZipFile(io.BytesIO(archive.read_bytes())).namelist()) == 2
    table = tmp_path / "all.csv"
    got = _run("--format", "csv", "--out", str(table), "--json")
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["file"] == str(table)
    lines = table.read_text().splitlines()
    assert len(lines) == 1 + 4
    assert lines[0].startswith("Packet,Packet status,Payer ID,Payer,Practice NPI")


@pytest.mark.parametrize(
    "args",
    [
        ("--format", "pdf", "--out", "x.pdf"),  # a letter needs --packet
        ("--format", "zip", "--packet", OPEN_ID, "--out", "x.zip"),
        ("--format", "docx", "--out", "x.docx"),
        ("--format", "csv"),  # no --out
        ("--packet", OPEN_ID),  # no --format
    ],
)
def test_usage_errors_exit_2(data: None, args: tuple[str, ...]) -> None:
    got = _run(*args)
    assert got.exit_code == 2, got.output


def test_bad_date_exits_2(connection: Connection) -> None:
    got = runner.invoke(cli, ["disputes", "--as-of", "27/11/2026"])
    assert got.exit_code == 2
    assert "--as-of" in got.output


def test_unknown_packet_exits_1(data: None, tmp_path: Path) -> None:
    got = _run("--format", "csv", "--packet", str(uuid.uuid4()), "--out", str(tmp_path / "x.csv"))
    assert got.exit_code == 1
    assert "not found" in got.output
    assert not (tmp_path / "x.csv").exists()
