"""``/v1/contracts``: the loaded payer contracts (any role) and the upload of contract
files (admin): YAML files and the CSV fee schedules they name, as multipart file
parts, all validated together (spec/contracts.md "Validation"): any problem answers
422 with ``{file, line, message}`` details and stores nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from app.api.deps import AdminUser, CurrentUser, SessionDep, SettingsDep
from app.api.errors import errors
from app.api.idempotency import IdempotencyKey, fingerprint, idempotent
from app.api.uploads import MULTIPART, UploadedFile, media_type, read_files
from app.contracts import service
from app.contracts.schemas import ContractSummary, LoadReport
from app.errors import InvalidInput

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Contract YAML files and the CSV files they name, as file parts "
        "(any field name; the parts' file names are the names the YAML refers to).",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                }
            }
        },
    }
}


async def uploaded_contract_files(
    request: Request,
    _actor: AdminUser,  # authenticate and check the role before reading the body
    settings: SettingsDep,
) -> list[UploadedFile]:
    if media_type(request) != MULTIPART:
        raise InvalidInput("send contract files as multipart/form-data file parts")
    return await read_files(request, limit=settings.max_upload_mb * 1024 * 1024)


@router.get("", response_model=list[ContractSummary], summary="List contracts", responses=errors())
def list_contracts(session: SessionDep, actor: CurrentUser) -> list[ContractSummary]:
    """The contracts in force. A key limited to practices sees the contracts of its
    practices and those that name no practice (they apply to every practice)."""
    return service.list_contracts(session, actor=actor)


@router.post(
    "",
    response_model=LoadReport,
    summary="Upload contract files",
    responses=errors(403, 409, 413),
    openapi_extra=UPLOAD_BODY,
)
def upload_contracts(
    request: Request,
    session: SessionDep,
    actor: AdminUser,
    files: Annotated[list[UploadedFile], Depends(uploaded_contract_files)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Validate and store contract files: a new id is version 1, changed content a new
    version, identical content changes nothing."""
    if not files:
        raise InvalidInput("no contract files in the request")
    by_name: dict[str, bytes] = {}
    for item in files:
        name = item.filename or "contract.yaml"
        if name in by_name:
            raise InvalidInput(f"two files are named {name!r}")
        by_name[name] = item.data

    def answer() -> Response:
        report = service.load_documents(session, files=by_name, actor=actor)
        return JSONResponse(report.model_dump(mode="json"))

    parts: list[str | bytes] = []
    for name in sorted(by_name):
        parts += [name, by_name[name]]
    return idempotent(
        session,
        request=request,
        actor=actor,
        key=idempotency_key,
        request_hash=fingerprint("contracts", *parts),
        answer=answer,
    )
