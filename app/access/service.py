"""API keys and idempotent POSTs: create, list, revoke, authenticate; remember and
replay the first answer to a POST carrying an ``Idempotency-Key``.

spec/interfaces.md ("Authentication", "Idempotency-Key", the ``keys`` commands): one
key per person or system, a role, optionally limited to practices (payee NPI, else
TIN); keys are stored hashed (``keys.py``). Every change of a key is audited.
``authenticate`` is on every API request's hot path: one indexed lookup by prefix,
one HMAC, and a write of ``last_used_at`` at most once per ``TOUCH_INTERVAL``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from app.access import audit, keys, repository
from app.access.schemas import CLI_ACTOR, Actor, ApiKeyRead, Role
from app.config import get_settings
from app.db.models import ApiKey, IdempotencyRecord
from app.errors import Conflict, InvalidInput, NotFound

# last_used_at is informative (who still uses which key), so the hot path writes it
# at most hourly per key instead of on every request
TOUCH_INTERVAL = timedelta(hours=1)
# how long a POST's answer is replayed for its Idempotency-Key (a client's retries
# happen within minutes; a day leaves room for a queue that was down overnight)
IDEMPOTENCY_TTL = timedelta(hours=24)

_PRACTICE = re.compile(r"^\d{9,10}$")  # an NPI (10 digits) or a TIN (9 digits)


def default_pepper() -> bytes:
    """The pepper of the configured ``ERA_RECON_SECRET_KEY``, for callers that do not
    pass their own (the faces pass the one of the settings they were built with)."""
    return keys.key_pepper(get_settings().secret_key)


def to_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=str(key.id),
        name=key.name,
        role=Role(key.role),
        prefix=key.prefix,
        practices=list(key.practices),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


def to_actor(key: ApiKey) -> Actor:
    return Actor(
        name=key.name,
        role=Role(key.role),
        key_id=key.id,
        practices=frozenset(key.practices),
    )


def create_key(
    session: Session,
    *,
    role: Role | str,
    name: str | None = None,
    practices: Iterable[str] = (),
    actor: Actor = CLI_ACTOR,
    pepper: bytes | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its secret. The secret is returned once and never stored."""
    try:
        role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {role!r}: use one of {allowed}") from None
    scope = sorted({p.strip() for p in practices})
    bad = [p for p in scope if not _PRACTICE.match(p)]
    if bad:
        raise InvalidInput(
            f"practice must be a 10-digit NPI or a 9-digit TIN, not {', '.join(map(repr, bad))}"
        )
    label = (name or "").strip() or f"{role.value} key"
    if len(label) > 120:
        raise InvalidInput("name is longer than 120 characters")
    prefix, secret = keys.new_secret()
    key = repository.add_key(
        session,
        ApiKey(
            name=label,
            role=role.value,
            prefix=prefix,
            key_hash=keys.hash_secret(secret, pepper or default_pepper()),
            practices=scope,
        ),
    )
    audit.record(
        session,
        actor=actor,
        action="keys.create",
        object_type="api_key",
        object_id=str(key.id),
        details={"role": role.value, "practices": len(scope)},
    )
    return key, secret


def list_keys(session: Session) -> list[ApiKeyRead]:
    return [to_read(key) for key in repository.all_keys(session)]


def find_key(session: Session, *, key_ref: str) -> ApiKey:
    """A key by its id, or by its public prefix."""
    key: ApiKey | None = None
    try:
        key = repository.key_by_id(session, uuid.UUID(key_ref))
    except ValueError:
        key = repository.key_by_prefix(session, key_ref.strip().lower())
    if key is None:
        raise NotFound(f"no API key {key_ref!r}")
    return key


def revoke_key(
    session: Session,
    *,
    key_ref: str,
    actor: Actor = CLI_ACTOR,
    now: datetime | None = None,
) -> ApiKeyRead:
    """Revoke a key (by id or prefix); it fails authentication from now on. Revoking
    a revoked key changes nothing."""
    key = find_key(session, key_ref=key_ref)
    if key.revoked_at is None:
        key.revoked_at = now or datetime.now(UTC)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="keys.revoke",
            object_type="api_key",
            object_id=str(key.id),
        )
    return to_read(key)


