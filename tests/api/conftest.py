"""API test fixtures: the app over the test's database, and keys of every role.

The ``connection`` fixture binds ``SessionLocal`` to the test's outer transaction,
so the API's own ``get_session`` (a real session, committing) joins it through a
SAVEPOINT and everything is rolled back after the test; no dependency override.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.access import service as access
from app.access.schemas import Role
from app.config import Settings
from app.main import create_app
from tests.factories import PRACTICE_NPI

OTHER_NPI = "1487652301"

KeyMaker = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    return Settings(
        database_url="sqlite://",
        contracts_path=tmp_path_factory.mktemp("contracts"),
        max_upload_mb=1,
        validate_inline_lines=0,
        secret_key="api-test-secret",
        secure_cookies=False,
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    """One app for the session: it holds no database state of its own."""
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI, connection) -> TestClient:
    return TestClient(app)


@pytest.fixture
def make_key(session, app: FastAPI) -> KeyMaker:
    """``make_key(role, practices=())`` → the Authorization header of a new key."""

    def make(role: Role | str, practices: Iterable[str] = (), name: str | None = None):
        _key, secret = access.create_key(
            session,
            role=role,
            name=name or f"test {role}",
            practices=practices,
            pepper=app.state.key_pepper,
        )
        session.flush()
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def admin(make_key: KeyMaker) -> dict[str, str]:
    return make_key(Role.ADMIN)


@pytest.fixture
def finance(make_key: KeyMaker) -> dict[str, str]:
    return make_key(Role.FINANCE)


@pytest.fixture
def poster(make_key: KeyMaker) -> dict[str, str]:
    return make_key(Role.POSTER)


@pytest.fixture
def scoped_finance(make_key: KeyMaker) -> dict[str, str]:
    """A finance key limited to the factories' practice."""
    return make_key(Role.FINANCE, practices=[PRACTICE_NPI])


@pytest.fixture
def other_finance(make_key: KeyMaker) -> dict[str, str]:
    """A finance key limited to another practice."""
    return make_key(Role.FINANCE, practices=[OTHER_NPI])


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error shape of spec/interfaces.md, with this status (and code)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
