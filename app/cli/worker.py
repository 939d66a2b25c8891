"""``era-recon worker``: runs background jobs (pyx12 full validation of large files,
bulk re-pricing). On PostgreSQL it is a procrastinate worker: start one or more on
any machine that reaches the database. On SQLite, ``serve`` runs the work in a
thread, and this command validates what is pending once and exits."""

from __future__ import annotations

import typer

from app.cli.common import prepare_database, reported_errors
from app.config import get_settings


def worker(
    once: bool = typer.Option(
        False, "--once", help="Run the jobs waiting now, then exit (instead of waiting for more)."
    ),
    concurrency: int = typer.Option(1, min=1, help="Jobs run at once by this worker."),
) -> None:
    """Run background jobs: full validation of large files, bulk re-pricing."""
    from app.jobs.queue import QUEUES, is_postgres, procrastinate_app, run_pending_validation

    settings = get_settings()
    with reported_errors():
        prepare_database(settings)
    if not is_postgres(settings.database_url):
        total = 0
        while validated := run_pending_validation():
            total += validated
        typer.echo(f"validated {total} file(s)")
        return
    app = procrastinate_app(settings.database_url)
    app.run_worker(queues=list(QUEUES), wait=not once, concurrency=concurrency)


def register(cli: typer.Typer) -> None:
    cli.command("worker")(worker)
