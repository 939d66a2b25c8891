"""SQL for API keys and idempotency records (the only place access touches tables)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from psycopg import RawCursor
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from app.db.models import ApiKey, IdempotencyRecord


def add_key(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key


def key_by_prefix(session: Session, prefix: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()


class KeyRow(NamedTuple):
    """What authenticating needs of a key."""

    id: uuid.UUID
    name: str
    role: str
    key_hash: str
    practices: list[str]
    revoked_at: datetime | None
    last_used_at: datetime | None


# built once: the key look-up is on every request's path, and building the statement
# and its cache key again each time cost more than running it
_KEY_FOR_AUTHENTICATION = select(
    ApiKey.id,
    ApiKey.name,
    ApiKey.role,
    ApiKey.key_hash,
    ApiKey.practices,
    ApiKey.revoked_at,
    ApiKey.last_used_at,
).where(ApiKey.prefix == bindparam("prefix"))
# the same, as text for a raw psycopg cursor
_KEY_FOR_AUTHENTICATION_PG = (
    "SELECT id, name, role, key_hash, practices, revoked_at, last_used_at "
    "FROM api_keys WHERE prefix = $1"
)


def key_for_authentication(session: Session, prefix: str) -> KeyRow | None:
    """What authenticating needs of the key with this prefix, as a row (no ORM
    object). On PostgreSQL it is the request's first statement, sent in a psycopg
    pipeline so that the transaction's BEGIN goes in the same round trip."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        row = session.execute(_KEY_FOR_AUTHENTICATION, {"prefix": prefix}).one_or_none()
        return None if row is None else KeyRow(*row)
    driver: Any = session.connection().connection.driver_connection
    try:
        with RawCursor(driver) as cursor:
            with driver.pipeline():
                cursor.execute(_KEY_FOR_AUTHENTICATION_PG, [prefix])
            found = cursor.fetchone()
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            _KEY_FOR_AUTHENTICATION_PG, None, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc
    if found is None:
        return None
    key_id, name, role, key_hash, practices, revoked_at, last_used_at = found
    if isinstance(practices, str):  # JSON text, where the driver does not load it
        practices = json.loads(practices)
    return KeyRow(
        key_id, name, role, key_hash, list(practices or []), _utc(revoked_at), _utc(last_used_at)
    )


def _utc(stamp: datetime | None) -> datetime | None:
    """As ``UTCDateTime`` reads a stamp."""
    return stamp.replace(tzinfo=UTC) if stamp is not None and stamp.tzinfo is None else stamp


def key_by_id(session: Session, key_id: uuid.UUID) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def all_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()


def count_keys(session: Session, *, active_only: bool = False) -> int:
    query = select(func.count()).select_from(ApiKey)
    if active_only:
        query = query.where(ApiKey.revoked_at.is_(None))
    return int(session.scalar(query) or 0)


def touch_key(session: Session, key_id: uuid.UUID, at: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))


def idempotency_record(
    session: Session, api_key_id: uuid.UUID, idempotency_key: str
) -> IdempotencyRecord | None:
    return session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id,
            IdempotencyRecord.idempotency_key == idempotency_key,
        )
    ).one_or_none()


def add_idempotency_record(session: Session, record: IdempotencyRecord) -> bool:
    """Insert in a savepoint; False when another request stored the same key first."""
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return False
    return True


def delete_idempotency_record(session: Session, record_id: uuid.UUID) -> None:
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
