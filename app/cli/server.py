"""``era-recon serve``: the API and web pages under uvicorn."""

from __future__ import annotations

import os

import typer

from app.cli.common import prepare_database, reported_errors
from app.cli.demo import run_demo
from app.config import get_settings
from app.db import session as db_session


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes (PostgreSQL only; 1 on SQLite)."),
    demo: bool = typer.Option(
        False, "--demo", help="Load the sample contracts and sample ERA files first."
    ),
) -> None:
    """Run the HTTP API and the web pages."""
    import uvicorn

    # the worker processes read it (their settings): with several, an answer given
    # while its process is busy asks the client to reconnect (SpreadConnectionsMiddleware)
    os.environ["ERA_RECON_WORKERS"] = str(workers)
    get_settings.cache_clear()
    with reported_errors():
        prepare_database()
    if demo:  # before the first-start key: the demo prints its own key and sign-in link
        run_demo(host=host, port=port)
    else:
        load_contracts_folder()
    announce_first_admin_key()
    # ERA_RECON_LOG_LEVEL is uvicorn's too: above INFO, no access line per request
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=get_settings().log_level.lower(),
    )


def load_contracts_folder() -> None:
    """Load ``ERA_RECON_CONTRACTS`` at start (spec/interfaces.md): unchanged contracts
    stay as they are, changed ones become new versions. A folder that fails validation
    is reported and nothing of it is stored; the service still starts, and the
    ``/contracts`` page shows the problems."""
    from app.access.schemas import CLI_ACTOR
    from app.contracts.errors import ContractInvalid
    from app.contracts.service import load_paths

    folder = get_settings().contracts_path
    if not folder.is_dir():
        typer.echo(f"contracts folder {folder} not found: no contracts loaded", err=True)
        return
    try:
        with db_session.SessionLocal.begin() as session:
            report = load_paths(session, paths=[folder], actor=CLI_ACTOR)
    except ContractInvalid as exc:
        typer.echo(f"contracts in {folder} not loaded: {exc.message}", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        return
    stored = [f"{item.contract_id} v{item.version}" for item in report.loaded + report.new_versions]
    if stored:
        typer.echo(f"contracts loaded from {folder}: {', '.join(stored)}")


def announce_first_admin_key() -> str | None:
    """On an empty key table, create an admin key and print it once, to the terminal
    (never through logging): without it nobody could call the API or sign in."""
    from app.access.keys import key_pepper
    from app.access.service import ensure_first_admin_key

    with db_session.SessionLocal.begin() as session:
        secret = ensure_first_admin_key(session, pepper=key_pepper(get_settings().secret_key))
    if secret is not None:
        typer.echo("")
        typer.echo("No API key existed, so an admin key was created. It is shown only this once:")
        typer.echo(f"    {secret}")
        typer.echo("Use it as 'Authorization: Bearer <key>' or to sign in to the web pages;")
        typer.echo("make one key per person with 'era-recon keys create --role ROLE'.")
        typer.echo("")
    return secret


def register(cli: typer.Typer) -> None:
    cli.command("serve")(serve)
