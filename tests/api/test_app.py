"""The application around the routes: OpenAPI, the one error shape for every kind of
error (the table of ``api/errors.py``, 404/405/422, bugs), security headers."""

from __future__ import annotations

import logging

import anyio
import pytest
from fastapi import APIRouter
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from app.access.errors import Unauthenticated
from app.api import errors as api_errors
from app.api.deps import SessionDep
from app.api.errors import PayloadTooLarge, UnsupportedMediaType, status_for
from app.contracts.errors import ContractInvalid
from app.contracts.schemas import Problem
from app.db.errors import SchemaOutdated
from app.disputes.errors import DisputeTransitionError, OutcomeInvalid, PacketNotFound
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, ReconError
from app.main import create_app
from app.x12.errors import X12Rejected
from app.x12.schemas import Finding
from tests.api.conftest import assert_error

# ------------------------------------------------------------------------ the table


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (X12Rejected([Finding("CLP04 is not a number", 14, "CLP", "2100", "CLP04")]), 422),
        (ContractInvalid([Problem("a.yaml", 3, "unknown key 'foo'")]), 422),
        (NotFound("x"), 404),
        (PacketNotFound("p1"), 404),
        (Conflict("x"), 409),
        (DisputeTransitionError("x", from_status="open", to_status="recovered"), 409),
        (Forbidden("x"), 403),
        (Unauthenticated("x"), 401),
        (InvalidInput("x"), 422),
        (OutcomeInvalid("x"), 422),
        (SchemaOutdated("x"), 503),
        (PayloadTooLarge("x"), 413),
        (UnsupportedMediaType("x"), 415),
        (ReconError("x"), 400),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_error_table(error, status):
    assert status_for(error) == status


def _raising_app(settings, error: Exception):
    app = create_app(settings)
    router = APIRouter()

    @router.get("/v1/boom")
    def boom() -> None:
        raise error

    app.include_router(router)
    return app


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (
            X12Rejected([Finding("CLP04 'A' is not a number", 14, "CLP", "2100", "CLP04")]),
            422,
            "invalid_835",
        ),
        (ContractInvalid([Problem("a.yaml", 3, "unknown key 'foo'")]), 422, "contract_invalid"),
        (DisputeTransitionError("no", from_status="open", to_status="recovered"), 409, None),
        (SchemaOutdated("run `era-recon db upgrade`"), 503, "schema_outdated"),
    ],
)
def test_domain_errors_answer_in_the_one_shape(settings, connection, error, status, code):
    client = TestClient(_raising_app(settings, error))
    body = assert_error(client.get("/v1/boom"), status, code)
    assert body["message"] == error.message
    assert body["details"] == error.details


def test_x12_rejection_details_are_located(settings, connection):
    finding = Finding("CLP04 'A' is not a number", 14, "CLP", "2100", "CLP04", "invalid_amount")
    client = TestClient(_raising_app(settings, X12Rejected([finding])))
    (detail,) = assert_error(client.get("/v1/boom"), 422)["details"]
    assert detail == {
        "segment_number": 14,
        "segment": "CLP",
        "loop": "2100",
        "element": "CLP04",
        "code": "invalid_amount",
        "message": "CLP04 'A' is not a number",
    }


def test_a_bug_answers_500_without_leaking_anything(settings, connection, caplog):
    secret = "DOE, JANE member ME123 INSERT INTO claim_payments"
    client = TestClient(_raising_app(settings, RuntimeError(secret)))
    caplog.set_level(logging.DEBUG)
    response = client.get("/v1/boom")
    error = assert_error(response, 500, "internal")
    assert "error id" in error["message"]
    for text in (response.text, caplog.text):
        assert "DOE" not in text
        assert "ME123" not in text
        assert "INSERT" not in text
    assert "Traceback" not in response.text
    assert "RuntimeError" in caplog.text  # logged: the class and where, not the message
    assert "boom" in caplog.text
    assert response.headers["x-content-type-options"] == "nosniff"


# ------------------------------------------------------- framework errors, same shape


def test_unknown_route_is_404_in_the_one_shape(client):
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405_in_the_one_shape(client, finance):
    error = assert_error(client.delete("/v1/variances", headers=finance), 405)
    assert error["code"] == "method_not_allowed"


def test_validation_error_is_422_in_the_one_shape(client, finance):
    error = assert_error(
        client.get("/v1/variances", params={"from": "DOE JANE"}, headers=finance), 422
    )
    assert error["code"] == "invalid_request"
    assert "DOE JANE" not in str(error)


# -------------------------------------------------------------------------- headers

API_CSP = "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.parametrize(
    ("path", "auth"),
    [("/healthz", False), ("/readyz", False), ("/v1/variances", True), ("/v1/variances", False)],
)
def test_security_headers_on_every_answer(client, finance, path, auth):
    response = client.get(path, headers=finance if auth else {})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == API_CSP


def test_a_route_own_csp_is_not_overridden(settings, connection):
    from fastapi.responses import HTMLResponse

    app = create_app(settings)
    router = APIRouter()

    @router.get("/page")
    def page() -> HTMLResponse:
        return HTMLResponse("<p>hi</p>", headers={"Content-Security-Policy": "default-src 'self'"})

    app.include_router(router)
    response = TestClient(app).get("/page")
    assert response.headers["content-security-policy"] == "default-src 'self'"
    assert response.headers["x-frame-options"] == "DENY"


