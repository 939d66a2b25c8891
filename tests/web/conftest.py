"""Fixtures of the web page tests: the app over the test's rolled-back database, keys of
each role, and a browser-like client that signs in through the sign-in form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.access import service as access_service
from app.access.keys import key_pepper
from app.access.schemas import Role
from app.config import Settings
from app.main import create_app

SECRET_KEY = "web-tests-secret"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "ERA_RECON_SECRET_KEY": SECRET_KEY,
        "ERA_RECON_SECURE_COOKIES": False,
        "ERA_RECON_CONTRACTS": "/nonexistent-contracts-folder",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def web_app(database_url: str, connection: Connection) -> FastAPI:
    """The whole app; ``SessionLocal`` is bound to the test's connection (conftest)."""
    return build_app(make_settings(database_url))


def build_app(settings: Settings) -> FastAPI:
    return create_app(settings)


@dataclass
class Browser:
    """A TestClient that behaves like a person at a browser: it opens pages, reads the
    CSRF token from the form and posts it back."""

    client: TestClient

    def signin(self, secret: str, *, next_path: str = "") -> object:
        page = self.client.get("/signin")
        token = csrf_of(page.text)
        return self.client.post(
            "/signin",
            data={"csrf_token": token, "key": secret, "next": next_path},
            follow_redirects=False,
        )

    def csrf(self, path: str = "/upload") -> str:
        return csrf_of(self.client.get(path).text)


@pytest.fixture
def browser(web_app: FastAPI) -> Iterator[Browser]:
    with TestClient(web_app, base_url="http://testserver") as client:
        yield Browser(client)


@pytest.fixture
def new_key(session: Session) -> Callable[..., str]:
    """Create a key and return its secret: ``new_key(Role.POSTER, practices=[...])``."""

    def make(role: Role = Role.ADMIN, *, practices: tuple[str, ...] = (), name: str = "") -> str:
        _key, secret = access_service.create_key(
            session,
            role=role,
            name=name or f"{role.value} tester",
            practices=practices,
            pepper=key_pepper(SECRET_KEY),
        )
        session.flush()
        return secret

    return make


@pytest.fixture
def signed_in(browser: Browser, new_key: Callable[..., str]) -> Callable[..., Browser]:
    def sign(role: Role = Role.ADMIN, *, practices: tuple[str, ...] = ()) -> Browser:
        answer = browser.signin(new_key(role, practices=practices))
        assert answer.status_code == 303  # type: ignore[attr-defined]
        return browser

    return sign
