"""Throw-away PostgreSQL databases for the tests that need real commits, several
connections or a process to kill — things the rolled-back ``session`` fixture cannot
show. Each test gets its own database on the server ``TEST_DATABASE_URL`` names,
built through the migrations and dropped afterwards; on SQLite runs these tests skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade

SKIP_REASON = (
    "needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://… (CI runs the suite once "
    "with it); SQLite has one writer and no server process to observe"
)


def server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip(SKIP_REASON)
    return url


@contextmanager
def throwaway_database(label: str) -> Iterator[str]:
    """A new, migrated database named ``security_<label>_<random>``; dropped at the end
    (connections still open to it are ended first)."""
    base = make_url(server_url())
    name = f"security_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def engine_for(url: str) -> Engine:
    return create_engine(url, pool_size=25, max_overflow=5)
