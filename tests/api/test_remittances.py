"""``/v1/remittances``: upload (raw or multipart, 201/200/422/413/415), idempotent
retries, list with search and cursor pagination, detail, delete, practice scope."""

from __future__ import annotations

import json
import uuid

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.access.schemas import Role
from app.db.models import ClaimPayment, EraFile, IdempotencyRecord
from app.main import create_app
from benchmarks.gen835 import generate_835
from tests.api.conftest import OTHER_NPI, assert_error
from tests.factories import PRACTICE_NPI

EDI = {"Content-Type": "application/edi-x12"}


def era(*, seed: int = 0, npi: str = PRACTICE_NPI, trace: str = "API0001", claims: int = 1):
    return generate_835(claims, 1, seed=seed, payee_npi=npi, trace_number=trace)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _upload(client, headers, data, **kwargs):
    return client.post("/v1/remittances", content=data, headers={**EDI, **headers}, **kwargs)


# ------------------------------------------------------------------------- upload


def test_upload_answers_201_with_the_file_summary(client, poster, session):
    response = _upload(client, poster, era(claims=2), params={"filename": "june.835"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["duplicate"] is False
    assert body["claims"] == 2
    assert body["lines"] == 2
    assert body["duplicates"] == 0
    assert isinstance(body["underpaid_total"], str)
    (remittance,) = body["remittances"]
    assert remittance["payer"] == {"id": "55123", "name": "PRAIRIE HEALTH PLAN"}
    assert remittance["payee"]["npi"] == PRACTICE_NPI
    assert remittance["payment"]["trace"] == "API0001"
    assert response.headers["location"] == f"/v1/remittances/{body['id']}"
    stored = session.get(EraFile, uuid.UUID(body["id"]))
    assert stored is not None
    assert stored.filename == "june.835"


def test_a_large_upload_is_read_in_a_child_process_with_the_same_answer(
    client, poster, session, monkeypatch
):
    from app.reconciliation import service

    # what files of PROCESS_BYTES and more do: read and priced in a child process
    monkeypatch.setattr(service, "PROCESS_BYTES", 0)
    response = _upload(client, poster, era(claims=40, trace="CHILD01"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["claims"], body["lines"], body["duplicates"]) == (40, 40, 0)
    assert _count(session, ClaimPayment) == 40
    again = client.get(f"/v1/remittances/{body['id']}", headers=poster)
    assert again.status_code == 200
    assert again.json()["claims"] == 40


@pytest.mark.parametrize(
    "content_type", ["application/edi-x12", "text/plain", "application/octet-stream"]
)
def test_raw_body_media_types(client, poster, content_type):
    response = client.post(
        "/v1/remittances", content=era(), headers={**poster, "Content-Type": content_type}
    )
    assert response.status_code == 201, response.text


def test_multipart_field_file(client, poster, session):
    response = client.post(
        "/v1/remittances",
        files={"file": ("july.835", era(), "application/octet-stream")},
        headers=poster,
    )
    assert response.status_code == 201, response.text
    assert session.scalar(select(EraFile.filename)) == "july.835"


def test_multipart_without_the_file_field(client, poster):
    response = client.post(
        "/v1/remittances", files={"other": ("a.835", era(), "text/plain")}, headers=poster
    )
    error = assert_error(response, 422, "invalid_input")
    assert "'file'" in error["message"]


def test_unsupported_media_type(client, poster):
    response = client.post(
        "/v1/remittances", content=b"{}", headers={**poster, "Content-Type": "application/json"}
    )
    assert_error(response, 415, "unsupported_media_type")


def test_duplicate_upload_answers_200_with_the_original(client, poster, session):
    first = _upload(client, poster, era())
    assert first.status_code == 201
    second = _upload(client, poster, era())
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["duplicate"] is True
    assert body["id"] == first.json()["id"]
    assert body["claims"] == first.json()["claims"]
    assert _count(session, EraFile) == 1


def _rejected_file() -> bytes:
    text = era().decode()
    # CLP04 (the claim's paid amount) that is not a number rejects the file
    return text.replace("*372.40*93.10*", "*37X.40*93.10*", 1).encode()


def test_invalid_835_answers_422_with_located_details(client, poster, session):
    data = _rejected_file()
    assert b"37X.40" in data
    response = _upload(client, poster, data)
    error = assert_error(response, 422, "invalid_835")
    assert error["details"], error
    located = [d for d in error["details"] if d["segment"] == "CLP"]
    assert located, error["details"]
    detail = located[0]
    assert detail["element"] == "CLP04"
    assert detail["segment_number"] == 16
    assert detail["loop"] == "2100"
    assert detail["message"]
    text = response.text
    assert "PATIENT" not in text  # NM1*QC of the file: never in an error answer
    assert "M000000001" not in text
    assert "Traceback" not in text
    assert "SELECT" not in text
    assert _count(session, EraFile) == 0
    assert _count(session, ClaimPayment) == 0


@pytest.mark.parametrize("data", [b"", b"hello", b"\x00\xff" * 50], ids=["empty", "text", "binary"])
def test_unreadable_bodies_answer_422(client, poster, data, session):
    assert_error(_upload(client, poster, data), 422)
    assert _count(session, EraFile) == 0


# ---------------------------------------------------------------------- too large


def test_declared_content_length_over_the_limit_is_refused_up_front(client, poster):
    big = b"x" * (1024 * 1024 + 1)
    assert_error(_upload(client, poster, big), 413, "payload_too_large")


class CountingBody:
    """A body larger than the limit, sent chunk by chunk straight to the ASGI app (the
    TestClient would read a generator whole first), counting the chunks pulled."""

    def __init__(self, chunks: int, size: int = 64 * 1024, head: bytes = b"") -> None:
        self.parts = [head] if head else []
        self.parts += [b"x" * size] * chunks
        self.pulled = 0

    async def receive(self):
        if self.pulled < len(self.parts):
            self.pulled += 1
            more = self.pulled < len(self.parts)
            return {"type": "http.request", "body": self.parts[self.pulled - 1], "more_body": more}
        return {"type": "http.disconnect"}


def asgi_post(app, path: str, headers: dict[str, str], body: CountingBody) -> tuple[int, dict]:
    """POST ``body`` to the app as a server would: chunk by chunk, no Content-Length."""
    status, payload = asgi_post_raw(app, path, headers, body)
    return status, json.loads(payload)


def asgi_post_raw(app, path: str, headers: dict[str, str], body: CountingBody) -> tuple[int, bytes]:
    """``asgi_post``, answering the status and the body's bytes."""
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, body.receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], payload


def test_streamed_body_is_cut_off_at_the_limit(app, connection, poster):
    body = CountingBody(chunks=160)  # 10 MB against a 1 MB limit
    status, answer = asgi_post(app, "/v1/remittances", {**poster, **EDI}, body)
    assert status == 413
    assert answer["error"]["code"] == "payload_too_large"
    # the server stopped reading just past 1 MB: 17 chunks of 64 KiB, not 160
    assert body.pulled == 17, body.pulled


def test_streamed_multipart_is_cut_off_at_the_limit(app, connection, poster):
    boundary = "XyZ"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.835"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    body = CountingBody(chunks=160, head=head)
    headers = {**poster, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, answer = asgi_post(app, "/v1/remittances", headers, body)
    assert status == 413
    assert answer["error"]["code"] == "payload_too_large"
    assert body.pulled <= 19, body.pulled


def test_a_streamed_body_under_the_limit_is_read_whole(app, connection, poster, session):
    data = era()
    body = CountingBody(chunks=0, head=data)
    status, answer = asgi_post(app, "/v1/remittances", {**poster, **EDI}, body)
    assert status == 201, answer
    assert _count(session, EraFile) == 1


def test_the_limit_follows_the_setting(settings, connection, make_key):
    roomy = create_app(settings.model_copy(update={"max_upload_mb": 3}))
    client = TestClient(roomy)
    headers = {**make_key(Role.POSTER), **EDI}
    two_mb = b"x" * (2 * 1024 * 1024)
    # under this app's 3 MB limit: read, then rejected as an 835 (not 413)
    assert_error(client.post("/v1/remittances", content=two_mb, headers=headers), 422)


def test_no_key_is_refused_before_the_body_is_read(app, connection):
    body = CountingBody(chunks=160)
    status, answer = asgi_post(app, "/v1/remittances", EDI, body)
    assert status == 401
    assert answer["error"]["code"] == "unauthenticated"
    assert body.pulled == 0


# -------------------------------------------------------------------- idempotency


def test_idempotent_retry_replays_the_first_answer(client, poster, session):
    headers = {**poster, "Idempotency-Key": "upload-0001"}
    first = _upload(client, headers, era())
    again = _upload(client, headers, era())
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"
    assert _count(session, EraFile) == 1
    assert _count(session, IdempotencyRecord) == 1


def test_idempotent_retry_of_a_multipart_upload(client, poster, session):
    headers = {**poster, "Idempotency-Key": "upload-mp"}
    files = {"file": ("a.835", era(), "text/plain")}
    first = client.post("/v1/remittances", files=files, headers=headers)
    # a new multipart body (another boundary) carrying the same file
    again = client.post("/v1/remittances", files=files, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert _count(session, EraFile) == 1


def test_idempotency_key_reused_with_another_body_is_409(client, poster, session):
    headers = {**poster, "Idempotency-Key": "upload-0002"}
    assert _upload(client, headers, era(trace="ONE")).status_code == 201
    response = _upload(client, headers, era(trace="TWO", seed=3))
    error = assert_error(response, 409, "conflict")
    assert "Idempotency-Key" in error["message"]
    assert _count(session, EraFile) == 1


def test_idempotency_keys_are_per_api_key(client, make_key, session):
    one, two = make_key(Role.POSTER), make_key(Role.CLEARINGHOUSE)
    a = _upload(client, {**one, "Idempotency-Key": "same"}, era())
    b = _upload(client, {**two, "Idempotency-Key": "same"}, era())
    assert a.status_code == 201
    assert b.status_code == 200  # not a replay: the second key's own request, a duplicate
    assert b.json()["duplicate"] is True
    assert "idempotency-replayed" not in b.headers


def test_a_rejected_upload_is_not_remembered(client, poster, session):
    headers = {**poster, "Idempotency-Key": "upload-bad"}
    assert _upload(client, headers, _rejected_file()).status_code == 422
    assert _count(session, IdempotencyRecord) == 0
    # the client fixes the file and retries with the same key
    assert _upload(client, headers, era()).status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 201])
def test_bad_idempotency_keys(client, poster, key):
    assert_error(_upload(client, {**poster, "Idempotency-Key": key}, era()), 422)


# ---------------------------------------------------------------- practice scope


def test_a_scoped_key_uploads_only_its_practices_files(client, make_key, session):
    theirs = make_key(Role.CLEARINGHOUSE, practices=[OTHER_NPI])
    response = _upload(client, theirs, era(npi=PRACTICE_NPI))
    assert_error(response, 403, "forbidden")
    assert _count(session, EraFile) == 0
    assert _upload(client, theirs, era(npi=OTHER_NPI)).status_code == 201


def test_scoped_keys_see_only_their_practices_files(client, admin, make_key):
    ours = _upload(client, admin, era(npi=PRACTICE_NPI, trace="OURS")).json()
    other = _upload(client, admin, era(npi=OTHER_NPI, trace="THEIRS", seed=5)).json()
    scoped = make_key(Role.POSTER, practices=[PRACTICE_NPI])

    listed = client.get("/v1/remittances", headers=scoped).json()
    assert [item["id"] for item in listed["items"]] == [ours["id"]]
    assert client.get(f"/v1/remittances/{ours['id']}", headers=scoped).status_code == 200
    assert_error(client.get(f"/v1/remittances/{other['id']}", headers=scoped), 404)
    # a search does not leak the other practice's file either
    assert client.get("/v1/remittances", params={"q": "THEIRS"}, headers=scoped).json() == {
        "items": [],
        "next_cursor": None,
    }
    everything = client.get("/v1/remittances", headers=admin).json()["items"]
    assert {item["id"] for item in everything} == {ours["id"], other["id"]}


# ------------------------------------------------------------------ list, detail


def test_list_search_and_cursor_pagination(client, poster):
    ids = [_upload(client, poster, era(trace=f"PAGE{n}", seed=n)).json()["id"] for n in range(3)]
    first = client.get("/v1/remittances", params={"limit": 2}, headers=poster).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    second = client.get(
        "/v1/remittances", params={"limit": 2, "cursor": first["next_cursor"]}, headers=poster
    ).json()
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    seen = [item["id"] for item in first["items"] + second["items"]]
    assert sorted(seen) == sorted(ids)

    found = client.get("/v1/remittances", params={"q": "PAGE1"}, headers=poster).json()
    assert [item["id"] for item in found["items"]] == [ids[1]]


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_limit_bounds(client, poster, limit):
    response = client.get("/v1/remittances", params={"limit": limit}, headers=poster)
    error = assert_error(response, 422, "invalid_request")
    assert error["details"][0]["loc"] == ["query", "limit"]


def test_detail_holds_claims_lines_and_results(client, poster):
    created = _upload(client, poster, era(claims=2)).json()
    detail = client.get(f"/v1/remittances/{created['id']}", headers=poster)
    assert detail.status_code == 200, detail.text
    text = json.dumps(detail.json())
    assert created["id"] in text
    assert "PA000001" in text
    assert "PA000002" in text


def test_unknown_and_malformed_ids(client, poster):
    assert_error(
        client.get("/v1/remittances/6b1f0e52-0000-4000-8000-000000000000", headers=poster),
        404,
        "not_found",
    )
    error = assert_error(client.get("/v1/remittances/nope", headers=poster), 422)
    assert error["details"][0]["loc"] == ["path", "file_id"]


# ------------------------------------------------------------------------ delete


def test_admin_deletes_a_file_and_all_it_stored(client, admin, session):
    created = _upload(client, admin, era(claims=2)).json()
    response = client.delete(f"/v1/remittances/{created['id']}", headers=admin)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert _count(session, EraFile) == 0
    assert _count(session, ClaimPayment) == 0
    assert_error(client.get(f"/v1/remittances/{created['id']}", headers=admin), 404)
    assert_error(client.delete(f"/v1/remittances/{created['id']}", headers=admin), 404)
