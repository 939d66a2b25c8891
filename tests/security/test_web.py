"""Browser-facing protections (docs/web.md, SECURITY.md): security headers on every
answer — pages, API, errors, static files, the 500 of a bug; a CSRF token required on
every form POST of the app (walked from its routes, so a new form is covered at once);
the session cookie ``HttpOnly``, ``Secure`` and ``SameSite``.
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import SimpleCookie

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from app.access.schemas import Role
from app.main import create_app
from app.reconciliation import queries as reconciliation
from tests.security.conftest import KeyMaker, World, csrf_of, make_settings
from tests.security.test_access import fill

PATHS = [
    ("GET", "/signin"),
    ("GET", "/upload"),
    ("GET", "/files"),
    ("GET", "/variances"),
    ("GET", "/disputes"),
    ("GET", "/contracts"),
    ("GET", "/"),
    ("GET", "/no-such-page"),
    ("GET", "/static/app.css"),
    ("GET", "/healthz"),
    ("GET", "/v1/remittances"),
    ("GET", "/v1/variances?from=bad"),
    ("GET", "/v1/remittances/not-a-uuid"),
    ("PUT", "/v1/variances"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
]


def assert_security_headers(answer) -> None:  # type: ignore[no-untyped-def]
    headers = answer.headers
    assert headers["x-content-type-options"] == "nosniff"
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src" in csp
    assert "'unsafe-eval'" not in csp
    assert headers["x-frame-options"] == "DENY"
    assert "referrer-policy" in headers


@pytest.mark.parametrize(("method", "path"), PATHS)
@pytest.mark.parametrize("signed_in", [False, True])
def test_every_answer_carries_the_security_headers(
    client: TestClient, browser: Callable[..., TestClient], method: str, path: str, signed_in: bool
) -> None:
    user = browser(Role.ADMIN) if signed_in else client
    answer = user.request(method, path, follow_redirects=False)
    assert_security_headers(answer)
    if answer.headers.get("content-type", "").startswith("text/html") and path != "/docs":
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"


def test_a_bugs_500_carries_the_security_headers(
    monkeypatch: pytest.MonkeyPatch,
    client: TestClient,
    browser: Callable[..., TestClient],
    make_key: KeyMaker,
) -> None:
    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("bug")

    monkeypatch.setattr(reconciliation, "list_files", broken)
    api = client.get("/v1/remittances", headers=make_key(Role.ADMIN).headers)
    page = browser(Role.ADMIN).get("/files")
    for answer in (api, page):
        assert answer.status_code == 500
        assert_security_headers(answer)
        assert "RuntimeError" not in answer.text


def form_posts(app: FastAPI) -> list[str]:
    """Every POST route of the pages (everything outside /v1), from the app itself."""
    return sorted(
        route.path
        for route in iter_route_contexts(app.routes)
        if "POST" in (getattr(route, "methods", None) or set()) and not route.path.startswith("/v1")
    )


def test_the_walk_finds_the_forms(app: FastAPI) -> None:
    assert {"/signin", "/signout", "/upload", "/disputes/{packet_id}/filed"} <= set(form_posts(app))


@pytest.mark.parametrize("token", [None, "", "forged-token", "other-session"])
def test_every_form_post_needs_this_sessions_csrf_token(
    app: FastAPI, browser: Callable[..., TestClient], world: World, token: str | None
) -> None:
    user = browser(Role.ADMIN)
    other = browser(Role.ADMIN)
    for path in form_posts(app):
        data: dict[str, str] = {"outcome": "written_off", "key": "x"}
        if token == "other-session":
            data["csrf_token"] = csrf_of(other.get("/upload").text)
        elif token is not None:
            data["csrf_token"] = token
        files = {"files": ("a.835", b"ISA")} if path == "/upload" else None
        answer = user.post(fill(path, world), data=data, files=files, follow_redirects=False)
        assert answer.status_code == 403, path
        assert "csrf_failed" in answer.text, path
    # nothing was changed: the packet is still open, the result still open
    packet = user.get(fill("/disputes/{packet_id}", world))
    assert packet.status_code == 200
    assert "Mark filed" in packet.text or "mark filed" in packet.text.lower()


def _cookie(answer) -> SimpleCookie:  # type: ignore[no-untyped-def]
    jar: SimpleCookie = SimpleCookie()
    jar.load(answer.headers["set-cookie"])
    return jar


def test_the_session_cookie_is_httponly_secure_samesite(
    tmp_path_factory: pytest.TempPathFactory, connection, make_key: KeyMaker
) -> None:
    # production settings: ERA_RECON_SECURE_COOKIES defaults to true
    settings = make_settings(tmp_path_factory)
    settings = settings.model_copy(update={"secure_cookies": True})
    app = create_app(settings)
    client = TestClient(app, base_url="https://testserver")
    page = client.get("/signin")
    anonymous = _cookie(page)["era_recon_session"]
    key = make_key(Role.ADMIN)
    answer = client.post(
        "/signin",
        data={"csrf_token": csrf_of(page.text), "key": key.secret},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    for morsel in (anonymous, _cookie(answer)["era_recon_session"]):
        assert morsel["httponly"]
        assert morsel["secure"]
        assert morsel["samesite"].lower() in ("lax", "strict")
        assert morsel["path"] == "/"
        assert key.secret not in morsel.value
