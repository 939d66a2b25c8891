"""``/healthz`` (liveness) and ``/readyz`` (readiness: the database answers). The only
routes answering without an API key (spec/interfaces.md)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.api.errors import ErrorResponse, error_response
from app.db import session as db_session

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = "ok"


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health()


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": ErrorResponse, "description": "database unavailable"}},
)
def readyz() -> Health | JSONResponse:
    """Readiness: the database answers."""
    try:
        with db_session.SessionLocal() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # adapter edge: any database failure means not ready
        return error_response(503, "not_ready", "database unavailable")
    return Health()
