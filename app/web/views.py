"""The web pages (spec/interfaces.md "Web pages"; docs/web.md): sign-in, the dashboard,
upload, files, variances, disputes and contracts, rendered on the server with Jinja2.

Each page parses its input, calls one application service (the same ones the API
and the CLI call) and renders the answer; none holds logic of its own. ``install``
mounts the pages, their static files and the session-cookie codec on the app.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as StarletteUploadFile

from app.access import keys
from app.access import service as access_service
from app.access.schemas import Actor
from app.api.errors import PayloadTooLarge
from app.api.uploads import read_form
from app.config import Settings
from app.contracts import service as contracts_service
from app.disputes import service as disputes_service
from app.errors import InvalidInput, ReconError
from app.reconciliation import queries as file_queries
from app.reconciliation import service as ingest_service
from app.reconciliation.schemas import FileResult
from app.web import charts
from app.web.pages import (
    ADMIN,
    EVERYONE,
    FINANCE,
    STATIC_DIR,
    PageRoute,
    SignInRequired,
    check_csrf,
    codec,
    current_actor,
    home_for,
    parse_uuid,
    redirect,
    render,
    safe_next,
    settings_of,
    today,
    unit_of_work,
    web_session,
)
from app.web.security import CSRF_FIELD, SessionCodec, WebSession
from app.x12.errors import X12Rejected

router = APIRouter(route_class=PageRoute, include_in_schema=False)

T = TypeVar("T")

CsrfField = Annotated[str, Form(alias=CSRF_FIELD)]

CATEGORIES = (
    "fee_schedule_underpaid",
    "mpr_overapplied",
    "exempt_reduced",
    "bilateral_underpaid",
    "bundled_incorrectly",
    "code_changed",
    "units_reduced",
    "matched",
    "denied",
    "overpaid",
    "secondary_payment",
    "no_contract",
    "no_rate",
    "reversed",
)
STATUSES = ("open", "disputed", "recovered", "upheld", "written_off")
OUTCOMES = ("recovered", "upheld", "written_off")
EXPORT_FORMATS = ("pdf", "xlsx", "csv")
PAGE_SIZE = 50


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the web pages on ``app``: the routes, ``/static`` and the cookie codec.

    The cookie is signed with a key derived from ``ERA_RECON_SECRET_KEY``; without one
    a random key per process is used, so a restart signs everyone out (set it in
    production, and always when running several workers)."""
    secret = settings.secret_key or secrets.token_urlsafe(32)
    signing_key = hmac.new(secret.encode(), b"era-recon web session v1", hashlib.sha256)
    app.state.web_codec = SessionCodec(signing_key.hexdigest(), secure=settings.secure_cookies)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(router)


# ----------------------------------------------------------------------- sign-in


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str | None = None) -> Response:
    cookie = web_session(request)
    if cookie is not None and cookie.key_id is not None:
        with unit_of_work() as session:
            try:
                actor = current_actor(request, session, roles=EVERYONE)
            except SignInRequired:
                actor = None
        if actor is not None:
            return redirect(safe_next(next) or home_for(actor))
    return render(request, "signin.html", {"next": safe_next(next) or ""})


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    csrf_token: CsrfField = "",
    key: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    with unit_of_work() as session:
        actor = (
            access_service.authenticate(session, secret=key.strip(), pepper=_pepper(request))
            if key.strip()
            else None
        )
    if actor is None or actor.key_id is None:
        return render(
            request,
            "signin.html",
            {"next": safe_next(next) or "", "failed": True},
            status_code=401,
        )
    cookie = web_session(request) or WebSession.anonymous()
    response = redirect(safe_next(next) or home_for(actor))
    codec(request).store(response, cookie.signed_in(actor.key_id))
    return response


@router.post("/signout")
def signout(request: Request, csrf_token: CsrfField = "") -> Response:
    check_csrf(request, csrf_token)
    response = redirect("/signin")
    codec(request).clear(response)
    return response


def _pepper(request: Request) -> bytes:
    pepper = getattr(request.app.state, "key_pepper", None)
    return pepper if isinstance(pepper, bytes) else keys.key_pepper(settings_of(request).secret_key)


# --------------------------------------------------------------------- dashboard


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:

    with unit_of_work() as session:
        actor = current_actor(request, session, roles=EVERYONE)
        if not actor.allows(FINANCE):
            return redirect(home_for(actor))
        as_of = today()
        board = disputes_service.dashboard(session, actor=actor, as_of=as_of)
        return render(request, "dashboard.html", {"board": board, **_dashboard_bars(board)})


PIPELINE_STAGES = ("open", "disputed", "recovered", "expired")


