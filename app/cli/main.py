"""``era-recon``: the command line (Typer). Commands parse arguments, call one service
and print its result; each runs in one unit of work (``common.unit_of_work``).

Command groups live in their own modules and register themselves here.
"""

from __future__ import annotations

import typer

from app.cli import contracts, disputes, intake, keys, pricing, server, worker

cli = typer.Typer(
    name="era-recon",
    help="Find and dispute payer underpayments in 835 remittances (ERA).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

db_cli = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to DATABASE_URL (PostgreSQL needs this after each release)."""
    from app.config import get_settings
    from app.db.migrate import upgrade
    from app.jobs.queue import ensure_queue_schema, is_postgres

    url = get_settings().database_url
    upgrade(url)
    if is_postgres(url) and ensure_queue_schema(url):
        typer.echo("created the task queue's tables")
    typer.echo("database is at the latest schema")


cli.add_typer(db_cli, name="db")
server.register(cli)
contracts.register(cli)
intake.register(cli)
pricing.register(cli)
disputes.register(cli)
keys.register(cli)
worker.register(cli)


def main() -> None:
    cli()
