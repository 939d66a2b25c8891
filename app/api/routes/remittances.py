"""``/v1/remittances``: upload an 835 file, list and read uploaded files, delete one.

spec/interfaces.md ("HTTP API", "File summary", "Errors"): the upload answers 201
with the File summary, 200 with the original's summary (``"duplicate": true``) for a
file already stored, 422 with located problems for an unreadable 835, 413 when it is
larger than ``ERA_RECON_MAX_UPLOAD_MB``. Each route calls one service of
``app.reconciliation.service``; the services apply the key's practice scope.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app.api.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, Uploader
from app.api.errors import errors
from app.api.idempotency import IdempotencyKey, fingerprint, idempotent
from app.api.pagination import DEFAULT_LIMIT, CursorParam, LimitParam
from app.api.uploads import UploadedFile, read_one_file
from app.reconciliation import queries, service
from app.reconciliation.schemas import FileListItem, FileResult, FileSummary, Page
from app.x12.errors import X12Rejected
from app.x12.schemas import Finding

router = APIRouter(prefix="/v1/remittances", tags=["remittances"])

SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": "9b2f6a4e-5d1c-4f0e-8a7b-3c2d1e0f9a8b",
    "duplicate": False,
    "claims": 3,
    "duplicates": 0,
    "lines": 7,
    "underpaid_total": "123.45",
    "categories": {"mpr_overapplied": "31.00", "fee_schedule_underpaid": "92.45"},
    "warnings": [],
    "remittances": [
        {
            "id": "1c0d6f0a-2b7e-4c55-9a11-0c7f2e8d4b3a",
            "payer": {"id": "60054", "name": "ACME HEALTH PLAN"},
            "payee": {"npi": "1234567893", "name": "BIG HORN INTERVENTIONAL PAIN"},
            "payment": {"amount": "1200.00", "date": "2026-03-20", "trace": "EFT12345"},
            "claims": 3,
            "underpaid_total": "123.45",
        }
    ],
}

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The 835 file: the raw bytes, or the multipart field `file`.",
        "content": {
            "application/edi-x12": {"schema": {"type": "string", "format": "binary"}},
            "text/plain": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


async def uploaded_835(
    request: Request,
    _actor: Uploader,  # authenticate and check the role before reading a byte of the body
    settings: SettingsDep,
    filename: Annotated[
        str | None,
        Query(max_length=255, description="The file's name, for a raw body (kept with it)."),
    ] = None,
) -> UploadedFile:
    return await read_one_file(
        request, limit=settings.max_upload_mb * 1024 * 1024, field="file", filename=filename
    )


@router.post(
    "",
    status_code=201,
    response_model=FileSummary,
    summary="Upload an 835 file",
    responses={
        201: {
            "description": "Stored, repriced: the File summary",
            "content": {"application/json": {"example": SUMMARY_EXAMPLE}},
        },
        200: {
            "model": FileSummary,
            "description": "A duplicate: the summary of the file first stored, with "
            '`"duplicate": true`; nothing new stored',
        },
        **errors(403, 409, 413, 415),
    },
    openapi_extra=UPLOAD_BODY,
)
def upload_remittance(
    request: Request,
    session: SessionDep,
    actor: Uploader,
    settings: SettingsDep,
    upload: Annotated[UploadedFile, Depends(uploaded_835)],
    background: BackgroundTasks,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Parse, store and reprice one 835 file. A key limited to practices may only
    upload files whose every remittance is for one of them (403 otherwise)."""

    def answer() -> Response:
        result = service.ingest_file(
            session,
            data=upload.data,
            filename=upload.filename,
            actor=actor,
            validate_inline_lines=settings.validate_inline_lines,
        )
        jobs = getattr(request.app.state, "jobs", None)
        pending = result.summary is not None and result.summary.validation_status == "pending"
        if jobs is not None and pending and result.status == "processed":
            # background tasks run after the answer, so after the session has committed
            background.add_task(jobs.validation_pending)
        return _file_answer(result)

    return idempotent(
        session,
        request=request,
        actor=actor,
        key=idempotency_key,
        request_hash=fingerprint("upload", upload.filename, upload.data),
        answer=answer,
    )


def _file_answer(result: FileResult) -> Response:
    if result.status == "rejected":
        findings = [
            Finding(
                message=str(e.get("message", "")),
                segment_number=e.get("segment_number"),
                segment=e.get("segment"),
                loop=e.get("loop"),
                element=e.get("element"),
                code=str(e.get("code", "invalid")),
            )
            for e in result.errors
        ]
        raise X12Rejected(findings)
    duplicate = result.status == "duplicate"
    summary = result.summary
    if summary is None:
        # a duplicate whose original file cannot be named (its claims came in
        # several earlier files): the counts of this upload, nothing stored
        body: dict[str, Any] = {
            "id": None,
            "duplicate": duplicate,
            "claims": result.claims,
            "duplicates": result.duplicates,
            "lines": result.lines,
            "underpaid_total": result.underpaid_total,
            "categories": {},
            "warnings": result.warnings,
            "remittances": [],
        }
        return JSONResponse(body, status_code=200 if duplicate else 201)
    summary = summary.model_copy(update={"duplicate": duplicate})
    return JSONResponse(
        summary.model_dump(mode="json"),
        status_code=200 if duplicate else 201,
        headers={"Location": f"/v1/remittances/{summary.id}"},
    )


@router.get(
    "",
    response_model=Page[FileListItem],
    summary="List uploaded files",
    responses=errors(),
)
def list_remittances(
    session: SessionDep,
    actor: CurrentUser,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Search claim id (CLP01), payer claim number (CLP07), trace "
            "(TRN02) or patient name.",
        ),
    ] = None,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[FileListItem]:
    """Uploaded files, newest first; cursor-paginated."""
    page: Page[FileListItem] = queries.list_files(
        session, actor=actor, q=q, cursor=cursor, limit=limit
    )
    return page


@router.get(
    "/{file_id}",
    response_model=dict[str, Any],
    summary="One uploaded file",
    responses={
        200: {
            "description": "The file with its remittances, claims, lines, adjustments, "
            "warnings and pricing results",
        },
        **errors(404),
    },
)
def get_remittance(
    session: SessionDep,
    actor: CurrentUser,
    file_id: uuid.UUID,
    as_of: Annotated[
        date | None, Query(description="Decides `expired` of the results (default today).")
    ] = None,
) -> dict[str, Any]:
    detail: dict[str, Any] = queries.file_detail(
        session, file_id=file_id, actor=actor, as_of=as_of or date.today()
    )
    return detail


@router.delete(
    "/{file_id}",
    status_code=204,
    summary="Delete an uploaded file",
    responses=errors(403, 404, 409),
)
def delete_remittance(session: SessionDep, actor: AdminUser, file_id: uuid.UUID) -> Response:
    """Remove a file and all it stored; refused (409) when a filed packet holds any of
    its results. Audited."""
    service.delete_file(session, file_id=file_id, actor=actor)
    return Response(status_code=204)
