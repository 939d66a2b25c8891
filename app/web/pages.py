"""The plumbing every web page shares: templates, the unit of work, who is signed in,
role checks, and rendering errors as pages (docs/web.md).

``PageRoute`` wraps every page so that the product's errors (``ReconError``), bad
query strings and a missing sign-in become an HTML page in the spirit of the API's
error shape (a code, a plain message, details) — never a traceback, SQL or patient
data — and so that every answer carries the page security headers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from app.access import service as access_service
from app.access.schemas import Actor, Role
from app.api.errors import PayloadTooLarge
from app.config import Settings
from app.db import session as db_session
from app.db.errors import SchemaOutdated
from app.errors import Conflict, Forbidden, NotFound, ReconError
from app.web import charts
from app.web.security import (
    COOKIE_NAME,
    CSRF_FIELD,
    SessionCodec,
    WebSession,
    apply_page_headers,
    csrf_matches,
)

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["money"] = charts.format_money
templates.env.globals["CSRF_FIELD"] = CSRF_FIELD

# who sees which pages (spec/interfaces.md "Authentication"): posters and
# clearinghouses upload, list files and variances; finance everything but contracts
# and keys; admin everything
EVERYONE = (Role.ADMIN, Role.FINANCE, Role.POSTER, Role.CLEARINGHOUSE)
FINANCE = (Role.ADMIN, Role.FINANCE)
ADMIN = (Role.ADMIN,)


@dataclass(slots=True, frozen=True)
class NavItem:
    path: str
    label: str
    roles: tuple[Role, ...]


NAV = (
    NavItem("/", "Dashboard", FINANCE),
    NavItem("/upload", "Upload", EVERYONE),
    NavItem("/files", "Files", EVERYONE),
    NavItem("/variances", "Variances", EVERYONE),
    NavItem("/disputes", "Disputes", FINANCE),
    NavItem("/contracts", "Contracts", ADMIN),
)


class SignInRequired(Exception):
    """No valid session cookie: the page answers with the sign-in page."""


class CsrfRejected(Exception):
    """A POST without the session's CSRF token."""


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction per request (STYLE.md): committed when the page rendered,
    rolled back on any error."""
    with db_session.SessionLocal.begin() as session:
        yield session


def codec(request: Request) -> SessionCodec:
    value: SessionCodec = request.app.state.web_codec
    return value


def settings_of(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def web_session(request: Request) -> WebSession | None:
    return codec(request).loads(request.cookies.get(COOKIE_NAME))


def current_actor(request: Request, session: Session, *, roles: Sequence[Role]) -> Actor:
    """The signed-in actor, allowed one of ``roles``; raises SignInRequired or
    Forbidden. The key is read again on every request (revocation is immediate)."""
    cookie = web_session(request)
    if cookie is None or cookie.key_id is None:
        raise SignInRequired
    actor = access_service.actor_for_key_id(session, key_id=cookie.key_id)
    if actor is None:
        raise SignInRequired
    request.state.actor = actor
    request.state.web_session = cookie
    if not actor.allows(roles):
        raise Forbidden(f"the {actor.role.value} role cannot open this page")
    return actor


def check_csrf(request: Request, submitted: str | None) -> None:
    if not csrf_matches(web_session(request), submitted):
        raise CsrfRejected


def today() -> date:
    return date.today()


def home_for(actor: Actor) -> str:
    return "/" if actor.allows(FINANCE) else "/upload"


def nav_for(actor: Actor | None) -> list[NavItem]:
    if actor is None:
        return []
    return [item for item in NAV if actor.allows(item.roles)]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    actor: Actor | None = getattr(request.state, "actor", None)
    cookie: WebSession | None = getattr(request.state, "web_session", None)
    if cookie is None:
        cookie = web_session(request)
    new_cookie = cookie is None
    if cookie is None:
        cookie = WebSession.anonymous()
    values: dict[str, Any] = {
        "actor": actor,
        "nav": nav_for(actor),
        "csrf_token": cookie.csrf,
        "path": request.url.path,
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    if new_cookie:
        codec(request).store(response, cookie)
    return response


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def safe_next(value: str | None) -> str | None:
    """Only a path on this site (no scheme, no ``//host``) may be returned to."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value


def error_page(
    request: Request,
    *,
    status_code: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"error": {"code": code, "message": message, "details": details or []}},
        status_code=status_code,
    )


def _status_of(exc: ReconError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, PayloadTooLarge):
        return 413
    if isinstance(exc, SchemaOutdated):
        return 503
    return 422


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "query")
        details.append({"field": location, "message": str(error.get("msg", "invalid"))})
    return details


class PageRoute(APIRoute):
    """An HTML page: errors become error pages, every answer gets the page headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                response = redirect("/signin?next=" + quote(target, safe=""))
                if request.cookies.get(COOKIE_NAME):
                    codec(request).clear(response)
            except CsrfRejected:
                response = error_page(
                    request,
                    status_code=403,
                    code="csrf_failed",
                    message="This form has expired or did not come from era-recon. "
                    "Reload the page and try again.",
                )
            except ReconError as exc:
                response = error_page(
                    request,
                    status_code=_status_of(exc),
                    code=exc.code,
                    message=exc.message,
                    details=exc.details,
                )
            except RequestValidationError as exc:
                response = error_page(
                    request,
                    status_code=422,
                    code="invalid_input",
                    message="Some of the values in the address or form are not valid.",
                    details=_validation_details(exc),
                )
            except HTTPException as exc:
                response = error_page(
                    request,
                    status_code=exc.status_code,
                    code="http_error",
                    message=str(exc.detail),
                )
            except Exception as exc:  # adapter edge: a bug shows as a plain page
                # the class name only: messages of database errors carry row values (PHI)
                logger.error("web page %s failed: %s", request.url.path, type(exc).__name__)
                response = error_page(
                    request,
                    status_code=500,
                    code="internal",
                    message="Something went wrong on our side. The error has been logged.",
                )
            apply_page_headers(response)
            return response

        return page_handler


def parse_uuid(value: str, *, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no such {what}") from None
