"""``era-recon reprice`` and ``era-recon variances``."""

from __future__ import annotations

import typer

from app.cli.common import fail


def reprice() -> None:
    """Re-price stored lines after contracts change (not built yet)."""
    fail("not built yet", 2)


def variances() -> None:
    """List pricing results (not built yet)."""
    fail("not built yet", 2)


def register(cli: typer.Typer) -> None:
    cli.command("reprice")(reprice)
    cli.command("variances")(variances)
