"""``/v1/contracts``: list (any role), upload (admin) with located 422s; and the worked
example of spec/examples end to end through the API: contracts, both ERA files,
the packet."""

from __future__ import annotations

import pytest

from app.access.schemas import Role
from tests.api.conftest import assert_error
from tests.factories import make_contract_version
from tests.support import shared_path

EXAMPLES = ("spec", "examples")


def _contract_files() -> dict[str, tuple[str, bytes, str]]:
    yaml_path = shared_path(*EXAMPLES, "prairie-ppo-2026.yaml")
    csv_path = shared_path(*EXAMPLES, "prairie-fees.csv")
    return {
        "yaml": (yaml_path.name, yaml_path.read_bytes(), "application/yaml"),
        "csv": (csv_path.name, csv_path.read_bytes(), "text/csv"),
    }


def _upload(client, headers, files):
    return client.post(
        "/v1/contracts", files=[("files", item) for item in files.values()], headers=headers
    )


def test_admin_uploads_contracts_and_every_role_lists_them(client, admin, make_key):
    response = _upload(client, admin, _contract_files())
    assert response.status_code == 200, response.text
    (item,) = response.json()["items"]
    assert item["status"] == "loaded"
    for role in Role:
        listed = client.get("/v1/contracts", headers=make_key(role))
        assert listed.status_code == 200, listed.text
        (contract,) = listed.json()
        assert contract["id"] == "prairie-ppo-2026"
        assert contract["payer_ids"] == ["55123"]
        assert contract["fee_schedule_rows"] == 6  # the rows of prairie-fees.csv
    again = _upload(client, admin, _contract_files())
    assert again.json()["items"][0]["status"] == "unchanged"


def test_invalid_contract_answers_422_with_file_and_line(client, admin):
    files = _contract_files()
    name, data, media = files["yaml"]
    files["yaml"] = (name, data.replace(b"bilateral_percent: 150", b"bilateral_percent: 90"), media)
    error = assert_error(_upload(client, admin, files), 422, "contract_invalid")
    detail = next(d for d in error["details"] if "bilateral" in d["message"])
    assert detail["file"].endswith("prairie-ppo-2026.yaml")
    assert detail["line"] == 9
    assert client.get("/v1/contracts", headers=admin).json() == []


def test_a_missing_fee_schedule_is_located(client, admin):
    files = _contract_files()
    del files["csv"]
    error = assert_error(_upload(client, admin, files), 422, "contract_invalid")
    assert any("prairie-fees.csv" in d["message"] for d in error["details"]), error


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": b"id: x", "headers": {"Content-Type": "application/yaml"}}, 422),
        ({"files": [("files", ("a.yaml", b"", "application/yaml"))]}, 422),
    ],
)
def test_bad_contract_requests(client, admin, kwargs, status):
    headers = {**admin, **kwargs.pop("headers", {})}
    assert_error(client.post("/v1/contracts", headers=headers, **kwargs), status)


def test_contract_upload_idempotent_retry(client, admin):
    headers = {**admin, "Idempotency-Key": "contracts-1"}
    first = _upload(client, headers, _contract_files())
    again = _upload(client, headers, _contract_files())
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["items"][0]["status"] == "loaded"  # the first answer, replayed


def test_worked_example_end_to_end(client, admin, make_key):
    """spec/examples: the contract, the June file, the July reversal → one packet."""
    assert _upload(client, admin, _contract_files()).status_code == 200
    poster = make_key(Role.POSTER, practices=["1326048597"])
    june = shared_path(*EXAMPLES, "prairie-2026-06-15.835").read_bytes()
    july = shared_path(*EXAMPLES, "prairie-2026-07-20-reversal.835").read_bytes()
    headers = {**poster, "Content-Type": "application/edi-x12"}
    first = client.post("/v1/remittances", content=june, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["claims"] == 8
    assert client.post("/v1/remittances", content=july, headers=headers).status_code == 201

    finance = make_key(Role.FINANCE)
    packets = client.get("/v1/disputes", headers=finance, params={"as_of": "2026-11-27"}).json()
    (packet,) = packets["packets"]
    assert (packet["payer_id"], packet["practice_npi"]) == ("55123", "1326048597")
    assert (packet["lines"], packet["total"]) == (3, "375.00")
    assert packet["earliest_deadline"] == "2027-06-15"
    assert packet["urgent"] is False
    assert packets["expired"]["lines"] == 0

    lines = client.get(
        "/v1/variances", headers=poster, params={"all": "true", "limit": 200}
    ).json()["items"]
    reversed_lines = {i["line_control_number"] for i in lines if i["category"] == "reversed"}
    assert reversed_lines == {"E2A", "E2B"}


def test_scoped_keys_see_their_practices_and_general_contracts(client, admin, make_key, session):
    make_contract_version(session, contract_id="general", practice_npi=None, practice_tin=None)
    make_contract_version(session, contract_id="ours", practice_npi="1326048597")
    make_contract_version(session, contract_id="theirs", practice_npi="1487652301")
    scoped = make_key(Role.POSTER, practices=["1326048597"])
    listed = {c["id"] for c in client.get("/v1/contracts", headers=scoped).json()}
    assert listed == {"general", "ours"}
    everything = {c["id"] for c in client.get("/v1/contracts", headers=admin).json()}
    assert everything == {"general", "ours", "theirs"}
