"""``/v1/variances`` and ``/v1/disputes``: filters, cursor pagination, practice scope on
lists, details and exports, outcomes, filing, idempotent retries."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.access.schemas import Role
from app.db.models import DisputePacket, PricingResult, ResultEvent
from app.disputes.schemas import open_packet_id
from tests.api.conftest import OTHER_NPI, assert_error
from tests.disputes.builders import filed_packets
from tests.factories import PAYER_ID, PRACTICE_NPI, make_claim, make_line, make_pricing_result
from tests.factories import make_remittance as _make_remittance

AS_OF = "2026-11-27"


def result_for(session, npi: str = PRACTICE_NPI, *, claim_id: str | None = None, **overrides):
    remittance = _make_remittance(session, practice_key=npi, payee_npi=npi)
    extra = {"claim_id": claim_id} if claim_id else {}
    claim = make_claim(session, remittance=remittance, **extra)
    line = make_line(session, claim=claim)
    return make_pricing_result(session, line=line, **overrides)


@pytest.fixture
def results(session):
    """Two open disputable results of our practice, one of another, one matched."""
    ours = [
        result_for(session, claim_id="OURS1", variance_amount=Decimal("22.00")),
        result_for(session, claim_id="OURS2", variance_amount=Decimal("10.50")),
    ]
    theirs = result_for(session, OTHER_NPI, claim_id="THEIRS1")
    matched = result_for(
        session,
        claim_id="OURS3",
        category="matched",
        disputable=False,
        variance_amount=Decimal("0.00"),
    )
    return {"ours": ours, "theirs": theirs, "matched": matched}


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


# ------------------------------------------------------------------------ variances


def test_variances_default_leaves_matched_out(client, finance, results):
    ids = _ids(client.get("/v1/variances", headers=finance, params={"as_of": AS_OF}))
    assert ids == {str(r.id) for r in [*results["ours"], results["theirs"]]}
    everything = _ids(client.get("/v1/variances", headers=finance, params={"all": "true"}))
    assert str(results["matched"].id) in everything


def test_variance_items_have_the_public_shape(client, poster, results):
    body = client.get("/v1/variances", headers=poster, params={"q": "OURS1"}).json()
    (item,) = body["items"]
    assert item["claim_id"] == "OURS1"
    assert item["variance"] == "22.00"
    assert item["category"] == "fee_schedule_underpaid"
    assert item["status"] == "open"
    assert item["practice_npi"] == PRACTICE_NPI
    assert body["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "THEIRS1"}, {"theirs"}),
        ({"category": "matched"}, {"matched"}),
        ({"status": "open"}, {"ours", "theirs"}),
        ({"payer_id": PAYER_ID}, {"ours", "theirs"}),
        ({"payer_id": "NOPE"}, set()),
        ({"from": "2026-06-15", "to": "2026-06-15"}, {"ours", "theirs"}),
        ({"from": "2026-06-16"}, set()),
    ],
)
def test_variance_filters(client, finance, results, params, expected):
    want: set[str] = set()
    for name in expected:
        group = results[name]
        want |= {str(r.id) for r in (group if isinstance(group, list) else [group])}
    assert _ids(client.get("/v1/variances", headers=finance, params=params)) == want


def test_variance_pagination_walks_every_item_once(client, finance, results):
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/variances", headers=finance, params=params).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(r.id) for r in [*results["ours"], results["theirs"]])


@pytest.mark.parametrize("role", [Role.FINANCE, Role.POSTER, Role.CLEARINGHOUSE])
def test_scoped_keys_see_only_their_practices_variances(client, make_key, results, role):
    scoped = make_key(role, practices=[PRACTICE_NPI])
    assert _ids(client.get("/v1/variances", headers=scoped)) == {str(r.id) for r in results["ours"]}
    assert _ids(client.get("/v1/variances", headers=scoped, params={"q": "THEIRS1"})) == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [({"from": "June"}, "from"), ({"all": "maybe"}, "all"), ({"limit": "x"}, "limit")],
)
def test_variance_parameter_errors_are_in_the_error_shape(client, finance, params, field):
    error = assert_error(client.get("/v1/variances", headers=finance, params=params), 422)
    assert error["code"] == "invalid_request"
    assert error["details"][0]["loc"] == ["query", field]
    # the offending value is not echoed back (it could be patient data)
    assert "input" not in error["details"][0]


def test_write_off_an_open_result(client, finance, results, session):
    target = results["ours"][0]
    response = client.post(
        f"/v1/variances/{target.id}/outcome",
        json={"outcome": "written_off", "note": "below our follow-up threshold"},
        headers=finance,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "written_off"
    assert session.scalar(select(func.count()).select_from(ResultEvent)) == 1
    # written off is final: recording it again is a conflict
    again = client.post(
        f"/v1/variances/{target.id}/outcome", json={"outcome": "written_off"}, headers=finance
    )
    assert_error(again, 409, "invalid_transition")


def test_recovered_needs_a_disputed_result(client, finance, results):
    target = results["ours"][0]
    response = client.post(
        f"/v1/variances/{target.id}/outcome",
        json={"outcome": "recovered", "amount": "10.00"},
        headers=finance,
    )
    assert_error(response, 409)


def test_outcome_of_another_practices_result_is_not_found(client, make_key, results):
    scoped = make_key(Role.FINANCE, practices=[PRACTICE_NPI])
    response = client.post(
        f"/v1/variances/{results['theirs'].id}/outcome",
        json={"outcome": "written_off"},
        headers=scoped,
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "body", [{}, {"outcome": "paid"}, {"outcome": "recovered", "amount": "ten"}, None]
)
def test_outcome_body_errors(client, finance, results, body):
    response = client.post(
        f"/v1/variances/{results['ours'][0].id}/outcome", json=body, headers=finance
    )
    assert_error(response, 422, "invalid_request")


def test_outcome_idempotent_retry(client, finance, results, session):
    url = f"/v1/variances/{results['ours'][0].id}/outcome"
    headers = {**finance, "Idempotency-Key": "wo-1"}
    first = client.post(url, json={"outcome": "written_off"}, headers=headers)
    again = client.post(url, json={"outcome": "written_off"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert session.scalar(select(func.count()).select_from(ResultEvent)) == 1
    other = client.post(url, json={"outcome": "upheld"}, headers=headers)
    assert_error(other, 409, "conflict")


# ------------------------------------------------------------------------- disputes


def _packet_id(npi: str = PRACTICE_NPI) -> str:
    return str(open_packet_id(npi, PAYER_ID))


def test_packet_list_is_scoped(client, finance, make_key, results):
    body = client.get("/v1/disputes", headers=finance, params={"as_of": AS_OF}).json()
    assert {p["id"] for p in body["packets"]} == {_packet_id(), _packet_id(OTHER_NPI)}
    assert all(p["items"] is None for p in body["packets"])
    scoped = make_key(Role.FINANCE, practices=[PRACTICE_NPI])
    body = client.get("/v1/disputes", headers=scoped, params={"as_of": AS_OF}).json()
    (packet,) = body["packets"]
    assert packet["id"] == _packet_id()
    assert packet["lines"] == 2
    assert packet["total"] == "32.50"


def test_packet_list_pages_filed_packets(client, finance, session):
    newest_first = filed_packets(session, 5)
    seen: list[str] = []
    params: dict[str, object] = {"as_of": AS_OF, "limit": 2}
    pages = 0
    while True:
        response = client.get("/v1/disputes", headers=finance, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        statuses = [p["status"] for p in body["packets"]]
        assert ("open" in statuses) == (pages == 0)  # the open packet on the first page
        assert body["expired"] == {"lines": 0, "total": "0.00"}
        seen += [p["id"] for p in body["packets"] if p["status"] != "open"]
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == newest_first
    assert pages == 3
    bad = client.get("/v1/disputes", headers=finance, params={"cursor": "x", "limit": 2})
    assert_error(bad, 422)


def test_one_packet_with_items(client, finance, results):
    response = client.get(f"/v1/disputes/{_packet_id()}", headers=finance, params={"as_of": AS_OF})
    assert response.status_code == 200, response.text
    packet = response.json()
    assert {i["claim_id"] for i in packet["items"]} == {"OURS1", "OURS2"}


@pytest.mark.parametrize(
    ("fmt", "media", "magic"),
    [
        ("pdf", "application/pdf", b"%PDF"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
        ("csv", "text/csv", None),
    ],
)
def test_packet_exports(client, finance, results, fmt, media, magic):
    response = client.get(
        f"/v1/disputes/{_packet_id()}", headers=finance, params={"format": fmt, "as_of": AS_OF}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert disposition.endswith(f'.{fmt}"')
    assert response.headers["x-content-type-options"] == "nosniff"
    if magic:
        assert response.content.startswith(magic)
    else:
        rows = list(csv.reader(io.StringIO(response.text)))
        text = response.text
        assert len(rows) >= 3
        assert "OURS1" in text
        assert "THEIRS1" not in text


@pytest.mark.parametrize("fmt", ["json", "pdf", "csv", "xlsx"])
def test_another_practices_packet_and_exports_are_not_found(client, make_key, results, fmt):
    scoped = make_key(Role.FINANCE, practices=[PRACTICE_NPI])
    response = client.get(
        f"/v1/disputes/{_packet_id(OTHER_NPI)}", headers=scoped, params={"format": fmt}
    )
    assert_error(response, 404, "not_found")


def test_unknown_export_format_is_a_validation_error(client, finance, results):
    response = client.get(f"/v1/disputes/{_packet_id()}", headers=finance, params={"format": "doc"})
    assert_error(response, 422, "invalid_request")


def test_file_a_packet_then_record_its_outcome(client, finance, results, session):
    url = f"/v1/disputes/{_packet_id()}"
    headers = {**finance, "Idempotency-Key": "file-1"}
    filed = client.post(f"{url}/filed", headers=headers, params={"as_of": AS_OF})
    assert filed.status_code == 200, filed.text
    packet = filed.json()
    assert packet["status"] == "filed"
    assert packet["lines"] == 2
    # a retry answers the same filed packet; nothing filed twice
    again = client.post(f"{url}/filed", headers=headers, params={"as_of": AS_OF})
    assert again.json() == packet
    assert session.scalar(select(func.count()).select_from(DisputePacket)) == 1
    # without the key, filing the (now empty) open packet again is a conflict
    assert_error(client.post(f"{url}/filed", headers=finance, params={"as_of": AS_OF}), 409)

    outcome = client.post(
        f"/v1/disputes/{packet['id']}/outcome",
        json={"outcome": "recovered", "amount": "32.50"},
        headers=finance,
        params={"as_of": AS_OF},
    )
    assert outcome.status_code == 200, outcome.text
    assert outcome.json()["recovered"] == "32.50"
    statuses = session.scalars(
        select(PricingResult.status).where(PricingResult.id.in_([r.id for r in results["ours"]]))
    ).all()
    assert statuses == ["recovered", "recovered"]


def test_expired_results(client, finance, session):
    result_for(session, claim_id="LATE1", dispute_deadline=date(2026, 1, 31))
    body = client.get("/v1/disputes/expired", headers=finance, params={"as_of": AS_OF}).json()
    assert [i["claim_id"] for i in body["items"]] == ["LATE1"]
    assert body["lines"] == 1
    listed = client.get("/v1/disputes", headers=finance, params={"as_of": AS_OF}).json()
    assert listed["expired"] == {"lines": 1, "total": "22.00"}


def test_malformed_packet_id_is_not_found(client, finance):
    assert_error(client.get("/v1/disputes/not-a-packet", headers=finance), 404)
