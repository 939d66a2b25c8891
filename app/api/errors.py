"""Errors → HTTP answers: one table from error classes to status codes, and the one
error shape of spec/interfaces.md ("Errors"):
``{"error": {"code": "…", "message": "…", "details": [...]}}``.

The code is the class's ``code`` attribute (derived from the class, STYLE.md
"Errors"); the message is the error's own, written to be safe to show (no PHI);
``details`` carries located data, e.g. the rejected 835's
``{segment_number, segment, loop, element, code, message}``. FastAPI's request
validation errors and Starlette's HTTP errors (404 unknown route, 405) answer in the
same shape; a bug answers 500 ``internal`` with an error id and nothing else, and is
logged by class name and traceback frames only (an exception's message can hold SQL
parameters, i.e. patient data).

The web pages may set ``app.state.html_error_renderer`` (``(request, status, body,
headers) -> Response | None``) to render errors of their own pages as HTML.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.access.errors import Unauthenticated
from app.db.errors import SchemaOutdated
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, ReconError

logger = logging.getLogger("era_recon.api")


class PayloadTooLarge(ReconError):
    code = "payload_too_large"


class UnsupportedMediaType(ReconError):
    code = "unsupported_media_type"


# ------------------------------------------------------------------- the one table

STATUS_BY_ERROR: dict[type[ReconError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidInput: 422,
    SchemaOutdated: 503,
}


def _register_domain_errors() -> None:
    """Domain errors live in their packages; each is mapped here, in the one table."""
    try:
        from app.x12.errors import X12Rejected

        STATUS_BY_ERROR[X12Rejected] = 422
    except ImportError:  # pragma: no cover - the reader lands in its own commit
        pass
    try:
        from app.contracts.errors import ContractInvalid

        STATUS_BY_ERROR[ContractInvalid] = 422
    except ImportError:  # pragma: no cover
        pass
    try:
        from app.disputes.errors import DisputeTransitionError

        STATUS_BY_ERROR[DisputeTransitionError] = 409
    except ImportError:  # pragma: no cover
        pass


_register_domain_errors()


def status_for(error: ReconError) -> int:
    """The status of the nearest class in the error's MRO that the table names; an
    unnamed ReconError is the client's fault (400)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


# ------------------------------------------------------------------- the one shape


class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["remittance file 3f2c… not found"])
    details: list[dict[str, Any]] = Field(
        default_factory=list,
        examples=[
            [
                {
                    "segment_number": 14,
                    "segment": "CLP",
                    "loop": "2100",
                    "element": "CLP04",
                    "code": "invalid_amount",
                    "message": "CLP04 'ABC' is not a number",
                }
            ]
        ],
    )


class ErrorResponse(BaseModel):
    """Every error answer."""

    error: ErrorBody


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def _describe(status: int, text: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": text}


# OpenAPI: the error answers a route may give, merged into each route's ``responses``
ERROR_DOCS: dict[int, dict[str, Any]] = {
    400: _describe(400, "The request cannot be processed"),
    401: _describe(401, "No API key, or an unknown or revoked one"),
    403: _describe(403, "The key's role (or practice scope) does not allow this"),
    404: _describe(404, "No such object, or not one the key may see"),
    409: _describe(409, "Conflicts with stored state, or an Idempotency-Key reused"),
    413: _describe(413, "The upload is larger than ERA_RECON_MAX_UPLOAD_MB"),
    415: _describe(415, "The body's media type is not accepted here"),
    422: _describe(422, "Invalid input: located problems in `details`"),
    503: _describe(503, "The database schema needs `era-recon db upgrade`"),
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route: 401 and 422 always, plus these."""
    return {code: ERROR_DOCS[code] for code in sorted({401, 422, *statuses})}


def _render(request: Request, status: int, response: JSONResponse) -> Response:
    renderer = getattr(request.app.state, "html_error_renderer", None)
    if renderer is not None:
        html: Response | None = renderer(request, status, response.body, dict(response.headers))
        if html is not None:
            return html
    return response


# ----------------------------------------------------------------------- handlers


async def recon_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ReconError)
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _render(
        request, status, error_response(status, exc.code, exc.message, exc.details, headers)
    )


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [
        # never echo ``input``: a request's values may be patient data
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "message": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    return _render(
        request, 422, error_response(422, "invalid_request", "the request is not valid", details)
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    if status == 404 and message == "Not Found":
        message = f"no route {request.url.path}"
    if status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    headers = dict(exc.headers or {})
    return _render(request, status, error_response(status, code, message, None, headers))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ReconError, recon_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)


# --------------------------------------------------------- unexpected exceptions

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class UnexpectedErrorMiddleware:
    """The adapter edge for bugs: answer 500 ``internal`` (when no answer has started)
    and log the class and the frames, never the message or a value."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # adapter edge: any bug becomes a bare 500
            error_id = uuid.uuid4().hex[:12]
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.error(
                "unexpected %s on %s %s (error id %s)\n%s",
                type(exc).__name__,
                scope.get("method", ""),
                _route_path(scope),
                error_id,
                frames,
            )
            if started:
                raise
            response = error_response(
                500,
                "internal",
                f"an unexpected error occurred (error id {error_id})",
            )
            await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "(unrouted)"
