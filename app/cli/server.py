"""``era-recon serve``: the API and web pages under uvicorn."""

from __future__ import annotations

import typer

from app.cli.common import prepare_database, reported_errors


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

    with reported_errors():
        prepare_database()
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers)


def register(cli: typer.Typer) -> None:
    cli.command("serve")(serve)
