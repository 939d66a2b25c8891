"""Sign-in, the session cookie, CSRF, roles and security headers of the web pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.access import service as access_service
from app.access.schemas import Role
from app.web.security import COOKIE_NAME, PAGE_CSP
from tests.web.conftest import Browser, build_app, csrf_of, make_settings

ALL_ROLES = tuple(Role)


def test_signin_page_renders_a_form_with_a_csrf_token(browser: Browser) -> None:
    page = browser.client.get("/signin")
    assert page.status_code == 200
    assert 'name="key"' in page.text
    assert 'type="password"' in page.text
    assert len(csrf_of(page.text)) >= 32
    assert COOKIE_NAME in page.cookies


@pytest.mark.parametrize("path", ["/signin", "/", "/upload", "/nope-not-a-page-at-all"])
def test_pages_carry_the_security_headers(browser: Browser, path: str) -> None:
    answer = browser.client.get(path, follow_redirects=False)
    if path != "/nope-not-a-page-at-all":
        assert answer.headers["content-security-policy"] == PAGE_CSP
        assert "script-src 'self'" in PAGE_CSP
        assert "unsafe-inline" not in PAGE_CSP
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_signin_with_a_valid_key_sets_a_signed_cookie_without_the_secret(
    browser: Browser, new_key: Callable[..., str]
) -> None:
    secret = new_key(Role.FINANCE)
    answer = browser.signin(secret)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    cookie_header = answer.headers["set-cookie"]
    assert cookie_header.startswith(f"{COOKIE_NAME}=")
    assert secret not in cookie_header
    assert secret.split("_", 2)[2] not in cookie_header  # the random part
    assert "HttpOnly" in cookie_header
    assert "samesite=lax" in cookie_header.lower()
    assert "Secure" not in cookie_header  # the tests turn secure cookies off
    upload = browser.client.get("/upload")
    assert upload.status_code == 200
    assert "finance tester" in upload.text


def test_cookie_is_secure_by_default(database_url: str, connection, new_key) -> None:
    settings = make_settings(database_url)
    settings = settings.model_copy(update={"secure_cookies": True})
    with TestClient(build_app(settings), base_url="https://testserver") as client:
        page = client.get("/signin")
        assert "Secure" in page.headers["set-cookie"]
        answer = client.post(
            "/signin",
            data={"csrf_token": csrf_of(page.text), "key": new_key(Role.ADMIN)},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        flags = [part.strip().lower() for part in answer.headers["set-cookie"].split(";")]
        assert "secure" in flags
        assert "httponly" in flags
        assert "samesite=lax" in flags


@pytest.mark.parametrize(
    ("role", "home"),
    [
        (Role.ADMIN, "/"),
        (Role.FINANCE, "/"),
        (Role.POSTER, "/upload"),
        (Role.CLEARINGHOUSE, "/upload"),
    ],
)
def test_signin_goes_to_the_role_home(
    browser: Browser, new_key: Callable[..., str], role: Role, home: str
) -> None:
    assert browser.signin(new_key(role)).headers["location"] == home


@pytest.mark.parametrize(
    "secret",
    ["", "not-a-key", "er_000000000000_" + "A" * 43, "er_zzzzzzzzzzzz_short"],
)
def test_signin_with_a_wrong_key_is_refused(browser: Browser, secret: str) -> None:
    answer = browser.signin(secret)
    assert answer.status_code == 401
    assert "not valid" in answer.text
    assert browser.client.get("/upload", follow_redirects=False).status_code == 303


def test_signin_with_a_tampered_key_is_refused(browser: Browser, new_key) -> None:
    secret = new_key(Role.ADMIN)
    wrong = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert browser.signin(wrong).status_code == 401


def test_signin_without_the_csrf_token_is_refused(browser: Browser, new_key) -> None:
    browser.client.get("/signin")
    answer = browser.client.post(
        "/signin", data={"key": new_key(Role.ADMIN)}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert "expired" in answer.text
    assert COOKIE_NAME not in answer.headers.get("set-cookie", "") or "key" not in answer.text


def test_signin_with_another_sessions_csrf_token_is_refused(
    database_url: str, browser: Browser, new_key, web_app
) -> None:
    with TestClient(web_app) as other:
        foreign_token = csrf_of(other.get("/signin").text)
    browser.client.get("/signin")
    answer = browser.client.post(
        "/signin",
        data={"csrf_token": foreign_token, "key": new_key(Role.ADMIN)},
        follow_redirects=False,
    )
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "path", ["/", "/upload", "/files", "/variances", "/disputes", "/contracts"]
)
def test_pages_need_a_sign_in(browser: Browser, path: str) -> None:
    answer = browser.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/signin?next=")


def test_signin_returns_to_the_page_asked_for(browser: Browser, new_key) -> None:
    answer = browser.signin(new_key(Role.ADMIN), next_path="/files?q=PH0001")
    assert answer.headers["location"] == "/files?q=PH0001"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_signin_never_redirects_off_site(browser: Browser, new_key, target: str) -> None:
    answer = browser.signin(new_key(Role.ADMIN), next_path=target)
    assert answer.headers["location"] == "/"


def test_a_forged_cookie_is_ignored(browser: Browser, new_key) -> None:
    browser.signin(new_key(Role.ADMIN))
    value = browser.client.cookies[COOKIE_NAME]
    payload, stamp, _signature = value.rsplit(".", 2)
    browser.client.cookies.clear()
    browser.client.cookies.set(COOKIE_NAME, f"{payload}.{stamp}.{'A' * 27}")
    assert browser.client.get("/upload", follow_redirects=False).status_code == 303


def test_revoking_the_key_signs_the_browser_out(
    browser: Browser, new_key, session: Session
) -> None:
    secret = new_key(Role.ADMIN)
    browser.signin(secret)
    assert browser.client.get("/upload").status_code == 200
    key = access_service.find_key(session, key_ref=secret.split("_")[1])
    access_service.revoke_key(session, key_ref=str(key.id))
    session.flush()
    assert browser.client.get("/upload", follow_redirects=False).status_code == 303


def test_signout_clears_the_cookie_and_needs_csrf(browser: Browser, new_key) -> None:
    browser.signin(new_key(Role.POSTER))
    refused = browser.client.post("/signout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert browser.client.get("/upload").status_code == 200
    answer = browser.client.post(
        "/signout", data={"csrf_token": browser.csrf()}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin"
    assert browser.client.get("/upload", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/upload", ALL_ROLES),
        ("/files", ALL_ROLES),
        ("/variances", ALL_ROLES),
        ("/disputes", (Role.ADMIN, Role.FINANCE)),
        ("/contracts", (Role.ADMIN,)),
        ("/", (Role.ADMIN, Role.FINANCE)),
    ],
)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_roles_decide_which_pages_open(
    signed_in: Callable[..., Browser], role: Role, path: str, allowed: tuple[Role, ...]
) -> None:
    browser = signed_in(role)
    answer = browser.client.get(path, follow_redirects=False)
    if role in allowed:
        assert answer.status_code == 200, answer.text[:500]
    elif path == "/":
        assert answer.status_code == 303
        assert answer.headers["location"] == "/upload"
    else:
        assert answer.status_code == 403
        assert "Not allowed" in answer.text
        assert "Traceback" not in answer.text


@pytest.mark.parametrize("role", ALL_ROLES)
def test_navigation_shows_only_the_pages_of_the_role(
    signed_in: Callable[..., Browser], role: Role
) -> None:
    text = signed_in(role).client.get("/upload").text
    assert ('href="/disputes"' in text) == (role in (Role.ADMIN, Role.FINANCE))
    assert ('href="/contracts"' in text) == (role == Role.ADMIN)
    assert 'href="/variances"' in text


@pytest.mark.parametrize(
    "path",
    [
        "/upload",
        "/disputes/00000000-0000-0000-0000-000000000000/filed",
        "/disputes/00000000-0000-0000-0000-000000000000/outcome",
        "/variances/00000000-0000-0000-0000-000000000000/outcome",
    ],
)
def test_every_form_post_needs_the_csrf_token(signed_in: Callable[..., Browser], path: str) -> None:
    browser = signed_in(Role.ADMIN)
    for token in (None, "", "wrong-token"):
        data = {"outcome": "upheld"} if token is None else {"csrf_token": token}
        answer = browser.client.post(path, data=data, follow_redirects=False)
        assert answer.status_code == 403, path
        assert "csrf_failed" in answer.text


def test_a_poster_cannot_post_dispute_forms(signed_in: Callable[..., Browser]) -> None:
    browser = signed_in(Role.POSTER)
    answer = browser.client.post(
        "/disputes/00000000-0000-0000-0000-000000000000/filed",
        data={"csrf_token": browser.csrf()},
        follow_redirects=False,
    )
    assert answer.status_code == 403


def test_error_pages_are_html_without_internals(signed_in: Callable[..., Browser]) -> None:
    browser = signed_in(Role.ADMIN)
    answer = browser.client.get("/disputes/not-a-uuid")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "not_found" in answer.text
    bad = browser.client.get("/variances?from=yesterday")
    assert bad.status_code == 422
    assert "from must be a date" in bad.text
    assert "Traceback" not in bad.text
    assert "sqlalchemy" not in bad.text.lower()
