"""Alembic from code: ``upgrade`` (``era-recon db upgrade``) and the schema check that
every command runs before touching the database.

A fresh or older SQLite database (the embedded default) is migrated on first use;
PostgreSQL is never migrated implicitly: a command against an older schema stops
with ``SchemaOutdated`` and says to run ``era-recon db upgrade`` (STYLE.md).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations
from app.db.errors import SchemaOutdated

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def ensure_schema(engine: Engine) -> None:
    """Migrate a SQLite database to head; refuse an outdated PostgreSQL one."""
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite":
        upgrade(url)
        return
    raise SchemaOutdated(
        f"the database schema is at {current or 'nothing'} but this release needs {head}: "
        "run `era-recon db upgrade`"
    )
