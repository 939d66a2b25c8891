"""SQL for API keys and idempotency records (the only place access touches tables)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import ApiKey, IdempotencyRecord


def add_key(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key


def key_by_prefix(session: Session, prefix: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()


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


KeyRow = Row[uuid.UUID, str, str, str, list[str], datetime | None, datetime | None]


def key_for_authentication(session: Session, prefix: str) -> KeyRow | None:
    """What authenticating needs of the key with this prefix (id, name, role,
    key_hash, practices, revoked_at, last_used_at), as a row, not an ORM object."""
    return session.execute(_KEY_FOR_AUTHENTICATION, {"prefix": prefix}).one_or_none()


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
