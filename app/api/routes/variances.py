"""``/v1/variances``: the pricing result of every service line, filtered and paged;
``POST /v1/variances/{id}/outcome`` records a dispute outcome for one result.

spec/interfaces.md ("PricingResult", the routes table): any role reads; finance (and
admin) record outcomes. Without ``all=true`` the list leaves ``matched`` lines out.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.api.deps import CurrentUser, FinanceUser, SessionDep
from app.api.errors import errors
from app.api.idempotency import IdempotencyKey, idempotent_json
from app.api.pagination import DEFAULT_LIMIT, CursorParam, LimitParam
from app.disputes import service as disputes
from app.disputes.schemas import Outcome
from app.reconciliation import queries
from app.reconciliation.schemas import Page, PricingResultRead

router = APIRouter(prefix="/v1/variances", tags=["variances"])

RESULT_EXAMPLE: dict[str, Any] = {
    "id": "0f6c1b9e-8a34-4d27-9d3e-5b2a1c7e8f90",
    "remittance_id": "1c0d6f0a-2b7e-4c55-9a11-0c7f2e8d4b3a",
    "file_id": "9b2f6a4e-5d1c-4f0e-8a7b-3c2d1e0f9a8b",
    "payer_id": "60054",
    "payer_name": "ACME HEALTH PLAN",
    "practice_npi": "1234567893",
    "claim_id": "PA1001",
    "payer_claim_number": "2026031500001",
    "patient_name": "DOE, JANE",
    "line_control_number": "L1",
    "service_date": "2026-03-02",
    "procedure": "64493",
    "modifiers": ["LT"],
    "units": "1",
    "billed_procedure": "64493",
    "charge": "900.00",
    "paid": "99.20",
    "actual_allowed": "124.00",
    "expected_allowed": "155.00",
    "variance": "31.00",
    "category": "mpr_overapplied",
    "disputable": True,
    "explanation": "second procedure reduced 60% where the contract says 50%",
    "payer_reduction_percent": "60.00",
    "contract_id": "acme-ppo-2026",
    "clause": "Section 4.2",
    "payment_date": "2026-03-20",
    "dispute_deadline": "2027-09-20",
    "status": "open",
    "expired": False,
    "recovered_amount": None,
    "carc": ["CO-59"],
    "rarc": [],
    "trace_number": "EFT12345",
    "packet_payer_id": "60054",
    "filed_packet_id": None,
}


class OutcomeCreate(BaseModel):
    """A dispute outcome: ``recovered`` (with the amount paid back, possibly partial),
    ``upheld`` (the payer keeps its reduction) or ``written_off``."""

    outcome: Outcome
    amount: Decimal | None = Field(
        default=None, description="Recovered amount (two decimals); only for `recovered`."
    )
    note: str | None = Field(default=None, max_length=2000)

    model_config = {
        "json_schema_extra": {"examples": [{"outcome": "recovered", "amount": "31.00"}]}
    }


@router.get(
    "",
    response_model=Page[PricingResultRead],
    summary="List pricing results",
    responses={
        200: {
            "description": "One page of pricing results",
            "content": {
                "application/json": {"example": {"items": [RESULT_EXAMPLE], "next_cursor": None}}
            },
        },
        **errors(),
    },
)
def list_variances(
    session: SessionDep,
    actor: CurrentUser,
    payer_id: Annotated[str | None, Query(max_length=80)] = None,
    category: Annotated[str | None, Query(max_length=30)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    date_from: Annotated[
        date | None, Query(alias="from", description="Payment date on or after.")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="Payment date on or before.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Search claim id, payer claim number, trace or patient name.",
        ),
    ] = None,
    include_all: Annotated[
        bool, Query(alias="all", description="Include `matched` (and every other) result.")
    ] = False,
    as_of: Annotated[date | None, Query(description="Decides `expired` (default today).")] = None,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[PricingResultRead]:
    page: Page[PricingResultRead] = queries.list_variances(
        session,
        actor=actor,
        payer_id=payer_id,
        category=category,
        status=status,
        date_from=date_from,
        date_to=date_to,
        q=q,
        include_all=include_all,
        cursor=cursor,
        limit=limit,
        as_of=as_of or date.today(),
    )
    return page


@router.post(
    "/{result_id}/outcome",
    response_model=PricingResultRead,
    summary="Record a dispute outcome for one result",
    responses=errors(400, 403, 404, 409),  # 400: a body that is not JSON
)
def record_outcome(
    request: Request,
    session: SessionDep,
    actor: FinanceUser,
    result_id: uuid.UUID,
    body: OutcomeCreate,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """open → written_off; disputed → recovered | upheld | written_off. Any other
    change answers 409."""

    return idempotent_json(
        session,
        request=request,
        actor=actor,
        key=idempotency_key,
        body=body,
        produce=lambda: disputes.record_result_outcome(
            session,
            result_id=str(result_id),
            outcome=body.outcome,
            amount=body.amount,
            actor=actor,
            note=body.note,
        ),
    )
