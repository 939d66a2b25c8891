"""``Idempotency-Key`` on POST routes (spec/interfaces.md): a retry with the same key
and the same request answers the first answer again (status and body), stored per
API key in ``idempotency_records``; the same key with another request answers 409.

The request is fingerprinted by what it means, not its bytes on the wire: an upload
by its file's content and name (a multipart boundary differs on every retry), a JSON
POST by its path and canonical JSON body (``idempotent_json``). Only successful
answers are stored: an error rolls the whole unit of work back, so a retry simply
tries again. Records are replayed for ``IDEMPOTENCY_TTL`` (24 hours).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.access import service as access
from app.access.schemas import Actor

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Any unique string (a UUID): a retry with the same key and request "
        "answers the first answer again; the same key with another request answers 409.",
    ),
]

REPLAY_HEADER = "Idempotency-Replayed"


def fingerprint(*parts: bytes | str | None) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = b"" if part is None else part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def json_fingerprint(request: Request, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return fingerprint(request.url.path, str(request.query_params), canonical)


def idempotent(
    session: Session,
    *,
    request: Request,
    actor: Actor,
    key: str | None,
    request_hash: str,
    answer: Callable[[], Response],
) -> Response:
    """``answer()``, or the stored first answer of this Idempotency-Key."""
    if key is None:
        return answer()
    method, path = request.method, request.url.path
    stored = access.recall_response(
        session,
        actor=actor,
        idempotency_key=key,
        method=method,
        path=path,
        request_hash=request_hash,
    )
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type=stored.media_type,
            headers={REPLAY_HEADER: "true"},
        )
    response = answer()
    access.remember_response(
        session,
        actor=actor,
        idempotency_key=key,
        response=access.StoredResponse(
            response.status_code, bytes(response.body), response.media_type or "application/json"
        ),
        method=method,
        path=path,
        request_hash=request_hash,
    )
    return response


def idempotent_json(
    session: Session,
    *,
    request: Request,
    actor: Actor,
    key: str | None,
    body: BaseModel | None,
    produce: Callable[[], BaseModel],
) -> Response:
    """A JSON POST under ``idempotent``: fingerprinted by its path, query and ``body``;
    answers ``produce()``'s model as JSON (200), or the stored first answer."""
    payload = None if body is None else body.model_dump(mode="json")
    return idempotent(
        session,
        request=request,
        actor=actor,
        key=key,
        request_hash=json_fingerprint(request, payload),
        answer=lambda: JSONResponse(produce().model_dump(mode="json")),
    )
