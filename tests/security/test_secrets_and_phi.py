"""Keys stored as keyed hashes and compared in constant time; no patient name, member id
or raw segment in any log line or error answer; reads of patient data audited
(spec/interfaces.md "Authentication", "Errors"; SECURITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import keys as keys_module
from app.access.schemas import Role
from app.db import models
from app.reconciliation import queries as reconciliation
from app.web import security as web_security
from tests.security.conftest import AS_OF, KeyMaker, World, sign_in
from tests.support import FIXTURES, shared_path

# ------------------------------------------------------------------------- keys


def test_keys_are_stored_as_a_keyed_hash_only(
    session: Session, app: FastAPI, make_key: KeyMaker
) -> None:
    key = make_key(Role.FINANCE)
    row = session.get(models.ApiKey, key.id)
    assert row is not None
    expected = hmac.new(app.state.key_pepper, key.secret.encode(), hashlib.sha256).hexdigest()
    assert row.key_hash == expected
    random_part = key.secret.split("_", 2)[2]  # er_<prefix>_<random>; random may hold "_"
    for column in models.ApiKey.__table__.columns:
        value = str(getattr(row, column.key))
        assert random_part not in value, column.key
    # without the server's pepper the stored hash is not the plain SHA-256 of the key
    assert row.key_hash != hashlib.sha256(key.secret.encode()).hexdigest()


def test_api_and_web_compare_secrets_in_constant_time(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, make_key: KeyMaker
) -> None:
    calls: list[str] = []
    real = hmac.compare_digest

    def spy(a, b):  # type: ignore[no-untyped-def]
        calls.append(type(a).__name__)
        return real(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)
    key = make_key(Role.POSTER)
    assert client.get("/v1/variances", headers=key.headers).status_code == 200
    assert calls, "the API key was not compared with hmac.compare_digest"
    wrong = key.secret[:-4] + ("AAAA" if not key.secret.endswith("AAAA") else "BBBB")
    calls.clear()
    assert client.get("/v1/variances", headers={"Authorization": f"Bearer {wrong}"}).status_code
    assert calls, "a wrong key was not compared with hmac.compare_digest"
    calls.clear()
    assert web_security.hmac.compare_digest is spy  # the same module object
    sign_in(client, key.secret)  # the CSRF token of the sign-in form
    assert calls


# -------------------------------------------------------------------------- PHI

_NM1 = re.compile(r"NM1[^A-Za-z0-9](?:QC|IL)[^~\n]*")


def phi_of(data: bytes) -> set[str]:
    """Patient and insured names and member ids written in a file's NM1*QC / NM1*IL."""
    text = data.decode("utf-8", "replace")
    found: set[str] = set()
    for match in _NM1.finditer(text):
        segment = match.group(0)
        separator = segment[3]
        elements = segment.split(separator)
        last = elements[3] if len(elements) > 3 else ""
        first = elements[4] if len(elements) > 4 else ""
        member = elements[9] if len(elements) > 9 else ""
        for value in (f"{last}, {first}", member):
            value = value.strip(" ,")
            if len(value) >= 5 and not value.isdigit():
                found.add(value)
    return found


def upload_sources() -> list[Path]:
    corpus = shared_path("corpus", "835")
    examples = shared_path("spec", "examples")
    files = sorted(p for p in corpus.iterdir() if p.suffix not in (".tsv", ".md"))
    files += sorted(examples.glob("*.835"))
    files += sorted((FIXTURES / "era").glob("*.835"))
    return files


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_text:
            parts.append(record.exc_text)
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(str(record.exc_info[1]))
    return "\n".join(parts)


