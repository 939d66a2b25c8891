"""``era-recon ingest`` and ``era-recon validate`` (spec/interfaces.md).

``ingest`` commits each file on its own (one file is all-or-nothing), so a rejected
file among several leaves the others stored. Exit status: 0 when every file was
processed or a duplicate, 1 when any was rejected, 2 on a usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from app.access.schemas import CLI_ACTOR
from app.cli.common import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, fail, print_json, unit_of_work
from app.config import get_settings
from app.reconciliation.schemas import FileResult, ValidationReport
from app.x12.errors import X12Rejected
from app.x12.schemas import Finding


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for every regular file directly inside it,
    sorted by name. A missing path is a usage error."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            fail(f"no such file or directory: {path}", EXIT_USAGE)
    return files


@contextmanager
def _progress(files: list[Path], label: str) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal; otherwise the bare list."""
    if sys.stderr.isatty() and len(files) > 1:
        with typer.progressbar(files, label=label, file=sys.stderr) as bar:
            yield bar
    else:
        yield files


def _ingest_one(path: Path, validate_inline_lines: int) -> FileResult:
    from app.reconciliation.service import ingest_file, rejected_result

    try:
        data = path.read_bytes()
    except OSError as exc:
        return rejected_result(
            path.name,
            X12Rejected([Finding(f"the file cannot be read: {exc.strerror}", code="unreadable")]),
        )
    try:
        with unit_of_work() as session:
            return ingest_file(
                session,
                data=data,
                filename=path.name,
                actor=CLI_ACTOR,
                validate_inline_lines=validate_inline_lines,
            )
    except X12Rejected as exc:
        return rejected_result(path.name, exc)


def _describe(result: FileResult) -> str:
    head = f"{result.file}: {result.status}"
    if result.status == "rejected":
        return head
    counts = (
        f"{result.claims} claim payments, {result.duplicates} duplicates, {result.lines} lines, "
        f"underpaid {result.underpaid_total}"
    )
    if result.warnings:
        counts += f", {len(result.warnings)} warnings"
    return f"{head} — {counts}"


def _location(finding: dict[str, Any]) -> str:
    parts = []
    if finding.get("segment_number") is not None:
        parts.append(f"segment {finding['segment_number']}")
    for key in ("segment", "loop", "element"):
        if finding.get(key):
            parts.append(str(finding[key]))
    return f"{' '.join(parts)}: " if parts else ""


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="835 files, or folders of them.")],
    as_json: bool = typer.Option(False, "--json", help="Print {'files': [FileResult...]}."),
) -> None:
    """Parse, store and reprice ERA files (each file committed on its own)."""
    from app.reconciliation.prepare import warm_up

    files = expand_paths(paths)
    warm_up()  # large files are read in a child of the fork server
    settings = get_settings()
    results: list[FileResult] = []
    with _progress(files, "ingesting") as items:
        for path in items:
            results.append(_ingest_one(path, settings.validate_inline_lines))
    if as_json:
        print_json({"files": [r.public() for r in results]})
    else:
        for result in results:
            typer.echo(_describe(result))
            for error in result.errors:
                typer.echo(f"  error: {_location(error)}{error.get('message')}")
    rejected = any(r.status == "rejected" for r in results)
    raise typer.Exit(EXIT_REJECTED if rejected else EXIT_OK)


def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="835 files, or folders of them.")
    ] = None,
    pending: bool = typer.Option(
        False, "--pending", help="Validate stored files still waiting for full validation."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """pyx12's full implementation-guide validation: findings per file."""
    from app.reconciliation.service import validate_file, validate_pending

    if pending:
        if paths:
            fail("give files or --pending, not both", EXIT_USAGE)
        total = 0
        while True:
            with unit_of_work() as session:
                done = validate_pending(session, limit=1)
            if not done:
                break
            total += done
        if as_json:
            print_json({"validated": total})
        else:
            typer.echo(f"validated {total} stored file(s)")
        raise typer.Exit(EXIT_OK)
    if not paths:
        fail("give 835 files to validate, or --pending", EXIT_USAGE)
    reports: list[ValidationReport] = []
    with _progress(expand_paths(paths or []), "validating") as items:
        for path in items:
            reports.append(validate_file(data=path.read_bytes(), filename=path.name))
    if as_json:
        print_json({"files": [r.model_dump(mode="json") for r in reports]})
    else:
        for report in reports:
            typer.echo(f"{report.file}: {len(report.findings)} finding(s)")
            for finding in report.findings:
                typer.echo(f"  {_location(finding)}{finding.get('message')}")
    rejected = any(r.status == "rejected" for r in reports)
    raise typer.Exit(EXIT_REJECTED if rejected else EXIT_OK)


def register(cli: typer.Typer) -> None:
    cli.command("ingest")(ingest)
    cli.command("validate")(validate)