def _dashboard_bars(board: Any) -> dict[str, list[charts.Bar]]:
    def of(rows: Any) -> list[charts.Bar]:
        return charts.bars((row.label or row.key, Decimal(row.amount)) for row in rows)

    pipeline = board.pipeline
    return {
        "payer_bars": of(board.underpaid_by_payer),
        "category_bars": charts.bars(
            (charts.CATEGORY_SHORT.get(row.key, row.label), Decimal(row.amount))
            for row in board.underpaid_by_category
        ),
        "month_bars": of(board.underpaid_by_month),
        "pipeline_bars": charts.bars(
            (
                (stage.capitalize(), Decimal(getattr(pipeline, stage).amount))
                for stage in PIPELINE_STAGES
            ),
            css_classes={stage.capitalize(): stage for stage in PIPELINE_STAGES},
        ),
    }


# ------------------------------------------------------------------------ upload


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request) -> Response:
    with unit_of_work() as session:
        current_actor(request, session, roles=EVERYONE)
        return render(request, "upload.html", {"results": None})


# A form holds at most this many files; the whole body is bounded by that many files
# of ERA_RECON_MAX_UPLOAD_MB each (docs/web.md "Upload size").
MAX_FORM_FILES = 20


def _uploader(request: Request) -> Actor:
    """Signed in (any role), checked before a byte of the form is read."""
    with unit_of_work() as session:
        return current_actor(request, session, roles=EVERYONE)


async def _upload_form(
    request: Request, _actor: Annotated[Actor, Depends(_uploader)]
) -> AsyncIterator[FormData]:
    """The upload form, read under the bound as it streams (``app.api.uploads``)."""
    megabytes = settings_of(request).max_upload_mb
    bound = megabytes * MAX_FORM_FILES
    refusal = PayloadTooLarge(
        f"The upload is larger than {bound} MB in all: send at most {MAX_FORM_FILES} "
        f"files of up to {megabytes} MB each at a time."
    )
    form = await read_form(
        request,
        limit=bound * 1024 * 1024,
        max_files=MAX_FORM_FILES,
        max_fields=MAX_FORM_FILES + 10,
        refusal=refusal,
    )
    try:
        yield form
    finally:
        await form.close()


@router.post("/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    actor: Annotated[Actor, Depends(_uploader)],
    form: Annotated[FormData, Depends(_upload_form)],
) -> Response:

    token = form.get(CSRF_FIELD)
    check_csrf(request, token if isinstance(token, str) else None)
    settings = settings_of(request)
    limit = settings.max_upload_mb * 1024 * 1024
    # a form submitted with no file chosen sends an empty part, which arrives as text
    chosen = [
        upload
        for upload in form.getlist("files")
        if isinstance(upload, StarletteUploadFile) and (upload.filename or upload.size)
    ]
    if not chosen:
        return render(
            request,
            "upload.html",
            {"results": None, "problem": "Choose one or more ERA (835) files to upload."},
            status_code=422,
        )
    results: list[dict[str, Any]] = []
    as_of = today()
    for upload in chosen:
        # some browsers send the whole client path: keep the file's own name
        name = PurePosixPath((upload.filename or "").replace("\\", "/")).name or "upload.835"
        data = upload.file.read(limit + 1)
        if len(data) > limit:
            results.append(
                {
                    "file": name,
                    "status": "rejected",
                    "message": f"The file is larger than {settings.max_upload_mb} MB.",
                    "errors": [],
                }
            )
            continue
        # one unit of work per file (STYLE.md): a bad file never undoes a good one
        try:
            with unit_of_work() as session:
                outcome = ingest_service.ingest_file(
                    session,
                    data=data,
                    filename=name,
                    actor=actor,
                    validate_inline_lines=settings.validate_inline_lines,
                )
                results.append(_upload_result(session, outcome=outcome, actor=actor, as_of=as_of))
            summary = outcome.summary
            jobs = getattr(request.app.state, "jobs", None)
            if jobs is not None and summary is not None and summary.validation_status == "pending":
                jobs.validation_pending()  # committed: get a worker on its full validation
        except X12Rejected as exc:
            results.append(
                {
                    "file": name,
                    "status": "rejected",
                    "message": exc.message,
                    "errors": [finding.as_dict() for finding in exc.findings],
                }
            )
        except ReconError as exc:
            results.append(
                {"file": name, "status": "rejected", "message": exc.message, "errors": exc.details}
            )
    # 200 even when some files were rejected: the page reports each file's own outcome
    return render(request, "upload.html", {"results": results})


