"""Authentication and roles on every route (spec/interfaces.md "Authentication"):
401 without a valid key (``WWW-Authenticate: Bearer``), 403 for another role, the one
error shape on both; no route but the health checks and the docs answers 2xx without
a key."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.routing import iter_route_contexts

from app.access import service as access
from app.access.keys import new_secret
from app.access.schemas import Role
from tests.api.conftest import assert_error

ALL = frozenset(Role)
UPLOADERS = frozenset({Role.ADMIN, Role.FINANCE, Role.POSTER, Role.CLEARINGHOUSE})
FINANCE = frozenset({Role.ADMIN, Role.FINANCE})
ADMIN = frozenset({Role.ADMIN})

OUTCOME = {"outcome": "written_off"}

# every API route and the roles that may call it (spec/interfaces.md, the routes table)
MATRIX: list[tuple[str, str, frozenset[Role], dict | None]] = [
    ("POST", "/v1/remittances", UPLOADERS, None),
    ("GET", "/v1/remittances", ALL, None),
    ("GET", "/v1/remittances/{file_id}", ALL, None),
    ("DELETE", "/v1/remittances/{file_id}", ADMIN, None),
    ("GET", "/v1/variances", ALL, None),
    ("POST", "/v1/variances/{result_id}/outcome", FINANCE, OUTCOME),
    ("GET", "/v1/disputes", FINANCE, None),
    ("GET", "/v1/disputes/expired", FINANCE, None),
    ("GET", "/v1/disputes/{packet_id}", FINANCE, None),
    ("POST", "/v1/disputes/{packet_id}/filed", FINANCE, None),
    ("POST", "/v1/disputes/{packet_id}/outcome", FINANCE, OUTCOME),
    ("GET", "/v1/contracts", ALL, None),
    ("POST", "/v1/contracts", ADMIN, None),
]

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/docs"), ("GET", "/openapi.json")}
# the web pages' own public page (where a person signs in with a key) and assets
WEB_PUBLIC = {("GET", "/signin"), ("POST", "/signin"), ("GET", "/docs/oauth2-redirect")}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def _call(client, method: str, path: str, headers=None, json=None):
    return client.request(
        method, _concrete(path), headers=headers or {}, json=json, follow_redirects=False
    )


def _routes(app) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, routers included; mounts (the pages'
    static assets, public by design) left out."""
    return [
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path and getattr(route, "methods", None)
        for method in sorted(route.methods - {"HEAD"})
    ]


def _api_routes(app) -> set[tuple[str, str]]:
    return {(method, path) for method, path in _routes(app) if path.startswith("/v1")}


def test_the_matrix_names_every_api_route(app):
    assert _api_routes(app) == {(m, p) for m, p, _, _ in MATRIX}


def test_no_route_answers_2xx_without_a_key(app, client):
    """A walk over every route of the app, API and pages alike."""
    walked = 0
    for method, path in _routes(app):
        response = _call(client, method, path)
        walked += 1
        if (method, path) in PUBLIC | WEB_PUBLIC:
            continue
        assert not 200 <= response.status_code < 300, (method, path, response.status_code)
        if path.startswith("/v1"):
            assert_error(response, 401, "unauthenticated")
            assert response.headers["www-authenticate"] == "Bearer"
    assert walked >= len(MATRIX) + len(PUBLIC)


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
def test_public_routes_answer_without_a_key(client, method, path):
    assert _call(client, method, path).status_code == 200


def _revoked(session, app):
    key, secret = access.create_key(session, role=Role.ADMIN, pepper=app.state.key_pepper)
    access.revoke_key(session, key_ref=str(key.id))
    session.flush()
    return f"Bearer {secret}"


def _other_pepper(session, app):
    _key, secret = access.create_key(session, role=Role.ADMIN, pepper=b"another server")
    session.flush()
    return f"Bearer {secret}"


def _tampered(session, app):
    _key, secret = access.create_key(session, role=Role.ADMIN, pepper=app.state.key_pepper)
    session.flush()
    return f"Bearer {secret[:-2]}{'AA' if not secret.endswith('AA') else 'BB'}"


BAD_AUTH = {
    "garbage": lambda s, a: "Bearer not-a-key",
    "unknown": lambda s, a: f"Bearer {new_secret()[1]}",
    "tampered": _tampered,
    "revoked": _revoked,
    "other_pepper": _other_pepper,
    "basic_scheme": lambda s, a: "Basic YWRtaW46YWRtaW4=",
    "empty_bearer": lambda s, a: "Bearer ",
}


@pytest.mark.parametrize("variant", sorted(BAD_AUTH))
@pytest.mark.parametrize(("method", "path", "body"), [(m, p, b) for m, p, _, b in MATRIX])
def test_wrong_or_revoked_keys_answer_401(session, app, client, method, path, body, variant):
    header = BAD_AUTH[variant](session, app)
    response = _call(client, method, path, {"Authorization": header}, body)
    error = assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Traceback" not in error["message"]


ROLE_CASES = [
    (role, method, path, body, role in allowed)
    for method, path, allowed, body in MATRIX
    for role in Role
]


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "allowed"),
    ROLE_CASES,
    ids=[f"{r.value}-{m}-{p}" for r, m, p, _, _ in ROLE_CASES],
)
def test_roles(make_key, client, role, method, path, body, allowed):
    response = _call(client, method, path, make_key(role), body)
    if allowed:
        # past the role check: the dummy ids and empty bodies fail later, if at all
        assert response.status_code not in (401, 403), response.text
    else:
        error = assert_error(response, 403, "forbidden")
        assert "admin" in error["message"]


def test_a_revoked_key_stops_working_at_once(session, app, client, make_key):
    headers = make_key(Role.FINANCE)
    assert client.get("/v1/variances", headers=headers).status_code == 200
    prefix = headers["Authorization"].split("_")[1]
    access.revoke_key(session, key_ref=prefix)
    session.flush()
    assert_error(client.get("/v1/variances", headers=headers), 401)


def test_lowercase_bearer_scheme_is_accepted(make_key, client):
    headers = make_key(Role.POSTER)
    headers["Authorization"] = headers["Authorization"].replace("Bearer", "bearer")
    assert client.get("/v1/variances", headers=headers).status_code == 200


def test_a_refused_key_is_logged_by_prefix_never_by_secret(session, app, client, caplog):
    header = _revoked(session, app)
    secret = header.removeprefix("Bearer ")
    caplog.set_level("DEBUG")
    assert_error(client.get("/v1/variances", headers={"Authorization": header}), 401)
    assert secret.split("_")[1] in caplog.text
    assert secret.split("_", 2)[2] not in caplog.text
