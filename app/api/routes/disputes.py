"""``/v1/disputes``: dispute packets per practice and payer (finance and admin).

spec/interfaces.md ("Packet", the routes table), spec/disputes.md: the list gives
packet summaries without items and the expired total; ``/expired`` pages the expired
results; ``/{packet_id}`` is one packet with its items (JSON, paged) or its export
(``format=pdf|xlsx|csv``) as a download; ``/filed`` files an open packet;
``/outcome`` records the payer's answer for a filed packet's disputed lines.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.api.deps import FinanceUser, SessionDep, SettingsDep
from app.api.errors import errors
from app.api.idempotency import IdempotencyKey, idempotent_json
from app.api.pagination import DEFAULT_LIMIT, CursorParam, LimitParam
from app.disputes import service
from app.disputes.schemas import Outcome, Packet, PacketList, ResultPage

router = APIRouter(prefix="/v1/disputes", tags=["disputes"])

PACKET_EXAMPLE: dict[str, Any] = {
    "id": "6f1d2c3b-4a59-5e8f-9d0c-1b2a3c4d5e6f",
    "payer_id": "60054",
    "payer_name": "ACME HEALTH PLAN",
    "practice_npi": "1234567893",
    "lines": 12,
    "total": "1234.56",
    "earliest_deadline": "2026-12-10",
    "urgent": True,
    "status": "open",
    "filed_at": None,
    "follow_up_due": False,
    "by_category": {"mpr_overapplied": "31.00", "fee_schedule_underpaid": "1203.56"},
    "items": None,
}

EXPORT_TYPES = {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    },
    "text/csv": {"schema": {"type": "string"}},
}

AsOf = Annotated[
    date | None,
    Query(description="The day deadlines are judged on (default today)."),
]


class PacketOutcomeCreate(BaseModel):
    """The payer's answer for every line of a filed packet still disputed. A
    recovered amount is shared among the lines in proportion to their variances."""

    outcome: Outcome
    amount: Decimal | None = Field(
        default=None, description="The total recovered (two decimals); only for `recovered`."
    )
    note: str | None = Field(default=None, max_length=2000)

    model_config = {
        "json_schema_extra": {"examples": [{"outcome": "recovered", "amount": "1234.56"}]}
    }


def _as_of(value: date | None) -> date:
    return value or date.today()


@router.get(
    "",
    response_model=PacketList,
    summary="List dispute packets",
    responses={
        200: {
            "description": "Open and filed packets (no items) and the expired total",
            "content": {
                "application/json": {
                    "example": {
                        "as_of": "2026-11-27",
                        "packets": [PACKET_EXAMPLE],
                        "expired": {"lines": 2, "total": "88.00"},
                        "next_cursor": None,
                    }
                }
            },
        },
        **errors(403),
    },
)
def list_packets(
    session: SessionDep,
    actor: FinanceUser,
    as_of: AsOf = None,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> PacketList:
    """Every open packet and the newest filed ones on the first page; `next_cursor`
    pages on through the older filed packets (only those)."""
    packets: PacketList = service.list_packets(
        session, actor=actor, as_of=_as_of(as_of), cursor=cursor, limit=limit
    )
    return packets


@router.get(
    "/expired",
    response_model=ResultPage,
    summary="Expired results",
    responses=errors(403),
)
def list_expired(
    session: SessionDep,
    actor: FinanceUser,
    as_of: AsOf = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> ResultPage:
    """Open disputable results past their dispute deadline (never in a packet)."""
    page: ResultPage = service.list_expired(
        session, actor=actor, as_of=_as_of(as_of), cursor=cursor, limit=limit
    )
    return page


@router.get(
    "/{packet_id}",
    response_model=Packet,
    summary="One packet, or its export",
    responses={
        200: {
            "description": "The packet with its items (`format=json`, paged), or its "
            "letter (`pdf`), workbook (`xlsx`) or lines (`csv`) as a download",
            "content": {"application/json": {"example": PACKET_EXAMPLE}, **EXPORT_TYPES},
        },
        **errors(403, 404),
    },
)
def get_packet(
    session: SessionDep,
    actor: FinanceUser,
    settings: SettingsDep,
    packet_id: str,
    format: Literal["json", "pdf", "xlsx", "csv"] = "json",  # noqa: A002 - the query name
    as_of: AsOf = None,
    cursor: CursorParam = None,
    limit: LimitParam = 200,
) -> Response:
    day = _as_of(as_of)
    if format == "json":
        packet = service.get_packet(
            session, packet_id=packet_id, actor=actor, as_of=day, cursor=cursor, limit=limit
        )
        return JSONResponse(packet.model_dump(mode="json"))
    data, media_type, filename = service.export_packet(
        session,
        packet_id=packet_id,
        actor=actor,
        as_of=day,
        format=format,
        contracts_path=settings.contracts_path,
    )
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/{packet_id}/filed",
    response_model=Packet,
    summary="File an open packet",
    responses=errors(403, 404, 409),
)
def file_packet(
    request: Request,
    session: SessionDep,
    actor: FinanceUser,
    packet_id: str,
    as_of: AsOf = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Freeze the open packet's lines as filed today; answers the filed packet."""

    return idempotent_json(
        session,
        request=request,
        actor=actor,
        key=idempotency_key,
        body=None,
        produce=lambda: service.file_packet(
            session, packet_id=packet_id, actor=actor, as_of=_as_of(as_of)
        ),
    )


@router.post(
    "/{packet_id}/outcome",
    response_model=Packet,
    summary="Record the outcome of a filed packet",
    responses=errors(400, 403, 404, 409),  # 400: a body that is not JSON
)
def record_packet_outcome(
    request: Request,
    session: SessionDep,
    actor: FinanceUser,
    packet_id: str,
    body: PacketOutcomeCreate,
    as_of: AsOf = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return idempotent_json(
        session,
        request=request,
        actor=actor,
        key=idempotency_key,
        body=body,
        produce=lambda: service.record_packet_outcome(
            session,
            packet_id=packet_id,
            outcome=body.outcome,
            amount=body.amount,
            actor=actor,
            note=body.note,
            as_of=_as_of(as_of),
        ),
    )
