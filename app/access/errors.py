"""Access errors: a request without a valid key (401). A key with the wrong role is
``app.errors.Forbidden`` (403)."""

from __future__ import annotations

from app.errors import ReconError


class Unauthenticated(ReconError):
    """No API key, or one that is unknown or revoked."""

    code = "unauthenticated"
