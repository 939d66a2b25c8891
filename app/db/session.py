"""One engine and one session factory per process.

Adapters open the unit of work (``with SessionLocal.begin() as session`` in the CLI,
``get_session`` in the API); services and repositories receive the session and never
commit it. ``configure()`` lets a test or a command point the factory at another
database before first use.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

SessionLocal: sessionmaker[Session] = sessionmaker(expire_on_commit=False)
_engine: Engine | None = None


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # let SQLAlchemy, not the sqlite3 module, decide where transactions begin,
            # so SAVEPOINTs work (SQLAlchemy docs, "Serializable isolation / Savepoints")
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # IMMEDIATE: a transaction that reads, then writes (ingest checks for
            # duplicates first) waits for the write lock instead of failing busy
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10)
    _ping_when_idle(engine)
    return engine


# A pooled connection back within this many seconds is handed out without a ping:
# under load (one upload every few milliseconds per connection) pool_pre_ping's
# ``SELECT 1`` was a round trip per request. One idle longer is pinged first and
# replaced if the server dropped it (a restart, an idle timeout), as pool_pre_ping
# would; only a drop within the last second can still reach a request as an error.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # the pool discards this connection and checks out another
            raise DisconnectionError("the pooled connection was dropped by the server") from exc


def configure(url: str) -> Engine:
    """Bind ``SessionLocal`` to the database at ``url`` (once per process per url)."""
    global _engine
    if _engine is not None and str(_engine.url) == url:
        return _engine
    if _engine is not None:
        _engine.dispose()
    _engine = make_engine(url)
    SessionLocal.configure(bind=_engine)
    return _engine


def get_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database not configured: call app.db.session.configure(url)")
    return _engine
