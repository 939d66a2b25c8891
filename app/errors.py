"""The root of era-recon's exception hierarchy.

    ReconError                      every error the product raises on purpose
    ├── x12.errors.X12Rejected      an 835 file cannot be read (located findings)
    ├── contracts.errors.ContractInvalid   contract files fail validation (file:line)
    ├── disputes.errors.DisputeError       a dispute transition is not allowed
    ├── db.errors.SchemaOutdated    the database needs ``era-recon db upgrade``
    ├── NotFound                    a requested object does not exist (or is not yours)
    └── Conflict                    the request conflicts with stored state

Each carries its data on attributes; the faces map classes to answers in one
table (``api/errors.py``) and never show a traceback, SQL or patient data.
"""

from __future__ import annotations

from typing import Any


class ReconError(Exception):
    """Base class. ``message`` is safe to show to a user (no PHI)."""

    code = "error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = details or []


class NotFound(ReconError):
    code = "not_found"


class Conflict(ReconError):
    code = "conflict"


class Forbidden(ReconError):
    code = "forbidden"


class InvalidInput(ReconError):
    code = "invalid_input"
