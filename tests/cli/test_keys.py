"""``era-recon keys create|list|revoke`` through Typer's CliRunner, on the test
database (the ``connection`` fixture binds the CLI's unit of work to it)."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app.access import service
from app.access.schemas import Role
from app.cli.main import cli

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(cli, list(args))


def test_create_json_prints_id_and_key_only(connection, session):
    result = _run("keys", "create", "--role", "finance", "--name", "Billing Ann", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"id", "key"}
    actor = service.authenticate(session, secret=document["key"])
    assert actor is not None
    assert (actor.role, actor.name, str(actor.key_id)) == (
        Role.FINANCE,
        "Billing Ann",
        document["id"],
    )


def test_create_prints_the_secret_once_and_stores_only_its_hash(connection, session):
    result = _run("keys", "create", "--role", "poster")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("er_")
    assert "only this once" in result.stdout
    dump = " ".join(
        str(v) for row in session.execute(text("SELECT * FROM api_keys")).all() for v in row
    )
    assert secret.split("_", 2)[2] not in dump
    listed = _run("keys", "list")
    assert listed.exit_code == 0
    assert secret not in listed.stdout
    assert secret.split("_", 2)[2] not in listed.stdout


def test_repeatable_practice_option(connection, session):
    result = _run(
        "keys", "create", "--role", "clearinghouse",
        "--practice", "1326048597", "--practice", "830000001", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    actor = service.authenticate(session, secret=json.loads(result.stdout)["key"])
    assert actor.practices == frozenset({"1326048597", "830000001"})


@pytest.mark.parametrize(
    "args",
    [
        ["keys", "create"],
        ["keys", "create", "--role", "owner"],
        ["keys", "create", "--role", "poster", "--practice", "12"],
    ],
)
def test_usage_errors_exit_2_and_store_nothing(connection, session, args):
    result = _run(*args)
    assert result.exit_code == 2
    assert session.execute(text("SELECT count(*) FROM api_keys")).scalar() == 0


def test_list_json_and_revoke(connection, session):
    created = json.loads(_run("keys", "create", "--role", "admin", "--json").stdout)
    listed = json.loads(_run("keys", "list", "--json").stdout)
    assert [k["id"] for k in listed["keys"]] == [created["id"]]
    assert listed["keys"][0]["revoked_at"] is None
    assert created["key"] not in json.dumps(listed)

    revoked = _run("keys", "revoke", created["id"])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.stdout
    assert service.authenticate(session, secret=created["key"]) is None
    listed = json.loads(_run("keys", "list", "--json").stdout)
    assert listed["keys"][0]["revoked_at"] is not None
    text_list = _run("keys", "list").stdout
    assert "revoked" in text_list


def test_revoke_unknown_key_exits_1(connection):
    result = _run("keys", "revoke", "7d1c2a4e-0000-4000-8000-000000000000")
    assert result.exit_code == 1
    assert "no API key" in result.stderr


def test_list_empty(connection):
    result = _run("keys", "list")
    assert result.exit_code == 0
    assert "no API keys" in result.stdout


# --------------------------------------------------------- first start of `serve`


@pytest.fixture
def no_server(monkeypatch):
    """``serve`` without starting uvicorn (a process boundary): the calls it made."""
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    return calls


def test_serve_on_an_empty_database_prints_an_admin_key_once(connection, session, no_server):
    first = _run("serve", "--port", "8765")
    assert first.exit_code == 0, first.output
    assert no_server[0]["port"] == 8765
    secrets = [w for w in first.stdout.split() if w.startswith("er_")]
    assert len(secrets) == 1
    actor = service.authenticate(session, secret=secrets[0])
    assert actor is not None
    assert actor.role == Role.ADMIN
    assert "shown only this once" in first.stdout

    second = _run("serve")
    assert second.exit_code == 0, second.output
    assert "er_" not in second.stdout
    assert session.execute(text("SELECT count(*) FROM api_keys")).scalar() == 1


def test_serve_hands_the_log_level_to_uvicorn(connection, no_server, monkeypatch):
    from app.config import get_settings

    monkeypatch.setenv("ERA_RECON_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    try:
        result = _run("serve")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert no_server[0]["log_level"] == "warning"


def test_serve_tells_its_workers_how_many_they_are(connection, monkeypatch):
    """The worker processes read ERA_RECON_WORKERS (their settings: several spread
    keep-alive clients); ``serve`` sets it to --workers before uvicorn starts them."""
    import uvicorn

    from app.config import get_settings

    monkeypatch.setenv("ERA_RECON_WORKERS", "5")  # restored after the test
    seen: list[tuple[str | None, int]] = []
    monkeypatch.setattr(
        uvicorn,
        "run",
        lambda *a, **kw: seen.append((os.environ.get("ERA_RECON_WORKERS"), get_settings().workers)),
    )
    get_settings.cache_clear()
    try:
        assert _run("serve", "--workers", "2").exit_code == 0
        assert _run("serve").exit_code == 0
    finally:
        get_settings.cache_clear()
    assert seen == [("2", 2), ("1", 1)]


def test_serve_with_keys_creates_none(connection, session, no_server):
    _run("keys", "create", "--role", "finance")
    result = _run("serve")
    assert result.exit_code == 0, result.output
    assert "er_" not in result.stdout
    assert session.execute(text("SELECT count(*) FROM api_keys")).scalar() == 1


def test_the_first_key_is_not_logged(connection, no_server, caplog):
    caplog.set_level("DEBUG")
    result = _run("serve")
    secret = next(w for w in result.stdout.split() if w.startswith("er_"))
    assert secret not in caplog.text
