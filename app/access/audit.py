"""The audit log: every change and every read of patient-bearing data, with who and
when. Entries hold ids and counts only, never PHI."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.access.schemas import Actor
from app.db.models import AuditEntry


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