def test_no_phi_in_logs_or_error_answers(
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    client: TestClient,
    make_key: KeyMaker,
    world: World,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("", "era_recon", "app", "uvicorn", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    poster = make_key(Role.POSTER).headers
    finance = make_key(Role.FINANCE).headers
    phi: set[str] = set()
    answers: list[str] = []
    statuses: set[int] = set()
    for path in upload_sources():
        data = path.read_bytes()
        phi |= phi_of(data)
        answer = client.post(
            "/v1/remittances", content=data, params={"filename": "upload.835"}, headers=poster
        )
        statuses.add(answer.status_code)
        if answer.status_code >= 400:
            answers.append(answer.text)
    assert {201, 422} <= statuses  # accepted and rejected files both went through
    # errors of every kind: 404, 409 (Idempotency-Key reused), 422 (bad query, bad body)
    answers.append(client.get(f"/v1/remittances/{world.b.packet_id}", headers=poster).text)
    bad = (FIXTURES / "era" / "reject-claim-amount.835").read_bytes()
    first = client.post(
        "/v1/remittances", content=bad + b" ", headers={**poster, "Idempotency-Key": "k1"}
    )
    again = client.post(
        "/v1/remittances", content=bad + b"  ", headers={**poster, "Idempotency-Key": "k1"}
    )
    answers += [first.text, again.text]
    answers.append(client.get("/v1/variances", params={"from": "DOE, JANE"}, headers=poster).text)
    answers.append(
        client.post(
            f"/v1/variances/{world.a.result_ids[0]}/outcome",
            json={"outcome": "recovered", "amount": "ROE, RICHARD"},
            headers=finance,
        ).text
    )
    # exports of a packet (PHI inside the document, never in a log line)
    for fmt in ("pdf", "xlsx", "csv"):
        export = client.get(
            f"/v1/disputes/{world.a.packet_id}",
            params={"format": fmt, "as_of": AS_OF.isoformat()},
            headers=finance,
        )
        assert export.status_code == 200
    # a bug whose exception message holds patient data: 500, message and values kept out
    leaked = sorted(phi)[0]

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"row ({leaked}) violates something")

    monkeypatch.setattr(reconciliation, "list_files", broken)
    crash = client.get("/v1/remittances", headers=poster)
    assert crash.status_code == 500
    assert crash.json()["error"]["code"] == "internal"
    answers.append(crash.text)

    assert len(phi) > 20
    logs = all_log_text(caplog)
    assert "unexpected RuntimeError" in logs  # the bug was logged, without its message
    for value in phi:
        assert value not in logs, f"PHI in a log line: {value[:3]}…"
        for text in answers:
            assert value not in text, f"PHI in an error answer: {value[:3]}…"
    for text in answers:
        assert "Traceback" not in text
        assert "SELECT " not in text
        assert "NM1*" not in text
        assert "CLP*" not in text


def test_reads_of_patient_data_are_audited_with_key_and_time(
    session: Session, client: TestClient, make_key: KeyMaker, world: World
) -> None:
    key = make_key(Role.FINANCE)
    started = datetime.now(UTC) - timedelta(seconds=5)
    reads = [
        (f"/v1/remittances/{world.a.file_id}", {}, "files.read"),
        ("/v1/remittances", {}, "files.list"),
        ("/v1/variances", {}, "variances.read"),
        (f"/v1/disputes/{world.a.packet_id}", {"as_of": AS_OF.isoformat()}, None),
        (
            f"/v1/disputes/{world.a.packet_id}",
            {"format": "pdf", "as_of": AS_OF.isoformat()},
            "dispute_packet.export",
        ),
        (
            f"/v1/disputes/{world.a.packet_id}",
            {"format": "csv", "as_of": AS_OF.isoformat()},
            "dispute_packet.export",
        ),
    ]
    for path, params, _action in reads:
        assert client.get(path, params=params, headers=key.headers).status_code == 200
    session.expire_all()
    entries = session.scalars(
        select(models.AuditEntry).where(models.AuditEntry.actor_key_id == key.id)
    ).all()
    actions = [e.action for e in entries]
    for _path, _params, action in reads:
        if action is not None:
            assert action in actions
    assert actions.count("dispute_packet.export") == 2
    assert any(a.startswith("dispute_packet") and "export" not in a for a in actions)
    for entry in entries:
        assert entry.at >= started
        assert entry.actor_name == "security finance"
        assert world.a.npi not in str(entry.details)
