"""``era-recon contracts check|load|list|reference`` (spec/interfaces.md).

``check`` validates files and folders among themselves (no database needed) and
prints each problem as ``file:line: message``; ``load`` validates them also against
the stored contracts and stores them in one unit of work (nothing when any file is
invalid); ``list`` shows the contracts in force; ``reference`` the shipped Medicare
reference data with its source and release.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.access.schemas import CLI_ACTOR
from app.cli.common import EXIT_REJECTED, print_json, unit_of_work
from app.contracts import service
from app.contracts.errors import ContractInvalid
from app.contracts.loader import parse_paths
from app.contracts.reference import load_reference
from app.contracts.schemas import LoadReport, Problem

contracts_cli = typer.Typer(help="Payer contracts: validate, store, list.", no_args_is_help=True)

PathsArg = Annotated[
    list[Path], typer.Argument(help="Contract YAML files or folders of them.", show_default=False)
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _print_problems(problems: list[Problem], *, as_json: bool) -> None:
    if as_json:
        print_json({"ok": False, "problems": [problem.as_dict() for problem in problems]})
        return
    for problem in problems:
        typer.echo(str(problem))
    noun = "problem" if len(problems) == 1 else "problems"
    typer.echo(f"{len(problems)} {noun}", err=True)


@contracts_cli.command("check")
def check(paths: PathsArg, as_json: JsonOpt = False) -> None:
    """Validate contract files or folders; print every problem as file:line: message."""
    parsed = parse_paths(paths)
    if parsed.problems:
        _print_problems(parsed.problems, as_json=as_json)
        raise typer.Exit(EXIT_REJECTED)
    ids = [loaded.contract.id for loaded in parsed.contracts]
    if as_json:
        print_json({"ok": True, "problems": [], "contracts": ids})
        return
    noun = "contract" if len(ids) == 1 else "contracts"
    typer.echo(f"ok: {len(ids)} {noun} valid" + (f" ({', '.join(ids)})" if ids else ""))


def _print_report(report: LoadReport) -> None:
    words = {"loaded": "loaded", "new_version": "new version", "unchanged": "unchanged"}
    for item in report.items:
        typer.echo(f"{words[item.status]}: {item.contract_id} (version {item.version})")
    if not report.items:
        typer.echo("no contract files found")
    if report.changed:
        typer.echo("new ERA files are priced with these; re-price stored ones: era-recon reprice")


@contracts_cli.command("load")
def load(paths: PathsArg, as_json: JsonOpt = False) -> None:
    """Validate and store contract files or folders (a changed contract becomes a new
    version; identical content changes nothing; any problem stores nothing)."""
    try:
        with unit_of_work() as session:
            report = service.load_paths(session, paths=paths, actor=CLI_ACTOR)
    except ContractInvalid as exc:
        _print_problems(exc.problems, as_json=as_json)
        typer.echo("nothing stored", err=True)
        raise typer.Exit(EXIT_REJECTED) from None
    if as_json:
        print_json({"ok": True, **report.model_dump(mode="json")})
        return
    _print_report(report)


@contracts_cli.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """The contracts in force (current version of each id)."""
    with unit_of_work() as session:
        contracts = service.list_contracts(session)
    if as_json:
        print_json({"items": [contract.model_dump(mode="json") for contract in contracts]})
        return
    if not contracts:
        typer.echo("no contracts stored: era-recon contracts load PATH")
        return
    header = ("id", "version", "payer", "payer ids", "practice", "effective")
    rows = [
        (
            c.id,
            str(c.version),
            c.payer_name,
            " ".join(c.payer_ids),
            " ".join(x for x in (c.practice_npi, c.practice_tin) if x) or "any",
            f"{c.effective_from} – {c.effective_to or 'open'}",
        )
        for c in contracts
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


@contracts_cli.command("reference")
def reference(as_json: JsonOpt = False) -> None:
    """The shipped Medicare reference data: source, release and counts."""
    data = load_reference()
    summary = {
        "codes": len(data.indicators),
        "indicator_rows": len(data.indicators_by_modifier),
        "ncci_edits": data.edit_count,
        "files": data.sources,
    }
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"{summary['codes']} codes with MPFS indicators ({summary['indicator_rows']} rows "
        f"with 26/TC), {summary['ncci_edits']} active NCCI PTP edits"
    )
    for name, meta in sorted(data.sources.items()):
        typer.echo(f"\n{name}: {meta.get('title', meta.get('kind', ''))}")
        typer.echo(f"  release: {meta.get('release', 'unknown')}")
        typer.echo(f"  rows:    {meta.get('rows', '?')}")
        if "source" in meta:
            typer.echo(f"  source:  {meta['source']}")


def register(cli: typer.Typer) -> None:
    cli.add_typer(contracts_cli, name="contracts")