def authenticate(
    session: Session,
    *,
    secret: str,
    pepper: bytes | None = None,
    now: datetime | None = None,
) -> Actor | None:
    """The actor of a valid, unrevoked key; None for anything else."""
    prefix = keys.parse_prefix(secret.strip())
    if prefix is None:
        return None
    key = repository.key_for_authentication(session, prefix)
    if key is None:
        return None
    if not keys.verify_secret(secret.strip(), key.key_hash, pepper or default_pepper()):
        return None
    if key.revoked_at is not None:
        return None
    now = now or datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_INTERVAL:
        repository.touch_key(session, key.id, now)
    return Actor(
        name=key.name, role=Role(key.role), key_id=key.id, practices=frozenset(key.practices)
    )


def actor_for_key_id(session: Session, *, key_id: uuid.UUID | str) -> Actor | None:
    """The actor of a key known by id (e.g. a signed web session holding the key id),
    or None when the key is unknown or revoked since."""
    try:
        ident = key_id if isinstance(key_id, uuid.UUID) else uuid.UUID(key_id)
    except ValueError:
        return None
    key = repository.key_by_id(session, ident)
    if key is None or key.revoked_at is not None:
        return None
    return to_actor(key)


def has_keys(session: Session) -> bool:
    return repository.count_keys(session) > 0


def ensure_first_admin_key(session: Session, *, pepper: bytes | None = None) -> str | None:
    """On an empty key table, create an admin key and return its secret (to be shown
    once); otherwise None. A table holding only revoked keys is not empty: the
    operator revoked them on purpose and creates new ones with ``keys create``."""
    if has_keys(session):
        return None
    _key, secret = create_key(session, role=Role.ADMIN, name="first admin", pepper=pepper)
    return secret


# ----------------------------------------------------------------------- idempotency


@dataclass(slots=True, frozen=True)
class StoredResponse:
    status_code: int
    body: bytes
    media_type: str


def recall_response(
    session: Session,
    *,
    actor: Actor,
    idempotency_key: str,
    method: str,
    path: str,
    request_hash: str,
    now: datetime | None = None,
) -> StoredResponse | None:
    """The first answer to this key's request, or None when the key is new (or its
    record has expired). The same key with another request raises ``Conflict``."""
    if actor.key_id is None:
        return None
    record = repository.idempotency_record(session, actor.key_id, idempotency_key)
    if record is None:
        return None
    now = now or datetime.now(UTC)
    if now - record.created_at > IDEMPOTENCY_TTL:
        repository.delete_idempotency_record(session, record.id)
        session.flush()
        return None
    if (record.method, record.path, record.request_hash) != (method, path, request_hash):
        raise Conflict(
            "this Idempotency-Key was already used with another request; "
            "use a new key for a new request"
        )
    return StoredResponse(record.status_code, record.response_body, record.media_type)


def remember_response(
    session: Session,
    *,
    actor: Actor,
    idempotency_key: str,
    method: str,
    path: str,
    request_hash: str,
    response: StoredResponse,
) -> None:
    """Store the first answer. A concurrent request with the same key that stored
    first makes the unique constraint fail here, and this request's unit of work
    rolls back (the client's next retry gets the stored answer)."""
    if actor.key_id is None:
        return
    stored = repository.add_idempotency_record(
        session,
        IdempotencyRecord(
            api_key_id=actor.key_id,
            idempotency_key=idempotency_key,
            method=method,
            path=path,
            request_hash=request_hash,
            status_code=response.status_code,
            response_body=response.body,
            media_type=response.media_type,
        ),
    )
    if not stored:
        raise Conflict(
            "another request with this Idempotency-Key was answered meanwhile; retry to get it"
        )
