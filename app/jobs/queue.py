"""Background work: pyx12's full validation of large files and bulk re-pricing.

pyx12's loop-aware validator reads ~2,000 service lines/s, so a large file's
validation must not hold up its ingest (spec/parsing.md): the file is stored with
``validation_status = "pending"`` and validated here, off the request.

Where the work runs depends on the database:

- **PostgreSQL** — procrastinate, a task queue that keeps its jobs in the same
  PostgreSQL database: no other service to run, and workers on any number of
  machines share the queue (``era-recon worker``). Jobs are deferred after the
  ingest commits; a periodic sweep picks up anything a crash left pending.
- **SQLite** (the embedded default) — one in-process worker thread started by
  ``serve``: SQLite has one writer at a time, so a second process would only wait.

Job bodies open their own unit of work and call the same services the CLI calls
(``validate --pending``, ``reprice``), so they hold no logic of their own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import procrastinate
from sqlalchemy import make_url

from app.access.schemas import Actor, Role
from app.db import session as db_session

logger = logging.getLogger(__name__)

VALIDATION_QUEUE = "validation"
REPRICE_QUEUE = "reprice"
QUEUES = (VALIDATION_QUEUE, REPRICE_QUEUE)
# files validated per job: small enough that a job is short and work spreads out
VALIDATION_BATCH = 5

WORKER_ACTOR = Actor(name="background worker", role=Role.ADMIN)


def run_pending_validation(limit: int = VALIDATION_BATCH) -> int:
    """Validate up to ``limit`` files waiting for pyx12's full validation; returns how
    many were validated. Safe to run in several workers at once (rows are claimed)."""
    from app.reconciliation.service import validate_pending

    with db_session.SessionLocal.begin() as session:
        return validate_pending(session, limit=limit)


def run_reprice(contract_id: str | None, since: date | None) -> dict[str, Any]:
    from app.reconciliation.service import reprice

    with db_session.SessionLocal.begin() as session:
        report = reprice(session, contract_id=contract_id, since=since, actor=WORKER_ACTOR)
    return report.model_dump(mode="json")


def _tasks() -> procrastinate.Blueprint:
    """The jobs, on a blueprint of their own for each app: procrastinate renames the
    tasks of a blueprint in place when an app adds them under a namespace, so a
    shared blueprint added to a second app in the same process (the API's job
    client, a worker, a test) would register ``era:era:…`` names that no deferred
    job matches."""
    blueprint = procrastinate.Blueprint()

    @blueprint.task(name="validate_pending", queue=VALIDATION_QUEUE, retry=3)
    def validate_pending_task() -> int:
        validated = run_pending_validation()
        if validated == VALIDATION_BATCH:
            # more may be waiting: chain another job rather than hold one worker for long
            validate_pending_task.defer()
        return validated

    @blueprint.periodic(cron="* * * * *", periodic_id="validation-sweep")
    @blueprint.task(name="validation_sweep", queue=VALIDATION_QUEUE)
    def validation_sweep_task(timestamp: int) -> int:
        """Every minute: validate what a crash or a lost job may have left pending."""
        return run_pending_validation()

    @blueprint.task(name="reprice", queue=REPRICE_QUEUE)
    def reprice_task(contract_id: str | None = None, since: str | None = None) -> dict[str, Any]:
        return run_reprice(contract_id, date.fromisoformat(since) if since else None)

    return blueprint


def libpq_conninfo(database_url: str) -> str:
    """``postgresql+psycopg://…`` (SQLAlchemy) → ``postgresql://…`` (libpq)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def procrastinate_app(database_url: str) -> procrastinate.App:
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=libpq_conninfo(database_url)),
    )
    app.add_tasks_from(_tasks(), namespace="era")
    return app


def ensure_queue_schema(database_url: str) -> bool:
    """Create procrastinate's tables on PostgreSQL when they are missing (part of
    ``era-recon db upgrade``). Returns True when it created them."""
    import psycopg

    conninfo = libpq_conninfo(database_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        if exists and exists[0]:
            return False
        schema_sql = procrastinate.schema.SchemaManager.get_schema()
        conn.execute(schema_sql)
    return True


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


class InProcessWorker:
    """The SQLite stand-in for a queue worker: one daemon thread that validates
    pending files when woken, and every ``interval`` seconds in any case."""

    def __init__(self, interval: float = 30.0, work: Callable[[], int] | None = None) -> None:
        self.interval = interval
        self._work = work or run_pending_validation
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="era-recon-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                while self._work() and not self._stop.is_set():
                    pass
            except Exception:  # a worker must survive a failing job; the file stays pending
                logger.exception("background validation failed; will retry")


class JobDispatcher:
    """What the faces call after committing work that has a background part."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._postgres = is_postgres(database_url)
        self._app: procrastinate.App | None = None
        self._thread_worker: InProcessWorker | None = None

    def start(self) -> None:
        if self._postgres:
            self._app = procrastinate_app(self.database_url)
            self._app.open()
        else:
            self._thread_worker = InProcessWorker()
            self._thread_worker.start()

    def stop(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None
        if self._thread_worker is not None:
            self._thread_worker.stop()
            self._thread_worker = None

    def validation_pending(self) -> None:
        """A file waits for full validation: get a worker on it."""
        if self._app is not None:
            try:
                self._app.configure_task("era:validate_pending").defer()
            except Exception:  # the periodic sweep will pick the file up
                logger.warning("could not defer a validation job; the sweep will run it")
        elif self._thread_worker is not None:
            self._thread_worker.wake()
