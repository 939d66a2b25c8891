"""Who may see and change what (spec/interfaces.md "Authentication"), walked over every
route of ``create_app()`` — API and pages — with real stored data of two practices:

- without a key or a signed-in session no route answers data;
- each role reaches exactly the routes interfaces.md gives it (403 elsewhere);
- a key limited to one practice never sees or changes another practice's rows:
  lists, details, exports, outcomes, filing, delete, pages.

tests/api/test_auth.py checks the API's 401/403 answers with made-up ids; this goes
over the pages too, with real ids, and proves scoping on each route.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from app.access.schemas import Role
from tests.security.conftest import AS_OF, PRACTICE_A, KeyMaker, World, csrf_of

ALL = frozenset(Role)
FINANCE = frozenset({Role.ADMIN, Role.FINANCE})
ADMIN = frozenset({Role.ADMIN})

# every route that needs no key: health checks, the API docs, the sign-in page
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/openapi.json"),
    ("GET", "/signin"),
    ("POST", "/signin"),
    ("POST", "/signout"),
}

# (method, path) → roles allowed; {file} {result} {packet} {fmt} are filled with real
# ids of practice A (spec/interfaces.md: API routes table and "Web pages")
MATRIX: dict[tuple[str, str], frozenset[Role]] = {
    ("POST", "/v1/remittances"): ALL,
    ("GET", "/v1/remittances"): ALL,
    ("GET", "/v1/remittances/{file_id}"): ALL,
    ("DELETE", "/v1/remittances/{file_id}"): ADMIN,
    ("GET", "/v1/variances"): ALL,
    ("POST", "/v1/variances/{result_id}/outcome"): FINANCE,
    ("GET", "/v1/disputes"): FINANCE,
    ("GET", "/v1/disputes/expired"): FINANCE,
    ("GET", "/v1/disputes/{packet_id}"): FINANCE,
    ("POST", "/v1/disputes/{packet_id}/filed"): FINANCE,
    ("POST", "/v1/disputes/{packet_id}/outcome"): FINANCE,
    ("GET", "/v1/contracts"): ALL,
    ("POST", "/v1/contracts"): ADMIN,
    # pages: poster and clearinghouse upload, files, variances; finance all but contracts
    ("GET", "/"): FINANCE,
    ("GET", "/upload"): ALL,
    ("POST", "/upload"): ALL,
    ("GET", "/files"): ALL,
    ("GET", "/variances"): ALL,
    ("POST", "/variances/{result_id}/outcome"): FINANCE,
    ("GET", "/disputes"): FINANCE,
    ("GET", "/disputes/{packet_id}"): FINANCE,
    ("GET", "/disputes/{packet_id}/export/{fmt}"): FINANCE,
    ("POST", "/disputes/{packet_id}/filed"): FINANCE,
    ("POST", "/disputes/{packet_id}/outcome"): FINANCE,
    ("GET", "/contracts"): ADMIN,
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if getattr(route, "methods", None)
        for method in route.methods - {"HEAD"}
    }


def test_the_matrix_names_every_route(app: FastAPI) -> None:
    """A new route must be added here (and to interfaces.md) before it ships."""
    assert app_routes(app) == set(MATRIX) | PUBLIC


def fill(path: str, world: World, practice: str = "a") -> str:
    p = getattr(world, practice)
    values = {
        "file_id": p.file_id,
        "result_id": p.result_ids[0],
        "packet_id": p.packet_id,
        "fmt": "csv",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def body_for(method: str, path: str) -> dict[str, object]:
    if path.endswith("/outcome"):
        return {"outcome": "written_off"}
    return {}


def api_call(client: TestClient, method: str, path: str, headers: dict[str, str]):
    if path == "/v1/remittances" and method == "POST":
        return client.post(path, content=b"ISA*not an 835", headers=headers)
    if path == "/v1/contracts" and method == "POST":
        return client.post(path, files={"files": ("x.yaml", b"id: [")}, headers=headers)
    json = body_for(method, path) or None
    params = {"as_of": AS_OF.isoformat()} if "disputes" in path else None
    return client.request(
        method, path, headers=headers, json=json, params=params, follow_redirects=False
    )


def page_call(client: TestClient, method: str, path: str, *, csrf: bool = True):
    if method == "GET":
        return client.get(path, follow_redirects=False)
    data: dict[str, object] = dict(body_for(method, path))
    if csrf:
        data["csrf_token"] = csrf_of(client.get("/upload").text)
    files = {"files": ("x.835", b"ISA*not an 835")} if path == "/upload" else None
    return client.post(path, data=data, files=files, follow_redirects=False)


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_no_route_answers_data_without_a_key_or_session(
    client: TestClient, world: World, method: str, path: str
) -> None:
    url = fill(path, world)
    if path.startswith("/v1"):
        answer = api_call(client, method, url, {})
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthenticated"
    else:
        answer = page_call(client, method, url)
        if method == "GET":
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/signin?next=")
        else:  # a POST without a session has no valid CSRF token either
            assert answer.status_code in (303, 403)
    for practice in (world.a, world.b):
        assert practice.file_id not in answer.text
        assert practice.packet_id not in answer.text
        assert all(result not in answer.text for result in practice.result_ids)
    assert "PATIENT" not in answer.text


ROLE_CASES = [(role, m, p) for (m, p) in sorted(MATRIX) for role in Role]


@pytest.mark.parametrize(
    ("role", "method", "path"), ROLE_CASES, ids=[f"{r.value}-{m}-{p}" for r, m, p in ROLE_CASES]
)
def test_each_role_reaches_only_its_routes(
    client: TestClient,
    browser: Callable[..., TestClient],
    make_key: KeyMaker,
    world: World,
    role: Role,
    method: str,
    path: str,
) -> None:
    allowed = role in MATRIX[(method, path)]
    url = fill(path, world)
    if path.startswith("/v1"):
        answer = api_call(client, method, url, make_key(role).headers)
    else:
        answer = page_call(browser(role), method, url)
    if allowed:
        assert answer.status_code not in (401, 403), answer.text[:300]
        assert answer.status_code < 500, answer.text[:300]
    elif path == "/" and method == "GET":
        # the dashboard sends other roles to their own home page
        assert (answer.status_code, answer.headers["location"]) == (303, "/upload")
    else:
        assert answer.status_code == 403, answer.text[:300]
        assert world.a.file_id not in answer.text


# -------------------------------------------------------------- practice scope

# (method, path, answer for practice A's own rows): practice B's rows answer 404 and
# stay unchanged
SCOPED_API = [
    ("GET", "/v1/remittances/{file_id}", 200),
    ("GET", "/v1/disputes/{packet_id}", 200),
    ("GET", "/v1/disputes/{packet_id}?format=pdf", 200),
    ("GET", "/v1/disputes/{packet_id}?format=xlsx", 200),
    ("GET", "/v1/disputes/{packet_id}?format=csv", 200),
    ("POST", "/v1/variances/{result_id}/outcome", 200),
    ("POST", "/v1/disputes/{packet_id}/outcome", 409),  # open packet: file it first
    ("POST", "/v1/disputes/{packet_id}/filed", 200),
    ("DELETE", "/v1/remittances/{file_id}", 204),
]


@pytest.mark.parametrize(("method", "path", "own"), SCOPED_API)
def test_a_practice_key_never_reaches_another_practices_rows(
    client: TestClient, make_key: KeyMaker, world: World, method: str, path: str, own: int
) -> None:
    # admin for delete (admin only), else finance; both limited to practice A
    role = Role.ADMIN if method == "DELETE" else Role.FINANCE
    scoped = make_key(role, practices=[PRACTICE_A]).headers
    admin = make_key(Role.ADMIN).headers
    before = client.get(f"/v1/remittances/{world.b.file_id}", headers=admin).json()
    other = api_call(client, method, fill(path, world, "b"), scoped)
    assert other.status_code == 404, other.text[:300]
    assert other.json()["error"]["code"] == "not_found"
    assert world.b.npi not in other.text
    assert client.get(f"/v1/remittances/{world.b.file_id}", headers=admin).json() == before
    mine = api_call(client, method, fill(path, world, "a"), scoped)
    assert mine.status_code == own, mine.text[:300]


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v1/remittances", "items"),
        ("/v1/variances?all=true&limit=200", "items"),
        ("/v1/disputes", "packets"),
        ("/v1/disputes/expired", "items"),
    ],
)
def test_lists_hold_only_the_keys_practices(
    client: TestClient, make_key: KeyMaker, world: World, path: str, key: str
) -> None:
    for role in (Role.FINANCE, Role.ADMIN):
        answer = api_call(client, "GET", path, make_key(role, practices=[PRACTICE_A]).headers)
        assert answer.status_code == 200
        assert world.b.npi not in answer.text
        assert world.b.file_id not in answer.text
        assert world.b.packet_id not in answer.text
        assert isinstance(answer.json()[key], list)
    everything = api_call(client, "GET", path, make_key(Role.FINANCE).headers)
    if key == "items" and "expired" in path:
        return  # nothing has expired yet: the list is empty for every key
    assert world.b.npi in everything.text or world.b.file_id in everything.text


SCOPED_PAGES = [
    ("GET", "/disputes/{packet_id}", 200),
    ("GET", "/disputes/{packet_id}/export/pdf", 200),
    ("GET", "/disputes/{packet_id}/export/xlsx", 200),
    ("POST", "/variances/{result_id}/outcome", 303),
    ("POST", "/disputes/{packet_id}/filed", 303),
]


@pytest.mark.parametrize(("method", "path", "own"), SCOPED_PAGES)
def test_pages_of_a_practice_key_never_show_another_practices_rows(
    browser: Callable[..., TestClient], world: World, method: str, path: str, own: int
) -> None:
    page = browser(Role.FINANCE, practices=[PRACTICE_A])
    other = page_call(page, method, fill(path, world, "b"))
    assert other.status_code == 404, other.text[:300]
    assert world.b.npi not in other.text
    assert page_call(page, method, fill(path, world, "a")).status_code == own


@pytest.mark.parametrize("path", ["/files", "/variances?all=true", "/disputes", "/"])
def test_list_pages_of_a_practice_key_hold_only_its_rows(
    browser: Callable[..., TestClient], world: World, path: str
) -> None:
    text = browser(Role.FINANCE, practices=[PRACTICE_A]).get(path).text
    assert world.b.npi not in text
    assert world.b.file_id not in text
    assert world.b.packet_id not in text
    assert "SECB0001" not in text
