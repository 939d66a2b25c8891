"""Ingests take turns only when they touch the same claims (PostgreSQL advisory
locks per bucket of claim keys); a large file, not pre-read, locks every bucket."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.reconciliation import repository
from app.reconciliation.service import PRE_READ_BYTES, _lock_keys
from benchmarks.gen835 import generate_835
from tests.reconciliation.builders import e2, era
from tests.reconciliation.conftest import Ingest


def test_a_small_file_locks_its_claims_and_traces() -> None:
    keys = _lock_keys(era([e2()], trace="T1"))
    assert keys is not None
    assert any(key.startswith("claim|") and key.endswith("|E2") for key in keys)
    assert any(key.startswith("trace|") and key.endswith("|T1") for key in keys)


def test_a_large_file_locks_every_bucket() -> None:
    data = generate_835(800)
    assert len(data) > PRE_READ_BYTES
    assert _lock_keys(data) is None


def test_an_unreadable_file_locks_nothing() -> None:
    assert _lock_keys(b"not an 835 at all") == []


def _try_lock(engine: Engine, bucket: int) -> bool:
    with engine.connect() as other, other.begin():
        got = other.execute(
            text("SELECT pg_try_advisory_xact_lock(:space, :bucket)"),
            {"space": repository.INGEST_LOCK, "bucket": bucket},
        ).scalar_one()
    return bool(got)


def test_only_the_same_claims_wait(engine: Engine, session: Session, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("advisory locks are PostgreSQL's; SQLite writers always take turns")
    key = "claim|55123|1326048597|E2"
    held = repository.lock_bucket(key)
    repository.lock_for_ingest(session, [key])
    assert not _try_lock(engine, held)  # a file with the same claim waits
    assert _try_lock(engine, (held + 1) % repository.INGEST_LOCK_BUCKETS)  # others go on


def test_every_bucket_for_a_large_file(engine: Engine, session: Session, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("advisory locks are PostgreSQL's; SQLite writers always take turns")
    repository.lock_for_ingest(session, None)
    assert not any(_try_lock(engine, b) for b in range(repository.INGEST_LOCK_BUCKETS))


def test_the_ingest_look_ups_hold_the_locks_and_see_the_stored(
    engine: Engine, session: Session, ingest: Ingest, is_postgres: bool
) -> None:
    # begin_ingest: the locks, the look-up by bytes and (PostgreSQL) the current
    # contract versions in one round trip; the same answers as one by one
    import hashlib

    from app.contracts.repository import current_version_ids

    data = era([e2()], trace="T-START")
    first = ingest(data)
    digest = hashlib.sha256(data).hexdigest()
    key = "claim|55123|1326048597|E2-START"

    start = repository.begin_ingest(session, [key], digest)

    assert start.stored is not None
    assert str(start.stored.id) == first.file_id
    stored = repository.file_by_hash(session, digest)
    assert (start.stored.id, start.stored.practice_keys) == (stored.id, list(stored.practice_keys))
    assert start.stored.practice_keys  # the practices of the file's remittances
    unknown = repository.begin_ingest(session, [key], "0" * 64)
    assert unknown.stored is None
    if is_postgres:
        assert start.contract_versions == current_version_ids(session)
        assert not _try_lock(engine, repository.lock_bucket(key))  # held until the end
    else:
        assert start.contract_versions is None  # read by current_index itself
