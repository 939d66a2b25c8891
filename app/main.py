"""``create_app()``: the FastAPI application — routers, error handlers, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app import __version__
from app.config import Settings, get_settings
from app.db import session as db_session
from app.db.migrate import ensure_schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if db_session.SessionLocal.kw.get("bind") is None:
            ensure_schema(db_session.configure(settings.database_url))
        yield

    app = FastAPI(
        title="era-recon",
        version=__version__,
        summary="Find and dispute payer underpayments in 835 remittances.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "database down"}})
    def readyz() -> JSONResponse:
        """Readiness: the database answers."""
        try:
            with db_session.SessionLocal() as session:
                session.execute(text("SELECT 1"))
        except Exception:  # adapter edge: any database failure means not ready
            return JSONResponse(
                {"error": {"code": "not_ready", "message": "database unavailable", "details": []}},
                status_code=503,
            )
        return JSONResponse({"status": "ok"})

    return app
