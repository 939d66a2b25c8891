"""Shared fixtures: a real database built through the migrations, one rolled-back
transaction per test (STYLE.md "Tests").

The database is SQLite in a temporary folder unless ``TEST_DATABASE_URL`` names
another (CI points it at a throw-away PostgreSQL database). Code under test that
opens its own unit of work (``SessionLocal.begin()``, the CLI, the API's
``get_session``) joins the test's outer transaction through a SAVEPOINT, so what it
commits is rolled back after the test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from app.db import session as db_session
from app.db.migrate import upgrade


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return url


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = db_session.configure(database_url)
    if eng.dialect.name == "postgresql":
        _reset_postgres(eng)
    upgrade(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    db_session.SessionLocal.configure(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield conn
    finally:
        db_session.SessionLocal.configure(
            bind=engine, join_transaction_mode="conditional_savepoint"
        )
        if outer.is_active:
            outer.rollback()
        conn.close()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """A session inside the test's outer transaction; everything is rolled back."""
    sess = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield sess
    finally:
        sess.close()
