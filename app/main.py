"""``create_app(settings)``: the FastAPI application — the API's routers, the error
handlers, security headers, OpenAPI, the lifespan, and the web pages' mount point.

spec/interfaces.md ("HTTP API"); STYLE.md ("Errors", "Keep adapters thin").
"""

from __future__ import annotations

import gc
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from app import __version__
from app.access.keys import key_pepper
from app.api.errors import UnexpectedErrorMiddleware, install_error_handlers
from app.api.middleware import (
    RejectNulMiddleware,
    SecurityHeadersMiddleware,
    SpreadConnectionsMiddleware,
)
from app.api.routes import contracts, disputes, health, remittances, variances
from app.config import Settings, get_settings
from app.db import session as db_session
from app.db.migrate import ensure_schema
from app.jobs.queue import JobDispatcher
from app.reconciliation.prepare import warm_up
from app.x12.validation import load_maps

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Upload 835 remittances (ERA), see every service line repriced against the practice's
payer contracts, and work the dispute packets of the underpaid lines.

**Authentication**: every route but the health checks needs
`Authorization: Bearer <api key>` (make one with `era-recon keys create`).
Roles: `admin` (all), `finance` (all but contract upload and deletes),
`poster` and `clearinghouse` (upload, files, variances).

**Errors** answer `{"error": {"code", "message", "details"}}`.
**Idempotency**: a POST with an `Idempotency-Key` header can be retried safely.
"""

TAGS = [
    {"name": "remittances", "description": "835 files: upload, list, detail, delete."},
    {"name": "variances", "description": "The pricing result of every service line."},
    {"name": "disputes", "description": "Dispute packets per practice and payer, exports."},
    {"name": "contracts", "description": "Payer contracts: list, upload."},
    {"name": "health", "description": "Liveness and readiness (no key needed)."},
]

DOCS_URL = "/docs"
OPENAPI_URL = "/openapi.json"


def start_jobs() -> JobDispatcher | None:
    """The background work of this process (app/jobs/queue.py): on PostgreSQL a
    procrastinate client that defers jobs to ``era-recon worker`` processes, on SQLite
    the in-process worker thread. Only over an engine: a test that binds the sessions
    to its own connection gets none. A failure to start leaves the files pending for
    the workers' periodic sweep, never the API down."""
    bind = db_session.SessionLocal.kw.get("bind")
    if not isinstance(bind, Engine):
        return None
    jobs = JobDispatcher(bind.url.render_as_string(hide_password=False))
    try:
        jobs.start()
    except Exception:  # an adapter edge: the API serves without a job client
        logger.warning("background jobs could not be started; the workers' sweep will run them")
        return None
    return jobs


# young objects allocated between automatic collections of the youngest generation
# (Python's default: 700); a one-claim upload allocates a few thousand
GC_YOUNG_THRESHOLD = 10_000
_settled = False


def settle_process() -> None:
    """Once per process, as the app starts: load what every upload uses (pyx12's
    maps), then move everything the process holds so far — the imported modules,
    the maps, the settings — out of the cyclic garbage collector's way
    (``gc.freeze``): it all lives as long as the process, yet each full collection
    walked it, a pause of ~80 ms in the middle of some upload. And collect the
    youngest generation less often: with Python's default, a pass every ~700 new
    objects, the collector ran about once per upload. Measured with
    ``benchmarks/api_load.py`` (RESULTS.md): slowest of 2,000 uploads ~180–220 → 85–155 ms."""
    global _settled
    if _settled:
        return
    _settled = True
    load_maps()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        if db_session.SessionLocal.kw.get("bind") is None:
            ensure_schema(db_session.configure(settings.database_url))
        app_.state.jobs = start_jobs()
        warm_up()  # large uploads are read in a child of the fork server
        settle_process()
        try:
            yield
        finally:
            if app_.state.jobs is not None:
                app_.state.jobs.stop()
                app_.state.jobs = None

    app = FastAPI(
        title="era-recon",
        version=__version__,
        summary="Find and dispute payer underpayments in 835 remittances.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=DOCS_URL,
        redoc_url=None,
        openapi_url=OPENAPI_URL,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.key_pepper = key_pepper(settings.secret_key)

    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(remittances.router)
    app.include_router(variances.router)
    app.include_router(disputes.router)
    app.include_router(contracts.router)

    # ---- web pages (app/web): mounted here, in this one place --------------------
    # ``app.web.views.install(app, settings)`` adds the pages' router, their session
    # and CSRF handling and their HTML error rendering. Without the web package (an
    # API-only build) the API still starts.
    if importlib.util.find_spec("app.web.views") is not None:
        from app.web.views import install as install_web

        install_web(app, settings)
    # -------------------------------------------------------------------------------

    # outermost last: security headers also go on the 500 answer of a bug
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(
        SecurityHeadersMiddleware, docs_paths=frozenset({DOCS_URL, f"{DOCS_URL}/oauth2-redirect"})
    )
    if settings.workers > 1:  # outermost: counts every request of the process
        app.add_middleware(SpreadConnectionsMiddleware)
    return app
