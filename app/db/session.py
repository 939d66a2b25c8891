"""One engine and one session factory per process.

Adapters open the unit of work (``with SessionLocal.begin() as session`` in the CLI,
``get_session`` in the API); services and repositories receive the session and never
commit it. ``configure()`` lets a test or a command point the factory at another
database before first use.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
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
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


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
