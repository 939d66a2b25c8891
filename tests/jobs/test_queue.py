"""The background validation of large files, run for real (app/jobs/queue.py).

spec/parsing.md: a file with more service lines than ``validate_inline_lines`` is
stored with ``validation_status = "pending"`` and pyx12's full validation runs off the
request. On PostgreSQL a procrastinate worker (``era-recon worker``) runs it, in its
own connections: these tests use a throw-away database with real commits. The
SQLite stand-in, the in-process worker thread, runs on any database.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, select
from sqlalchemy.orm import Session

from app.access import service as access
from app.access.schemas import CLI_ACTOR, Role
from app.config import Settings
from app.db import models
from app.db import session as db_session
from app.db.migrate import upgrade
from app.jobs.queue import (
    VALIDATION_QUEUE,
    InProcessWorker,
    JobDispatcher,
    ensure_queue_schema,
    libpq_conninfo,
    procrastinate_app,
    run_pending_validation,
)
from app.main import create_app
from app.reconciliation import repository
from app.reconciliation.service import ingest_file
from benchmarks.gen835 import generate_835

# the generated files lack the payer's PER (1000A): pyx12's full validation, and
# only it, reports that mandatory segment missing
MISSING_PER = "pyx12-seg-3"
INLINE = 5  # lines validated inline; every file below has more

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL.startswith("postgresql"),
    reason="the task queue (procrastinate) runs on PostgreSQL: set "
    "TEST_DATABASE_URL=postgresql+psycopg://… (on SQLite serve validates in a thread)",
)


def _file(trace: str, claims: int = 4) -> bytes:
    return generate_835(claims, trace_number=trace)


def _status(session: Session, file_id: str | uuid.UUID) -> models.EraFile:
    file = session.get(models.EraFile, uuid.UUID(str(file_id)), populate_existing=True)
    assert file is not None
    return file


# ------------------------------------------------------------- PostgreSQL: the queue


@contextmanager
def _throwaway_database() -> Iterator[Engine]:
    """A database of its own on the test server (the worker commits, in connections of
    its own), migrated, with procrastinate's tables; dropped afterwards. The sessions
    of ``app.db.session`` point at it meanwhile."""
    base = make_url(POSTGRES_URL)
    name = f"{base.database}_jobs_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = libpq_conninfo(base.set(database="postgres").render_as_string(hide_password=False))
    url = base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(url)
    previous = {k: db_session.SessionLocal.kw.get(k) for k in ("bind", "join_transaction_mode")}
    try:
        upgrade(url)
        ensure_queue_schema(url)
        # the sessions of the app's own units of work, committing for real
        db_session.SessionLocal.configure(
            bind=engine, join_transaction_mode="conditional_savepoint"
        )
        yield engine
    finally:
        db_session.SessionLocal.configure(**previous)
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ingest_committed(trace: str) -> str:
    with db_session.SessionLocal.begin() as session:
        result = ingest_file(
            session,
            data=_file(trace),
            filename=f"{trace}.835",
            actor=CLI_ACTOR,
            validate_inline_lines=INLINE,
        )
    assert result.summary is not None
    assert result.summary.validation_status == "pending"
    return result.summary.id


def _run_worker(url: str) -> None:
    """``era-recon worker --once`` on the validation queue: the jobs waiting, then stop."""
    procrastinate_app(url).run_worker(
        queues=[VALIDATION_QUEUE], wait=False, install_signal_handlers=False
    )


def _jobs(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT task_name, status FROM procrastinate_jobs ORDER BY id"
        ).all()
    return [(row[0], row[1]) for row in rows]


@needs_postgres
def test_a_deferred_job_run_by_a_worker_stores_the_findings() -> None:
    with _throwaway_database() as engine:
        url = engine.url.render_as_string(hide_password=False)
        file_id = _ingest_committed("QUEUE001")
        dispatcher = JobDispatcher(url)
        dispatcher.start()
        try:
            dispatcher.validation_pending()
        finally:
            dispatcher.stop()
        assert _jobs(engine) == [("era:validate_pending", "todo")]

        _run_worker(url)

        # (the worker may also have run its every-minute sweep: era:validation_sweep)
        assert [j for j in _jobs(engine) if j[0] != "era:validation_sweep"] == [
            ("era:validate_pending", "succeeded")
        ]
        with Session(engine) as session:
            file = _status(session, file_id)
            assert file.validation_status == "done"
            assert file.validated_at is not None
            codes = [f["code"] for f in file.validation_findings]
            assert MISSING_PER in codes
            assert any(w["code"] == MISSING_PER for w in file.warnings)


@needs_postgres
def test_an_upload_through_the_api_gets_a_worker_on_its_validation(tmp_path) -> None:
    """The lifespan starts the job client; the upload route defers the job after its
    session committed; a worker then validates the file."""
    with _throwaway_database() as engine:
        url = engine.url.render_as_string(hide_password=False)
        settings = Settings(
            database_url=url,
            contracts_path=tmp_path,
            validate_inline_lines=INLINE,
            secret_key="jobs-test-secret",
        )
        app = create_app(settings)
        with db_session.SessionLocal.begin() as session:
            _key, secret = access.create_key(
                session, role=Role.CLEARINGHOUSE, name="jobs", pepper=app.state.key_pepper
            )
        with TestClient(app) as client:
            assert app.state.jobs is not None
            response = client.post(
                "/v1/remittances",
                content=_file("QUEUE002"),
                headers={"Authorization": f"Bearer {secret}", "Content-Type": "text/plain"},
            )
            assert response.status_code == 201, response.text
            assert response.json()["validation_status"] == "pending"
        assert app.state.jobs is None  # stopped with the app
        assert ("era:validate_pending", "todo") in _jobs(engine)

        _run_worker(url)

        with Session(engine) as session:
            file = _status(session, response.json()["id"])
            assert file.validation_status == "done"
            assert MISSING_PER in [f["code"] for f in file.validation_findings]


@needs_postgres
def test_workers_at_once_never_claim_the_same_file() -> None:
    """FOR UPDATE SKIP LOCKED: a file one worker holds is skipped by the next."""
    with _throwaway_database() as engine:
        first, second = _ingest_committed("QUEUE003"), _ingest_committed("QUEUE004")
        with Session(engine) as one, Session(engine) as two:
            held = repository.pending_validation(one, limit=1)
            assert [str(f.id) for f in held] == [first]
            other = repository.pending_validation(two, limit=2)
            assert [str(f.id) for f in other] == [second]
            one.rollback()
            two.rollback()

        # two validation runs at once validate each file once
        barrier = threading.Barrier(2)
        counts: list[int] = []

        def work() -> None:
            barrier.wait()
            counts.append(run_pending_validation(limit=1))

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(counts) == [1, 1]
        with Session(engine) as session:
            statuses = session.scalars(select(models.EraFile.validation_status)).all()
        assert sorted(statuses) == ["done", "done"]


# ------------------------------------------------------- any database: the thread


def test_the_in_process_worker_validates_a_pending_file(session: Session, connection) -> None:
    result = ingest_file(
        session,
        data=_file("THREAD01"),
        filename="thread.835",
        actor=CLI_ACTOR,
        validate_inline_lines=INLINE,
    )
    session.flush()
    assert result.summary is not None
    assert result.summary.validation_status == "pending"

    ran = threading.Event()
    validated: list[int] = []

    def work() -> int:
        count = run_pending_validation()
        validated.append(count)
        ran.set()
        return count

    # a long interval: only the wake-up can make it run within the test
    worker = InProcessWorker(interval=3600, work=work)
    worker.start()
    try:
        worker.wake()
        assert ran.wait(60), "the worker did not run when woken"
    finally:
        worker.stop()
    assert validated[0] == 1
    file = _status(session, result.summary.id)
    assert file.validation_status == "done"
    assert MISSING_PER in [f["code"] for f in file.validation_findings]


def test_the_in_process_worker_survives_a_failing_run() -> None:
    calls: list[int] = []
    second = threading.Event()

    def work() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database unavailable")
        second.set()
        return 0

    worker = InProcessWorker(interval=3600, work=work)
    worker.start()
    try:
        worker.wake()
        for _ in range(100):
            if calls:
                break
            threading.Event().wait(0.05)
        worker.wake()
        assert second.wait(30), "the worker stopped after a failure"
    finally:
        worker.stop()
    assert len(calls) == 2


def test_the_dispatcher_wakes_the_thread_on_sqlite(tmp_path) -> None:
    dispatcher = JobDispatcher(f"sqlite:///{tmp_path / 'jobs.db'}")
    woken = threading.Event()
    dispatcher.start()
    try:
        assert dispatcher._thread_worker is not None
        dispatcher._thread_worker._work = lambda: woken.set() or 0
        dispatcher.validation_pending()
        assert woken.wait(30)
    finally:
        dispatcher.stop()
    assert dispatcher._thread_worker is None
