"""``era-recon serve --demo``: load the sample contracts and ERA files, then print a
key to sign in with (docs/web.md "The demo")."""

from __future__ import annotations

from datetime import date

import typer

from app.access.keys import key_pepper
from app.access.schemas import CLI_ACTOR
from app.cli.common import reported_errors, unit_of_work
from app.config import get_settings
from app.demo.service import fresh_demo_key, load_demo


def run_demo(*, host: str, port: int) -> str:
    """Load the demo data and print what was loaded and how to sign in; returns the
    demo key's secret. Safe to run again: nothing is loaded twice."""
    settings = get_settings()
    with reported_errors(), unit_of_work() as session:
        report = load_demo(
            session,
            contracts_path=settings.contracts_path,
            actor=CLI_ACTOR,
            today=date.today(),
            validate_inline_lines=settings.validate_inline_lines,
        )
        secret = fresh_demo_key(session, pepper=key_pepper(settings.secret_key), actor=CLI_ACTOR)
    typer.echo("")
    typer.echo("era-recon demo")
    if report.contracts_loaded:
        typer.echo(f"  contracts loaded: {', '.join(report.contracts_loaded)}")
    if report.contracts_unchanged:
        typer.echo(f"  contracts already loaded: {', '.join(report.contracts_unchanged)}")
    for item in report.files:
        line = f"  {item.name}: {item.status}"
        if item.status == "processed":
            line += f" ({item.claims} claims, ${item.underpaid_total} underpaid)"
        if item.message:
            line += f" ({item.message})"
        typer.echo(line)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo("")
    typer.echo("Demo admin key (shown once; earlier demo keys are revoked):")
    typer.echo(f"    {secret}")
    typer.echo("Open this link to sign in (the key after # stays in your browser):")
    typer.echo(f"    http://{shown}:{port}/signin#key={secret}")
    typer.echo("")
    return secret
