"""Cursor pagination of the list routes (spec/interfaces.md: ``cursor``, ``limit``,
``next_cursor``). Cursors are opaque strings made by the services (keyset, never an
offset); ``limit`` is at most ``MAX_LIMIT``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

CursorParam = Annotated[
    str | None,
    Query(
        max_length=500,
        description="The `next_cursor` of the previous page; omit for the first page.",
    ),
]
LimitParam = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT}).")
]