def test_docs_answer_with_a_csp_that_lets_swagger_run(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


# ------------------------------------------------------------- the request's session


def test_a_route_s_writes_are_kept_when_it_answers_and_undone_when_it_fails(
    settings, connection, session
):
    from sqlalchemy import func, select

    from app.access.audit import entry_row
    from app.access.schemas import CLI_ACTOR
    from app.db import models

    app = create_app(settings)
    router = APIRouter()

    @router.post("/v1/write/{action}")
    def write(action: str, db: SessionDep, fail: bool = False) -> dict[str, str]:
        db.add(models.AuditEntry(**entry_row(actor=CLI_ACTOR, action=action)))
        db.flush()
        if fail:
            raise Conflict("undone")
        return {}

    app.include_router(router)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.post("/v1/write/kept").status_code == 200
    assert client.post("/v1/write/undone", params={"fail": True}).status_code == 409

    def stored(action: str) -> int:
        query = select(func.count()).where(models.AuditEntry.action == action)
        return session.execute(query).scalar_one()

    assert stored("kept") == 1
    assert stored("undone") == 0


# ------------------------------------------------ several worker processes, one socket


def _spread_app():
    """SpreadConnectionsMiddleware around an app whose /slow answers only when let."""
    from app.api.middleware import SpreadConnectionsMiddleware

    release = anyio.Event()
    started: list[anyio.Event] = []

    async def inner(scope, receive, send):
        if scope["path"] == "/boom":
            raise RuntimeError("no answer")
        if scope["path"] == "/slow":
            started[len(started) - 1].set()
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return SpreadConnectionsMiddleware(inner), started, release


def test_an_answer_given_while_its_process_is_busy_asks_to_reconnect():
    import httpx

    from app.api.middleware import BUSY_WITH

    spread, started, release = _spread_app()
    answers: dict[str, httpx.Response] = {}

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=spread, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def slow(name: str) -> None:
                answers[name] = await client.get("/slow")

            async with anyio.create_task_group() as tasks:
                for k in range(BUSY_WITH):
                    started.append(anyio.Event())
                    tasks.start_soon(slow, f"slow {k}")
                    await started[-1].wait()
                    answers[f"beside {k + 1}"] = await client.get("/fast")
                release.set()
            answers["alone"] = await client.get("/fast")
            answers["after an error"] = await client.get("/boom")
            answers["alone again"] = await client.get("/fast")

    anyio.run(scenario)
    # as busy as it gets: the client is asked to come back on a new connection
    assert answers[f"beside {BUSY_WITH}"].headers.get("connection") == "close"
    # less busy: connections are kept
    for name in [f"beside {k}" for k in range(1, BUSY_WITH)] + ["alone", "alone again"]:
        assert "connection" not in answers[name].headers, name
    assert answers["after an error"].status_code == 500
    assert spread.in_flight == 0  # the error was uncounted


def test_connections_are_spread_only_with_several_workers(settings):
    from app.api.middleware import SpreadConnectionsMiddleware

    def installed(workers: int) -> bool:
        app = create_app(settings.model_copy(update={"workers": workers}))
        return any(m.cls is SpreadConnectionsMiddleware for m in app.user_middleware)

    assert not installed(1)
    assert installed(2)


def test_a_starting_process_loads_the_maps_and_freezes_what_it_holds(monkeypatch):
    import gc

    from app import main
    from app.x12 import validation

    monkeypatch.setattr(main, "_settled", False)
    monkeypatch.setattr(validation, "_maps", {})
    threshold = gc.get_threshold()
    gc.unfreeze()
    try:
        main.settle_process()
        assert set(validation._maps) == {
            "x12.control.00501.xml",
            "x12.control.00401.xml",
            "835.5010.X221.A1.xml",
            "835.4010.X091.A1.xml",
        }
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules' objects, the maps
        assert gc.get_threshold()[0] == main.GC_YOUNG_THRESHOLD
        main.settle_process()  # once per process
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


# -------------------------------------------------------------------------- OpenAPI


def test_openapi_documents_every_route(app, client):
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "era-recon"
    api_routes = [
        (method.lower(), route.path)
        for route in iter_route_contexts(app.routes)
        if route.path and route.path.startswith(("/v1", "/healthz", "/readyz"))
        for method in (getattr(route, "methods", None) or set()) - {"HEAD"}
    ]
    assert len(api_routes) == 15
    for method, path in api_routes:
        operation = spec["paths"][path][method]
        assert operation["tags"], (method, path)
        assert operation.get("summary"), (method, path)
        if path.startswith("/v1"):
            responses = operation["responses"]
            assert {"401", "422"} <= set(responses), (method, path)
            assert responses["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorResponse"
            }
            assert operation["security"] == [{"HTTPBearer": []}], (method, path)
            success = [code for code in responses if code.startswith("2")]
            assert success, (method, path)


def test_openapi_names_the_main_shapes_and_errors(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("ErrorResponse", "FileSummary", "PricingResultRead", "Packet", "PacketList"):
        assert name in schemas, name
    upload = spec["paths"]["/v1/remittances"]["post"]
    assert {"200", "201", "403", "409", "413", "415", "422"} <= set(upload["responses"])
    assert set(upload["requestBody"]["content"]) >= {
        "application/edi-x12",
        "text/plain",
        "application/octet-stream",
        "multipart/form-data",
    }
    assert "example" in upload["responses"]["201"]["content"]["application/json"]
    assert "Idempotency-Key" in {p["name"] for p in upload["parameters"]}
    export = spec["paths"]["/v1/disputes/{packet_id}"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "application/pdf", "text/csv"} <= set(export)
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_error_docs_cover_each_documented_status():
    assert set(api_errors.ERROR_DOCS) >= {401, 403, 404, 409, 413, 422}
