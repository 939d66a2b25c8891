"""What every API route depends on: the unit of work, the settings, the acting key.

``SessionDep`` opens one session per request, commits it when the route returns and
rolls it back when it raises (STYLE.md "Sessions and transactions"); it ends before
the answer is sent (``scope="function"``), so a failed commit is an error answer,
never a success that stored nothing. ``CurrentUser`` is the actor of the
``Authorization: Bearer <key>`` header (401 without a valid key); the role aliases
below add the checks of spec/interfaces.md (403 for another role).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.access import service as access
from app.access.errors import Unauthenticated
from app.access.keys import parse_prefix
from app.access.schemas import Actor, Role
from app.config import Settings
from app.db import session as db_session
from app.errors import Forbidden

logger = logging.getLogger("era_recon.api")


async def get_session() -> AsyncIterator[Session]:
    """The request's session. Opening one does no I/O (it connects on first use), so
    it opens here, on the event loop; it ends in one hand-over to the thread pool,
    where the commit or the rollback and the close block (a sync dependency would
    take a hand-over each way: ~0.2 ms of CPU each on a slow machine, four to an
    upload). The end is shielded: a cancelled request still gives its connection
    back."""
    session = db_session.SessionLocal()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_discard, session)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_keep, session)


def _keep(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _discard(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# The cheap dependencies are ``async def``: FastAPI runs a sync one in the thread
# pool, a hand-over to a thread and back for nothing that could block.
async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]

# auto_error=False: a missing header is our 401 in the one error shape, not FastAPI's
bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="er_<prefix>_<secret>",
    description="An API key made with `era-recon keys create` (docs/api.md).",
)


def current_actor(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("an API key is required: send 'Authorization: Bearer <key>'")
    pepper: bytes | None = getattr(request.app.state, "key_pepper", None)
    actor = access.authenticate(session, secret=credentials.credentials, pepper=pepper)
    if actor is None:
        # the prefix is the key's public id: safe to log, and what an operator needs
        prefix = parse_prefix(credentials.credentials.strip()) or "(malformed)"
        logger.info("API key refused: prefix %s on %s %s", prefix, request.method, request.url.path)
        raise Unauthenticated("the API key is unknown or revoked")
    request.state.actor = actor
    return actor


CurrentUser = Annotated[Actor, Depends(current_actor)]


def require(*roles: Role) -> object:
    """A dependency admitting ``admin`` and the given roles; 403 for any other."""
    names = ", ".join(["admin", *(r.value for r in roles)])

    async def check(actor: CurrentUser) -> Actor:
        if not actor.allows(roles):
            raise Forbidden(f"this needs one of the roles: {names}")
        return actor

    return Depends(check)


# the role aliases of spec/interfaces.md's routes table ("any" is CurrentUser)
Uploader = Annotated[Actor, require(Role.POSTER, Role.CLEARINGHOUSE, Role.FINANCE)]
FinanceUser = Annotated[Actor, require(Role.FINANCE)]
AdminUser = Annotated[Actor, require()]
