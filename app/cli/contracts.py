"""``era-recon contracts check|load|list|reference``."""

from __future__ import annotations

import typer

from app.cli.common import fail

contracts_cli = typer.Typer(help="Payer contracts: validate, store, list.", no_args_is_help=True)


@contracts_cli.command("check")
def check() -> None:
    """Validate contract files or folders (not built yet)."""
    fail("not built yet", 2)


def register(cli: typer.Typer) -> None:
    cli.add_typer(contracts_cli, name="contracts")
