"""A NUL character in a URL or a free-text field answers 422 in the error shape, on
every route, before anything reaches the database (PostgreSQL text cannot hold NUL:
it used to surface as a 500)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    "url",
    [
        "/v1/remittances?q=%00",
        "/v1/variances?category=%00",
        "/v1/variances?q=a%00b",
        "/v1/remittances/%00",
        "/variances?q=%00",
    ],
)
def test_nul_in_the_url_is_refused(client: TestClient, admin: dict[str, str], url: str) -> None:
    response = client.get(url, headers=admin)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_percent_escape_that_is_not_nul_passes(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/v1/variances?q=%2500", headers=admin)
    assert response.status_code == 200