def _upload_result(
    session: Session, *, outcome: FileResult, actor: Actor, as_of: date
) -> dict[str, Any]:
    """One uploaded file as the page shows it: its summary and its underpaid lines
    (the disputable results of the file — of the original file for a duplicate)."""

    shown = outcome.public()
    shown["underpaid_lines"] = []
    if outcome.file_id:
        detail = file_queries.file_detail(
            session, file_id=outcome.file_id, actor=actor, as_of=as_of
        )
        shown["underpaid_lines"] = [
            line["pricing_result"]
            for remittance in detail["remittances"]
            for claim in remittance["claim_payments"]
            for line in claim["lines"]
            if line["pricing_result"] and line["pricing_result"]["disputable"]
        ]
    return shown


# ------------------------------------------------------------------------- files


@router.get("/files", response_class=HTMLResponse)
def files_page(
    request: Request,
    q: str | None = None,
    cursor: str | None = None,
) -> Response:

    with unit_of_work() as session:
        actor = current_actor(request, session, roles=EVERYONE)
        page = file_queries.list_files(
            session, actor=actor, q=q or None, cursor=cursor or None, limit=PAGE_SIZE
        )
        return render(request, "files.html", {"page": page, "q": q or ""})


# --------------------------------------------------------------------- variances


def _date(value: str | None, *, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{field} must be a date like 2026-03-20",
            details=[{"field": field, "message": "not a date"}],
        ) from None


@router.get("/variances", response_class=HTMLResponse)
def variances_page(
    request: Request,
    payer_id: str | None = None,
    category: str | None = None,
    status: str | None = None,
    date_from: Annotated[str | None, Query(alias="from")] = None,
    date_to: Annotated[str | None, Query(alias="to")] = None,
    q: str | None = None,
    all: bool = False,
    cursor: str | None = None,
    sort: str | None = None,
) -> Response:

    if category and category not in CATEGORIES:
        raise InvalidInput("unknown category", details=[{"field": "category"}])
    if status and status not in (*STATUSES, "expired"):
        raise InvalidInput("unknown status", details=[{"field": "status"}])
    start = _date(date_from, field="from")
    end = _date(date_to, field="to")
    with unit_of_work() as session:
        actor = current_actor(request, session, roles=EVERYONE)
        page = file_queries.list_variances(
            session,
            actor=actor,
            payer_id=payer_id or None,
            category=category or None,
            status=status or None,
            date_from=start,
            date_to=end,
            q=q or None,
            include_all=all,
            cursor=cursor or None,
            limit=PAGE_SIZE,
            as_of=today(),
        )
        filters = {
            "payer_id": payer_id or "",
            "category": category or "",
            "status": status or "",
            "from": date_from or "",
            "to": date_to or "",
            "q": q or "",
            "all": all,
        }
        items = list(page.items)
        sort_key = sort if sort in dict(SORTS) else "deadline"
        if sort_key != "deadline":
            items.sort(key=_SORT_KEYS[sort_key])
        next_href = None
        if page.next_cursor:
            kept = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
            next_href = "/variances?" + urlencode([*kept, ("cursor", page.next_cursor)])
        return render(
            request,
            "variances.html",
            {
                "items": items,
                "next_cursor": page.next_cursor,
                "next_href": next_href,
                "filters": filters,
                "categories": CATEGORIES,
                "statuses": STATUSES,
                "outcomes": OUTCOMES,
                "sorts": SORTS,
                "sort": sort_key,
                "can_record": actor.allows(FINANCE),
                "query": request.url.query,
            },
        )


# The list comes deadline first (the service's keyset order, the order that matters
# for disputes); other orders sort the page shown.
SORTS = (
    ("deadline", "deadline (soonest first)"),
    ("variance", "variance (largest first)"),
    ("payment_date", "payment date (newest first)"),
    ("service_date", "date of service (newest first)"),
    ("payer", "payer"),
)
_SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "variance": lambda v: -Decimal(v.variance or "0"),
    "payment_date": lambda v: -(v.payment_date or date.min).toordinal(),
    "service_date": lambda v: -(v.service_date or date.min).toordinal(),
    "payer": lambda v: ((v.payer_name or ""), v.payer_id or ""),
}


