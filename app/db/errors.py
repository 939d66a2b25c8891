"""Database errors the faces turn into plain messages."""

from __future__ import annotations

from app.errors import ReconError


class SchemaOutdated(ReconError):
    """The database schema is older than this release: run ``era-recon db upgrade``."""

    code = "schema_outdated"
