"""What every command shares: settings, the unit of work, error reporting.

Exit status (spec/interfaces.md): 0 success; 1 some input rejected; 2 usage error.
A ``ReconError`` prints its message to stderr and exits 1 (``SchemaOutdated`` too);
nothing else is caught here, so a bug shows as a bug.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from sqlalchemy.orm import Session

from app.config import Settings, get_settings
from app.db import session as db_session
from app.db.migrate import ensure_schema
from app.errors import ReconError

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


def prepare_database(settings: Settings | None = None) -> None:
    """Bind the session factory to ``DATABASE_URL`` and check (or, on SQLite, bring
    up to date) its schema."""
    settings = settings or get_settings()
    if db_session.SessionLocal.kw.get("bind") is None:
        engine = db_session.configure(settings.database_url)
        ensure_schema(engine)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction per command: committed on success, rolled back on error."""
    try:
        prepare_database()
    except ReconError as exc:
        fail(exc.message)
    with db_session.SessionLocal.begin() as session:
        yield session


def fail(message: str, code: int = EXIT_REJECTED) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=str))
    sys.stdout.write("\n")


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the product's own errors into a message on stderr and exit status 1."""
    try:
        yield
    except ReconError as exc:
        fail(exc.message)
