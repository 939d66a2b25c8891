"""Property-based requests from the OpenAPI description (schemathesis): whatever a
client sends within or around the documented shapes, the API never answers 5xx and
every error is in the one error shape."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.access import service as access
from app.access.schemas import Role
from app.config import Settings
from app.main import create_app

APP = create_app(
    Settings(
        database_url="sqlite://",
        max_upload_mb=1,
        validate_inline_lines=0,
        secret_key="fuzz-secret",
        secure_cookies=False,
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# the raw 835 body is bytes, as application/octet-stream is
schemathesis.serializer.alias("application/edi-x12", "application/octet-stream")


@pytest.fixture
def admin_header(session):
    _key, secret = access.create_key(session, role=Role.ADMIN, pepper=APP.state.key_pepper)
    session.flush()
    return {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors(case, connection, admin_header):
    response = case.call(headers=admin_header)
    assert response.status_code < 500, (case.method, case.path, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message", "details"}
