"""``era-recon reprice`` and ``era-recon variances``, and the worked example end to
end through the command line: contracts load → ingest both files → variances."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from tests.support import shared_path

runner = CliRunner()


@pytest.fixture
def examples() -> Path:
    return shared_path("spec", "examples")


@pytest.fixture
def loaded(connection, examples: Path) -> None:
    result = runner.invoke(cli, ["contracts", "load", str(examples / "prairie-ppo-2026.yaml")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli,
        [
            "ingest",
            str(examples / "prairie-2026-06-15.835"),
            str(examples / "prairie-2026-07-20-reversal.835"),
            str(examples / "prairie-2026-06-15.835"),  # again: a duplicate adds nothing
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    statuses = [f["status"] for f in json.loads(result.stdout)["files"]]
    assert statuses == ["processed", "processed", "duplicate"]


def test_worked_example_end_to_end(loaded: None, examples: Path) -> None:
    expected = json.loads((examples / "expected.json").read_text())["lines_by_line_control_number"]

    result = runner.invoke(cli, ["variances", "--all", "--json"])

    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)["items"]
    by_lcn = {item["line_control_number"]: item for item in items}
    assert len(items) == len(by_lcn) == len(expected)
    for lcn, want in expected.items():
        got = by_lcn[lcn]
        assert (
            got["expected_allowed"],
            got["actual_allowed"],
            got["variance"],
            got["category"],
        ) == (
            want["expected_allowed"],
            want["actual_allowed"],
            want["variance"],
            want["category"],
        ), lcn
    e2b = by_lcn["E2B"]
    assert (e2b["disputable"], e2b["payer_id"], e2b["practice_npi"]) == (
        False,
        "55123",
        "1326048597",
    )
    assert by_lcn["E4A"]["dispute_deadline"] == "2027-06-15"
    assert by_lcn["E4A"]["patient_name"] == "DOE, JANE"


@pytest.mark.parametrize(
    ("args", "present", "absent"),
    [
        ([], {"E4A", "E3B", "E7A"}, {"E1A", "E2B"}),
        (["--category", "reversed"], {"E2A", "E2B"}, {"E4A"}),
        (["--payer", "55123", "--category", "bilateral_underpaid"], {"E4A"}, {"E3B"}),
        (["--payer", "00000"], set(), {"E4A"}),
    ],
)
def test_variances_filters(
    loaded: None, args: list[str], present: set[str], absent: set[str]
) -> None:
    result = runner.invoke(cli, ["variances", "--json", *args])

    assert result.exit_code == 0, result.output
    lcns = {item["line_control_number"] for item in json.loads(result.stdout)["items"]}
    assert present <= lcns
    assert not absent & lcns


def test_variances_table(loaded: None) -> None:
    result = runner.invoke(cli, ["variances"])

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split()[:3] == ["claim", "patient", "line"]
    e4a = next(row for row in rows if " E4A " in row)
    assert "64493-50" in e4a
    assert "155.00" in e4a
    assert "bilateral_underpaid" in e4a


def test_variances_on_an_empty_database(connection) -> None:
    result = runner.invoke(cli, ["variances"])
    assert (result.exit_code, result.stdout.strip()) == (0, "no pricing results")


def test_reprice_reports_what_it_changed(loaded: None) -> None:
    result = runner.invoke(cli, ["reprice", "--contract", "prairie-ppo-2026", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["claims"] == 9
    assert report["updated"] == 0  # nothing changed since ingest
    assert report["reversed"] == 2

    text = runner.invoke(cli, ["reprice", "--since", "2026-06-05"])
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("re-priced ")


def test_reprice_rejects_a_bad_date(connection) -> None:
    assert runner.invoke(cli, ["reprice", "--since", "June"]).exit_code == 2
