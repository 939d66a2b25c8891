"""``era-recon disputes``."""

from __future__ import annotations

import typer

from app.cli.common import fail


def disputes() -> None:
    """Dispute packets and their exports (not built yet)."""
    fail("not built yet", 2)


def register(cli: typer.Typer) -> None:
    cli.command("disputes")(disputes)
