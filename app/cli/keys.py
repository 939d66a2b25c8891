"""``era-recon keys create|list|revoke``: API keys, one per person or system.

The secret is printed once, at creation; only its keyed hash is stored
(``app/access/keys.py``). ``--json`` prints one JSON document on stdout and nothing
else there (spec/interfaces.md).
"""

from __future__ import annotations

from typing import Annotated

import typer

from app.access import service
from app.access.keys import key_pepper
from app.access.schemas import ApiKeyRead, Role
from app.cli.common import EXIT_USAGE, fail, print_json, reported_errors, unit_of_work
from app.config import get_settings
from app.errors import InvalidInput

keys_cli = typer.Typer(help="API keys: one per person or system.", no_args_is_help=True)


@keys_cli.command("create")
def create(
    role: Annotated[
        Role, typer.Option("--role", help="What the key may do.", case_sensitive=False)
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="Who uses the key (shown in the audit log).")
    ] = None,
    practice: Annotated[
        list[str] | None,
        typer.Option("--practice", help="Limit the key to a practice's NPI (or TIN); may repeat."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {id, key} as JSON.")] = False,
) -> None:
    """Create an API key and print its secret once."""
    pepper = key_pepper(get_settings().secret_key)
    with reported_errors():
        try:
            with unit_of_work() as session:
                key, secret = service.create_key(
                    session, role=role, name=name, practices=practice or (), pepper=pepper
                )
                key_id, key_name, key_role = str(key.id), key.name, key.role
        except InvalidInput as exc:  # a bad --practice or --name is a usage error
            fail(exc.message, EXIT_USAGE)
    if as_json:
        print_json({"id": key_id, "key": secret})
        return
    typer.echo(f"created {key_role} key {key_id} ({key_name})")
    typer.echo("the key is shown only this once; store it now:")
    typer.echo(secret)


@keys_cli.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print the keys as JSON.")] = False,
) -> None:
    """List API keys (never their secrets)."""
    with reported_errors(), unit_of_work() as session:
        rows = service.list_keys(session)
    if as_json:
        print_json({"keys": [row.model_dump(mode="json") for row in rows]})
        return
    if not rows:
        typer.echo("no API keys")
        return
    for row in rows:
        typer.echo(_line(row))


@keys_cli.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (or its prefix).")],
) -> None:
    """Revoke an API key: it stops working at once."""
    with reported_errors(), unit_of_work() as session:
        row = service.revoke_key(session, key_ref=key_id)
    typer.echo(f"revoked {row.role.value} key {row.id} ({row.name})")


def _line(row: ApiKeyRead) -> str:
    state = "active" if row.revoked_at is None else f"revoked {row.revoked_at:%Y-%m-%d}"
    scope = ",".join(row.practices) or "all practices"
    used = "never used" if row.last_used_at is None else f"used {row.last_used_at:%Y-%m-%d}"
    role = row.role.value
    return f"{row.id}  er_{row.prefix}_…  {role:<13} {state:<18} {scope}  {used}  {row.name}"


def register(cli: typer.Typer) -> None:
    cli.add_typer(keys_cli, name="keys")
