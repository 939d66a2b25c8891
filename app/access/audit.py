"""The audit log: every change and every read of patient-bearing data, with who and
when. Entries hold ids and counts only, never PHI."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.access.schemas import Actor
from app.db.models import AuditEntry, new_id, utcnow


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_key_id=actor.key_id,
        actor_name=actor.name,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details or {},
    )
    session.add(entry)
    return entry


def entry_row(
    *,
    actor: Actor,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``audit_log`` row ``record`` would add, as values for a bulk insert (an
    ingest writes it in the same round trip as the file's rows)."""
    return {
        "id": new_id(),
        "at": utcnow(),
        "actor_key_id": actor.key_id,
        "actor_name": actor.name,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details or {},
    }