@router.post("/variances/{result_id}/outcome")
def variance_outcome(
    request: Request,
    result_id: str,
    csrf_token: CsrfField = "",
    outcome: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:

    _finance_form(
        request,
        csrf_token,
        lambda session, actor: disputes_service.record_result_outcome(
            session,
            result_id=parse_uuid(result_id, what="result"),
            outcome=_outcome(outcome),
            amount=_amount(amount, outcome=outcome),
            actor=actor,
            note=note.strip() or None,
            as_of=today(),
        ),
    )
    return redirect(safe_next(back) or "/variances")


def _finance_form(request: Request, csrf_token: str, act: Callable[[Session, Actor], T]) -> T:
    """A finance form's post: its CSRF token, then a finance (or admin) sign-in, then
    ``act`` in one unit of work, committed when it returns."""
    check_csrf(request, csrf_token)
    with unit_of_work() as session:
        return act(session, current_actor(request, session, roles=FINANCE))


def _outcome(value: str) -> Any:
    if value not in OUTCOMES:
        raise InvalidInput(
            "choose recovered, upheld or written off", details=[{"field": "outcome"}]
        )
    return value


def _amount(value: str, *, outcome: str) -> Decimal | None:
    text = value.strip().replace(",", "").removeprefix("$")
    if not text:
        if outcome == "recovered":
            raise InvalidInput(
                "a recovery needs the amount recovered", details=[{"field": "amount"}]
            )
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(
            "the amount must be a number like 123.45", details=[{"field": "amount"}]
        ) from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidInput("the amount must be in dollars and cents", details=[{"field": "amount"}])
    return amount


# ---------------------------------------------------------------------- disputes


@router.get("/disputes", response_class=HTMLResponse)
def disputes_page(
    request: Request, as_of: str | None = None, cursor: str | None = None
) -> Response:

    when = _date(as_of, field="as_of") or today()
    with unit_of_work() as session:
        actor = current_actor(request, session, roles=FINANCE)
        packets = disputes_service.list_packets(
            session, actor=actor, as_of=when, cursor=cursor or None, limit=PAGE_SIZE
        )
        return render(
            request,
            "disputes.html",
            {"packets": packets, "as_of": when, "formats": EXPORT_FORMATS, "outcomes": OUTCOMES},
        )


@router.get("/disputes/{packet_id}", response_class=HTMLResponse)
def packet_page(
    request: Request, packet_id: str, as_of: str | None = None, cursor: str | None = None
) -> Response:

    when = _date(as_of, field="as_of") or today()
    with unit_of_work() as session:
        actor = current_actor(request, session, roles=FINANCE)
        packet = disputes_service.get_packet(
            session,
            packet_id=parse_uuid(packet_id, what="packet"),
            actor=actor,
            as_of=when,
            cursor=cursor or None,
            limit=200,
        )
        return render(
            request,
            "packet.html",
            {"packet": packet, "as_of": when, "formats": EXPORT_FORMATS, "outcomes": OUTCOMES},
        )


@router.get("/disputes/{packet_id}/export/{fmt}")
def packet_export(request: Request, packet_id: str, fmt: str) -> Response:

    if fmt not in EXPORT_FORMATS:
        raise InvalidInput("export as pdf, xlsx or csv", details=[{"field": "format"}])
    with unit_of_work() as session:
        actor = current_actor(request, session, roles=FINANCE)
        content, media_type, filename = disputes_service.export_packet(
            session,
            packet_id=parse_uuid(packet_id, what="packet"),
            actor=actor,
            as_of=today(),
            format=fmt,
            contracts_path=settings_of(request).contracts_path,
        )
    response = Response(content, media_type=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.post("/disputes/{packet_id}/filed")
def packet_filed(request: Request, packet_id: str, csrf_token: CsrfField = "") -> Response:

    packet = _finance_form(
        request,
        csrf_token,
        lambda session, actor: disputes_service.file_packet(
            session, packet_id=parse_uuid(packet_id, what="packet"), actor=actor, as_of=today()
        ),
    )
    return redirect(f"/disputes/{packet.id}?filed=1")


@router.post("/disputes/{packet_id}/outcome")
def packet_outcome(
    request: Request,
    packet_id: str,
    csrf_token: CsrfField = "",
    outcome: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
) -> Response:

    _finance_form(
        request,
        csrf_token,
        lambda session, actor: disputes_service.record_packet_outcome(
            session,
            packet_id=parse_uuid(packet_id, what="packet"),
            outcome=_outcome(outcome),
            amount=_amount(amount, outcome=outcome),
            actor=actor,
            as_of=today(),
        ),
    )
    return redirect(f"/disputes/{packet_id}?recorded=1")


# --------------------------------------------------------------------- contracts


@router.get("/contracts", response_class=HTMLResponse)
def contracts_page(request: Request) -> Response:

    settings = settings_of(request)
    with unit_of_work() as session:
        actor = current_actor(request, session, roles=ADMIN)
        contracts = contracts_service.list_contracts(session, actor=actor)
    folder = settings.contracts_path
    problems = contracts_service.check_paths([folder]) if folder.exists() else []
    return render(
        request,
        "contracts.html",
        {"contracts": contracts, "problems": problems, "folder": str(folder)},
    )
