"""API keys and idempotency records over the real database (app/access/service.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.access import service
from app.access.keys import key_pepper
from app.access.schemas import Actor, Role
from app.db.models import ApiKey, AuditEntry, IdempotencyRecord
from app.errors import Conflict, InvalidInput, NotFound

PEPPER = key_pepper("test pepper")


@pytest.mark.parametrize("role", list(Role))
def test_create_and_authenticate(session, role):
    key, secret = service.create_key(
        session, role=role, name="Pat at the front desk", practices=["1326048597"], pepper=PEPPER
    )
    actor = service.authenticate(session, secret=secret, pepper=PEPPER)
    assert actor == Actor(
        name="Pat at the front desk",
        role=role,
        key_id=key.id,
        practices=frozenset({"1326048597"}),
    )


def test_only_a_keyed_hash_is_stored(session):
    key, secret = service.create_key(session, role=Role.ADMIN, pepper=PEPPER)
    random_part = secret.split("_", 2)[2]
    session.expire_all()
    rows = session.execute(text("SELECT * FROM api_keys")).mappings().all()
    assert len(rows) == 1
    for value in rows[0].values():
        assert random_part not in str(value)
        assert secret not in str(value)
    stored = session.get(ApiKey, key.id)
    assert stored is not None
    assert stored.key_hash != secret
    assert len(stored.key_hash) == 64
    assert stored.prefix == secret.split("_")[1]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # last character changed
        lambda s: s + "x",
        lambda s: s.replace("er_", "xx_"),
        lambda s: "er_000000000000_" + s.split("_", 2)[2],  # unknown prefix
        lambda s: "",
        lambda s: "not a key",
    ],
)
def test_wrong_secrets_fail(session, mangle):
    _key, secret = service.create_key(session, role=Role.FINANCE, pepper=PEPPER)
    assert service.authenticate(session, secret=mangle(secret), pepper=PEPPER) is None


def test_another_pepper_fails(session):
    _key, secret = service.create_key(session, role=Role.FINANCE, pepper=PEPPER)
    assert service.authenticate(session, secret=secret, pepper=key_pepper("other")) is None


def test_revoked_keys_fail_and_revoking_is_audited(session):
    key, secret = service.create_key(session, role=Role.POSTER, pepper=PEPPER)
    read = service.revoke_key(session, key_ref=str(key.id))
    assert read.revoked_at is not None
    assert service.authenticate(session, secret=secret, pepper=PEPPER) is None
    assert service.actor_for_key_id(session, key_id=key.id) is None
    # revoking twice changes nothing
    again = service.revoke_key(session, key_ref=key.prefix)
    assert again.revoked_at == read.revoked_at
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(key.id))
    ).all()
    assert sorted(actions) == ["keys.create", "keys.revoke"]


def test_audit_entries_hold_no_secret(session):
    _key, secret = service.create_key(session, role=Role.ADMIN, name="ops", pepper=PEPPER)
    for entry in session.scalars(select(AuditEntry)).all():
        assert secret.split("_", 2)[2] not in str(entry.details)


@pytest.mark.parametrize("ref", ["nope", str(uuid.uuid4()), "000000000000"])
def test_revoke_unknown_key(session, ref):
    with pytest.raises(NotFound):
        service.revoke_key(session, key_ref=ref)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "owner"}, "unknown role"),
        ({"role": "poster", "practices": ["12345"]}, "10-digit NPI"),
        ({"role": "poster", "practices": ["1326048597", "abc"]}, "'abc'"),
        ({"role": "poster", "name": "x" * 121}, "longer than 120"),
    ],
)
def test_invalid_key_requests(session, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        service.create_key(session, pepper=PEPPER, **kwargs)
    assert session.scalar(select(ApiKey.id)) is None


def test_names_default_and_practices_are_normalised(session):
    key, _ = service.create_key(
        session, role="clearinghouse", practices=[" 830000001", "1326048597", "830000001"]
    )
    assert key.name == "clearinghouse key"
    assert key.practices == ["1326048597", "830000001"]


def test_last_used_is_written_at_most_hourly(session):
    key, secret = service.create_key(session, role=Role.FINANCE, pepper=PEPPER)
    t0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    service.authenticate(session, secret=secret, pepper=PEPPER, now=t0)
    session.expire_all()
    assert session.get(ApiKey, key.id).last_used_at == t0
    service.authenticate(session, secret=secret, pepper=PEPPER, now=t0 + timedelta(minutes=59))
    session.expire_all()
    assert session.get(ApiKey, key.id).last_used_at == t0
    later = t0 + timedelta(hours=1)
    service.authenticate(session, secret=secret, pepper=PEPPER, now=later)
    session.expire_all()
    assert session.get(ApiKey, key.id).last_used_at == later


def test_list_keys_shows_no_secret(session):
    _k1, s1 = service.create_key(session, role=Role.ADMIN, name="a", pepper=PEPPER)
    _k2, s2 = service.create_key(session, role=Role.POSTER, name="b", pepper=PEPPER)
    listed = service.list_keys(session)
    assert [k.name for k in listed] == ["a", "b"]
    dumped = str([k.model_dump() for k in listed])
    assert s1 not in dumped
    assert s2 not in dumped
    assert "key_hash" not in dumped


def test_first_admin_key_only_on_an_empty_table(session):
    secret = service.ensure_first_admin_key(session, pepper=PEPPER)
    assert secret is not None
    actor = service.authenticate(session, secret=secret, pepper=PEPPER)
    assert actor is not None
    assert actor.role == Role.ADMIN
    assert service.ensure_first_admin_key(session, pepper=PEPPER) is None
    # a table of revoked keys is not empty: the operator revoked them on purpose
    service.revoke_key(session, key_ref=str(actor.key_id))
    assert service.ensure_first_admin_key(session, pepper=PEPPER) is None


def test_actor_for_key_id(session):
    key, _ = service.create_key(session, role=Role.FINANCE, pepper=PEPPER)
    assert service.actor_for_key_id(session, key_id=str(key.id)).key_id == key.id
    assert service.actor_for_key_id(session, key_id="garbage") is None
    assert service.actor_for_key_id(session, key_id=uuid.uuid4()) is None


# ----------------------------------------------------------------------- idempotency


def _remember(session, actor, key="k1", request_hash="h1", path="/v1/remittances"):
    service.remember_response(
        session,
        actor=actor,
        idempotency_key=key,
        method="POST",
        path=path,
        request_hash=request_hash,
        response=service.StoredResponse(201, b'{"id": "1"}', "application/json"),
    )


def _recall(session, actor, key="k1", request_hash="h1", path="/v1/remittances", now=None):
    return service.recall_response(
        session,
        actor=actor,
        idempotency_key=key,
        method="POST",
        path=path,
        request_hash=request_hash,
        now=now,
    )


def _actor(session, role=Role.POSTER):
    key, _ = service.create_key(session, role=role, pepper=PEPPER)
    return service.to_actor(key)


def test_idempotent_replay_per_key(session):
    actor, other = _actor(session), _actor(session)
    assert _recall(session, actor) is None
    _remember(session, actor)
    stored = _recall(session, actor)
    assert stored == service.StoredResponse(201, b'{"id": "1"}', "application/json")
    # another API key's same Idempotency-Key is its own
    assert _recall(session, other) is None


@pytest.mark.parametrize(
    "change", [{"request_hash": "h2"}, {"path": "/v1/contracts"}], ids=["body", "path"]
)
def test_idempotency_key_reused_for_another_request(session, change):
    actor = _actor(session)
    _remember(session, actor)
    with pytest.raises(Conflict, match="Idempotency-Key"):
        _recall(session, actor, **change)


def test_concurrent_second_store_is_a_conflict(session):
    actor = _actor(session)
    _remember(session, actor)
    with pytest.raises(Conflict):
        _remember(session, actor)
    # the first record survives the failed insert (savepoint)
    assert session.scalar(select(IdempotencyRecord.status_code)) == 201


def test_idempotency_records_expire(session):
    actor = _actor(session)
    _remember(session, actor)
    later = datetime.now(UTC) + service.IDEMPOTENCY_TTL + timedelta(minutes=1)
    assert _recall(session, actor, request_hash="other", now=later) is None
    assert session.scalar(select(IdempotencyRecord.id)) is None


def test_cli_actor_has_no_idempotency(session):
    from app.access.schemas import CLI_ACTOR

    _remember(session, CLI_ACTOR)
    assert _recall(session, CLI_ACTOR) is None
    assert session.scalar(select(IdempotencyRecord.id)) is None


def test_the_key_look_up_reads_what_the_orm_reads(session):
    # authenticate reads the key as a row (on PostgreSQL through a raw pipelined
    # cursor): the same values as the ORM object
    from app.access import repository

    key, _secret = service.create_key(
        session, role=Role.POSTER, name="poster", practices=["1326048597"]
    )
    used = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    repository.touch_key(session, key.id, used)
    session.flush()
    session.expire_all()
    stored = repository.key_by_prefix(session, key.prefix)
    assert stored is not None

    row = repository.key_for_authentication(session, key.prefix)

    assert row == (
        stored.id,
        "poster",
        "poster",
        stored.key_hash,
        ["1326048597"],
        None,
        used,
    )
    assert row.last_used_at is not None
    assert row.last_used_at.utcoffset() == timedelta(0)
    assert repository.key_for_authentication(session, "0" * 12) is None
