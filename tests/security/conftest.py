"""Fixtures of the security tests: the whole app (API and pages) over the test's
rolled-back database, keys of every role and practice scope, a browser that signs in
through the form, and stored data of two practices (files, results, packets) so that
scoping can be seen to hold.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.access import service as access
from app.access.schemas import CLI_ACTOR, Role
from app.config import Settings
from app.contracts.service import load_paths
from app.main import create_app
from app.reconciliation.service import ingest_file
from benchmarks.gen835 import generate_835
from tests.support import shared_path

SECRET_KEY = "security-tests-secret"
PRACTICE_A = "1326048597"
PRACTICE_B = "1487652301"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
AS_OF = date(2026, 7, 1)


def make_settings(tmp_path_factory: pytest.TempPathFactory, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": "sqlite://",
        "ERA_RECON_SECRET_KEY": SECRET_KEY,
        "ERA_RECON_SECURE_COOKIES": False,
        "ERA_RECON_CONTRACTS": str(tmp_path_factory.mktemp("contracts")),
        "ERA_RECON_MAX_UPLOAD_MB": 2,
        "ERA_RECON_VALIDATE_INLINE_LINES": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory)


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI, connection) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@dataclass
class Key:
    id: uuid.UUID
    secret: str
    role: Role

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


KeyMaker = Callable[..., Key]


@pytest.fixture
def make_key(session: Session, app: FastAPI) -> KeyMaker:
    def make(role: Role, practices: Iterable[str] = ()) -> Key:
        key, secret = access.create_key(
            session,
            role=role,
            name=f"security {role.value}",
            practices=practices,
            pepper=app.state.key_pepper,
        )
        session.flush()
        return Key(key.id, secret, role)

    return make


def csrf_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, secret: str) -> TestClient:
    token = csrf_of(client.get("/signin").text)
    answer = client.post(
        "/signin", data={"csrf_token": token, "key": secret}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text[:300]
    return client


@pytest.fixture
def browser(app: FastAPI, connection, make_key: KeyMaker) -> Callable[..., TestClient]:
    """``browser(role, practices=())``: a new client signed in with a new key."""

    def open_(role: Role, practices: Iterable[str] = ()) -> TestClient:
        client = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
        return sign_in(client, make_key(role, practices).secret)

    return open_


@dataclass
class Practice:
    npi: str
    file_id: str
    result_ids: list[str]
    packet_id: str


@dataclass
class World:
    a: Practice
    b: Practice


@pytest.fixture
def world(session: Session, client: TestClient, make_key: KeyMaker) -> World:
    """A file, its pricing results and an open packet for each of two practices."""
    load_paths(
        session,
        paths=[shared_path("spec", "examples", "prairie-ppo-2026.yaml")],
        actor=CLI_ACTOR,
    )
    practices = []
    for npi, trace in ((PRACTICE_A, "SECA0001"), (PRACTICE_B, "SECB0001")):
        data = generate_835(4, seed=int(npi[-2:]), payee_npi=npi, trace_number=trace)
        result = ingest_file(
            session, data=data, filename=f"{trace}.835", actor=CLI_ACTOR, validate_inline_lines=0
        )
        assert result.status == "processed"
        session.flush()
        practices.append((npi, str(result.file_id)))
    admin = make_key(Role.ADMIN).headers
    variances = client.get("/v1/variances", params={"all": "true", "limit": 200}, headers=admin)
    packets = client.get("/v1/disputes", params={"as_of": AS_OF.isoformat()}, headers=admin)
    assert variances.status_code == packets.status_code == 200
    built = []
    for npi, file_id in practices:
        mine = [i for i in variances.json()["items"] if i["practice_npi"] == npi]
        # disputable first: an outcome can be recorded on them
        results = [i["id"] for i in sorted(mine, key=lambda i: not i["disputable"])]
        packet = [p["id"] for p in packets.json()["packets"] if p["practice_npi"] == npi]
        assert results, f"no results for {npi}"
        assert packet, f"no packet for {npi}"
        built.append(Practice(npi, file_id, results, packet[0]))
    return World(*built)
