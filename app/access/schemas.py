"""The acting principal, passed from the faces to the services.

Roles (spec/interfaces.md): ``admin`` (all), ``finance`` (everything but contracts
and keys), ``poster`` and ``clearinghouse`` (upload, files, variances). A key may be
limited to practices (payee NPI, else TIN); ``practices`` empty means all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class Role(StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    POSTER = "poster"
    CLEARINGHOUSE = "clearinghouse"


@dataclass(slots=True, frozen=True)
class Actor:
    """A key (or the local command line, ``key_id`` None) acting on the data."""

    name: str
    role: Role
    key_id: uuid.UUID | None = None
    practices: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_scoped(self) -> bool:
        return bool(self.practices)

    def may_see(self, practice_key: str | None) -> bool:
        return not self.practices or (practice_key is not None and practice_key in self.practices)

    def scope(self) -> frozenset[str] | None:
        """The practices this actor is limited to, or None for all (for queries)."""
        return self.practices or None

    def allows(self, roles: Iterable[Role]) -> bool:
        return self.role == Role.ADMIN or self.role in set(roles)


# The command line acts with full rights as the local operator.
CLI_ACTOR = Actor(name="command line", role=Role.ADMIN)


# --------------------------------------------------------------------- key listing


class ApiKeyRead(BaseModel):
    """An API key as listed (``keys list``): never the secret nor its hash."""

    id: str
    name: str
    role: Role
    prefix: str
    practices: list[str]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
