"""``era-recon keys create|list|revoke``."""

from __future__ import annotations

import typer

from app.cli.common import fail

keys_cli = typer.Typer(help="API keys: one per person or system.", no_args_is_help=True)


@keys_cli.command("create")
def create() -> None:
    """Create an API key (not built yet)."""
    fail("not built yet", 2)


def register(cli: typer.Typer) -> None:
    cli.add_typer(keys_cli, name="keys")
