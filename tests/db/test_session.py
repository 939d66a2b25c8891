"""The engine's pooled connections: one the server dropped while it sat idle is
replaced before use (PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from app.db import session as db_session


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _drop(admin: Engine, pid: int) -> None:
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()


@pytest.fixture
def pg_engine(database_url: str, engine: Engine, is_postgres: bool):  # type: ignore[no-untyped-def]
    if not is_postgres:
        pytest.skip("the ping on checkout is PostgreSQL's (SQLite has no server to drop it)")
    own = db_session.make_engine(database_url)
    yield own
    own.dispose()


def test_a_connection_dropped_while_idle_is_replaced(
    pg_engine: Engine, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(pg_engine)
    _drop(engine, first)
    monkeypatch.setattr(db_session, "PING_AFTER_IDLE_SECONDS", 0.0)  # idle long enough

    again = _backend_pid(pg_engine)  # pinged, found dropped, replaced

    assert again != first


def test_a_connection_back_within_the_idle_time_is_not_pinged(
    pg_engine: Engine, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(pg_engine)
    monkeypatch.setattr(db_session, "PING_AFTER_IDLE_SECONDS", 3600.0)
    assert _backend_pid(pg_engine) == first  # the same connection, reused
    _drop(engine, first)

    # handed out without a round trip: the drop shows on its first statement
    with pytest.raises(DBAPIError):
        _backend_pid(pg_engine)
    assert _backend_pid(pg_engine) != first  # and the pool then replaces it
