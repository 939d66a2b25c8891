"""The API against its own OpenAPI schema, with schemathesis: generated requests for
every operation, sent with an admin key (so every route is reachable); no answer is a
5xx and every answer conforms to the schema (a documented status, a body of the
documented shape, the documented content type). A few examples per operation keep
CI fast.
"""

from __future__ import annotations

import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.access.schemas import Role
from app.config import Settings
from app.main import create_app
from tests.security.conftest import SECRET_KEY, KeyMaker

# the schema is read at import from an app of the same settings as the tests' (the
# schema holds no data); requests go to it with the test's database bound
APP = create_app(
    Settings(  # type: ignore[call-arg]
        DATABASE_URL="sqlite://",
        ERA_RECON_SECRET_KEY=SECRET_KEY,
        ERA_RECON_SECURE_COOKIES=False,
        ERA_RECON_CONTRACTS=tempfile.mkdtemp(prefix="era-recon-contracts-"),
        ERA_RECON_MAX_UPLOAD_MB=1,
        ERA_RECON_VALIDATE_INLINE_LINES=0,
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schemathesis.serializer("application/edi-x12")
def edi_bytes(_ctx: object, value: object) -> bytes:
    """A raw 835 body: the generated value's bytes as they are."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


# What the issue asks of every answer. Left out on purpose: positive/negative data
# acceptance (a cursor, a contract upload or an amount is valid by rules a JSON
# schema cannot state, so a schema-valid request may fairly answer 422) and the
# Allow header of a 405 to an undocumented method (docs/reliability.md).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def admin_headers(connection, make_key: KeyMaker) -> dict[str, str]:
    return make_key(Role.ADMIN).headers


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case, admin_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=admin_headers, checks=CHECKS)
