"""``era-recon ingest`` and ``era-recon validate``."""

from __future__ import annotations

import typer

from app.cli.common import fail


def ingest() -> None:
    """Parse, store and reprice ERA files (not built yet)."""
    fail("not built yet", 2)


def validate() -> None:
    """pyx12's full validation of 835 files (not built yet)."""
    fail("not built yet", 2)


def register(cli: typer.Typer) -> None:
    cli.command("ingest")(ingest)
    cli.command("validate")(validate)
