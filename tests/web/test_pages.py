"""The pages with data: upload of several files, the lists, the dispute actions, the
dashboard's SVG charts, practice scoping and the contracts page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR, Role
from app.contracts import service as contracts_service
from app.db.models import EraFile, PricingResult
from app.demo.samples import sample_files
from app.demo.service import load_demo
from app.disputes import service as disputes_service
from app.web import views
from app.web.views import MAX_FORM_FILES
from tests.api.test_remittances import CountingBody, asgi_post_raw
from tests.disputes.builders import AS_OF, filed_packets
from tests.web.conftest import Browser

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
BIG_HORN = "1326048597"
WIND_RIVER = "1487652301"


def _samples() -> dict[str, bytes]:
    return {sample.name: sample.data for sample in sample_files(today=date.today())}


@pytest.fixture
def contracts(session: Session) -> None:
    contracts_service.load_paths(session, paths=[CONTRACTS], actor=CLI_ACTOR)
    session.flush()


@pytest.fixture
def demo(session: Session) -> None:
    load_demo(
        session,
        contracts_path=CONTRACTS,
        actor=CLI_ACTOR,
        today=date.today(),
        validate_inline_lines=0,  # pyx12's full validation is not what these tests look at
    )
    session.flush()


def _upload(browser: Browser, files: list[tuple[str, bytes]]):
    return browser.client.post(
        "/upload",
        data={"csrf_token": browser.csrf()},
        files=[("files", (name, data, "application/edi-x12")) for name, data in files],
    )


def _sections(html: str) -> dict[str, str]:
    """Each file's result section by status, in page order."""
    found = re.findall(
        r'<section class="card file-result (\w+)" data-status="\w+">(.*?)</section>',
        html,
        flags=re.S,
    )
    return {f"{i}:{status}": body for i, (status, body) in enumerate(found)}


# -------------------------------------------------------------------------- upload


def test_upload_of_several_files_shows_each_outcome(
    signed_in: Callable[..., Browser], contracts: None
) -> None:
    samples = _samples()
    summit = samples["summit-mutual-835-a.835"]
    broken = summit.replace(b"CLP*BH24002*1*2150.00*381.20", b"CLP*BH24002*1*2150.00*ABC")
    browser = signed_in(Role.POSTER)
    answer = _upload(
        browser,
        [("C:\\Users\\poster\\summit.835", summit), ("again.835", summit), ("broken.835", broken)],
    )
    assert answer.status_code == 200
    sections = _sections(answer.text)
    assert list(sections) == ["0:processed", "1:duplicate", "2:rejected"]
    processed = sections["0:processed"]
    assert "<h3>summit.835</h3>" in processed  # the file's own name, not the client's path
    assert "Users" not in answer.text
    # its underpaid lines, with the category and the amounts
    for claim in ("BH24001", "BH24002", "BH24003", "BH24004", "BH24005", "BH24006", "BH24007"):
        assert claim in processed, claim
    assert "BH24008" not in processed  # the denial is not an underpayment to dispute
    assert "$21.51" in processed
    assert "Multiple-procedure reduction over-applied" in processed
    assert "$512.76" in processed  # the file's underpaid total
    assert "was uploaded before" in sections["1:duplicate"]
    rejected = sections["2:rejected"]
    assert "Nothing of it was stored" in rejected
    assert "<code>CLP</code>" in rejected
    assert "CLP04" in rejected
    assert "RIVERA" not in rejected  # no patient data in an error


def test_uploading_nothing_asks_for_files(signed_in: Callable[..., Browser]) -> None:
    browser = signed_in(Role.CLEARINGHOUSE)
    answer = browser.client.post(
        "/upload", data={"csrf_token": browser.csrf()}, files=[("files", ("", b"", ""))]
    )
    assert answer.status_code == 422
    assert "Choose one or more" in answer.text


def test_a_practice_scoped_key_cannot_upload_another_practices_file(
    signed_in: Callable[..., Browser], contracts: None, session: Session
) -> None:
    browser = signed_in(Role.POSTER, practices=(WIND_RIVER,))
    samples = _samples()
    answer = _upload(
        browser,
        [
            ("summit.835", samples["summit-mutual-835-a.835"]),
            ("plains.835", samples["plains-835-c.835"]),
        ],
    )
    assert list(_sections(answer.text)) == ["0:rejected", "1:processed"]
    practices = set(session.scalars(select(PricingResult.practice_key)))
    assert practices == {WIND_RIVER}


# -------------------------------------------------------------------- lists


def test_files_page_lists_and_searches(signed_in: Callable[..., Browser], demo: None) -> None:
    browser = signed_in(Role.POSTER)
    listed = browser.client.get("/files")
    assert listed.status_code == 200
    for name in _samples():
        assert name in listed.text
    found = browser.client.get("/files", params={"q": "WR55001"})
    assert "plains-835-c.835" in found.text
    assert "summit-mutual-835-a.835" not in found.text


@pytest.mark.parametrize(
    ("params", "present", "absent"),
    [
        ({}, ["BH24002", "WR55001", "BH24102"], ["BH24009"]),  # matched hidden by default
        ({"all": "true"}, ["BH24009", "BH24101"], []),
        ({"category": "mpr_overapplied"}, ["BH24002", "WR55003"], ["BH24001", "BH24004"]),
        ({"payer_id": "90211"}, ["WR55001", "WR55003"], ["BH24002"]),
        ({"q": "BH24004"}, ["BH24004"], ["BH24002", "WR55001"]),
        ({"status": "open", "category": "bilateral_underpaid"}, ["BH24004"], ["BH24002"]),
    ],
)
def test_variances_filters(
    signed_in: Callable[..., Browser],
    demo: None,
    params: dict[str, str],
    present: list[str],
    absent: list[str],
) -> None:
    text = signed_in(Role.POSTER).client.get("/variances", params=params).text
    for claim in present:
        assert claim in text, claim
    for claim in absent:
        assert claim not in text, claim


def test_variances_date_filter_and_sort(signed_in: Callable[..., Browser], demo: None) -> None:
    browser = signed_in(Role.FINANCE)
    far = browser.client.get("/variances", params={"from": "2099-01-01"}).text
    assert "No lines match" in far
    text = browser.client.get("/variances", params={"sort": "variance"}).text
    variances = [
        Decimal(sign + value.replace(",", ""))
        for sign, value in re.findall(
            r'<td class="num(?: neg)?">(-?)\$([\d,]+\.\d\d)</td>\s*<td class="wide">', text
        )
    ]
    assert variances
    assert variances == sorted(variances, reverse=True)
    assert variances[-1] < 0  # the overpaid line comes last


def test_variances_page_paginates(
    signed_in: Callable[..., Browser], demo: None, monkeypatch
) -> None:
    monkeypatch.setattr("app.web.views.PAGE_SIZE", 3)
    browser = signed_in(Role.POSTER)
    first = browser.client.get("/variances", params={"all": "true"})
    match = re.search(r'href="(/variances\?[^"]*cursor=[^"]+)"', first.text)
    assert match
    second = browser.client.get(match.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    claims_first = re.findall(r"<td>(BH\d+|WR\d+)<br>", first.text)
    claims_second = re.findall(r"<td>(BH\d+|WR\d+)<br>", second.text)
    assert len(claims_first) == 3
    assert claims_second
    assert "all" in match.group(1)


# ----------------------------------------------------------------------- disputes


def test_disputes_page_lists_packets_with_downloads(
    signed_in: Callable[..., Browser], demo: None
) -> None:
    text = signed_in(Role.FINANCE).client.get("/disputes").text
    assert text.count("data-packet=") == 3
    for payer in ("SUMMIT MUTUAL HEALTH", "BIG SKY HEALTH PLAN", "PLAINS BENEFIT ADMINISTRATORS"):
        assert payer in text
    for fmt in ("pdf", "xlsx", "csv"):
        assert f"/export/{fmt}" in text
    assert "Mark filed" in text
    assert "urgent" in text
    assert "can no longer be disputed" in text  # the expired line


@pytest.mark.parametrize(
    ("fmt", "media", "magic"),
    [
        ("pdf", "application/pdf", b"%PDF"),
        ("xlsx", "spreadsheetml", b"PK"),
        ("csv", "text/csv", b""),
    ],
)
def test_packet_downloads(
    signed_in: Callable[..., Browser],
    demo: None,
    session: Session,
    fmt: str,
    media: str,
    magic: bytes,
) -> None:
    packet = disputes_service.list_packets(session, actor=CLI_ACTOR, as_of=date.today()).packets[0]
    answer = signed_in(Role.FINANCE).client.get(f"/disputes/{packet.id}/export/{fmt}")
    assert answer.status_code == 200
    assert media in answer.headers["content-type"]
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.content.startswith(magic)
    if fmt == "csv":
        assert packet.payer_id in answer.text or "claim" in answer.text.lower()


def test_mark_filed_then_record_a_recovery(
    signed_in: Callable[..., Browser], demo: None, session: Session
) -> None:
    browser = signed_in(Role.FINANCE)
    packets = disputes_service.list_packets(session, actor=CLI_ACTOR, as_of=date.today()).packets
    summit = next(p for p in packets if p.payer_id == "71412")
    page = browser.client.get(f"/disputes/{summit.id}")
    assert page.status_code == 200
    assert "BH24002" in page.text
    filed = browser.client.post(
        f"/disputes/{summit.id}/filed", data={"csrf_token": browser.csrf()}, follow_redirects=False
    )
    assert filed.status_code == 303
    filed_page = browser.client.get(filed.headers["location"])
    assert "The packet is filed" in filed_page.text
    assert "Record outcome" in filed_page.text
    filed_id = filed.headers["location"].split("/")[2].split("?")[0]
    assert filed_id != summit.id
    recorded = browser.client.post(
        f"/disputes/{filed_id}/outcome",
        data={"csrf_token": browser.csrf(), "outcome": "recovered", "amount": "100.00"},
        follow_redirects=False,
    )
    assert recorded.status_code == 303
    after = browser.client.get(recorded.headers["location"]).text
    assert "The outcome is recorded" in after
    assert "recovered $100.00" in after
    # a second filing of the same (now empty) open packet is refused as a conflict page
    again = browser.client.post(f"/disputes/{summit.id}/filed", data={"csrf_token": browser.csrf()})
    assert again.status_code in (404, 409)
    assert "text/html" in again.headers["content-type"]


def test_recording_an_outcome_on_a_line(
    signed_in: Callable[..., Browser], demo: None, session: Session
) -> None:
    browser = signed_in(Role.ADMIN)
    result = session.scalars(
        select(PricingResult).where(PricingResult.category == "code_changed")
    ).one()
    answer = browser.client.post(
        f"/variances/{result.id}/outcome",
        data={
            "csrf_token": browser.csrf(),
            "outcome": "written_off",
            "back": "/variances?all=true",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/variances?all=true"
    session.expire_all()
    assert session.get(PricingResult, result.id).status == "written_off"  # type: ignore[union-attr]
    bad = browser.client.post(
        f"/variances/{result.id}/outcome",
        data={"csrf_token": browser.csrf(), "outcome": "recovered", "amount": "12.345"},
    )
    assert bad.status_code == 422
    assert "dollars and cents" in bad.text


# ---------------------------------------------------------------- practice scoping


@pytest.mark.parametrize(
    ("practice", "mine", "theirs"),
    [(WIND_RIVER, "WR55001", "BH24002"), (BIG_HORN, "BH24002", "WR55001")],
)
def test_a_practice_scoped_key_sees_only_its_rows(
    signed_in: Callable[..., Browser], demo: None, practice: str, mine: str, theirs: str
) -> None:
    browser = signed_in(Role.FINANCE, practices=(practice,))
    for path in ("/variances?all=true", "/files?q=" + mine):
        text = browser.client.get(path).text
        assert theirs not in text
    assert mine in browser.client.get("/variances?all=true").text
    disputes = browser.client.get("/disputes").text
    assert disputes.count("data-packet=") == (1 if practice == WIND_RIVER else 2)
    board = browser.client.get("/").text
    assert ("PLAINS BENEFIT" in board) == (practice == WIND_RIVER)


def test_a_scoped_key_cannot_open_another_practices_packet(
    signed_in: Callable[..., Browser], demo: None, session: Session
) -> None:
    packets = disputes_service.list_packets(session, actor=CLI_ACTOR, as_of=date.today()).packets
    summit = next(p for p in packets if p.payer_id == "71412")
    browser = signed_in(Role.FINANCE, practices=(WIND_RIVER,))
    assert browser.client.get(f"/disputes/{summit.id}").status_code == 404
    assert browser.client.get(f"/disputes/{summit.id}/export/pdf").status_code == 404


# ----------------------------------------------------------------------- dashboard


def test_dashboard_draws_its_charts_as_svg(signed_in: Callable[..., Browser], demo: None) -> None:
    answer = signed_in(Role.FINANCE).client.get("/")
    assert answer.status_code == 200
    text = answer.text
    charts = re.findall(r'<svg class="bars"[^>]*role="img"[^>]*>(.*?)</svg>', text, flags=re.S)
    assert len(charts) == 4
    for title in (
        "Underpaid by payer",
        "Underpaid by category",
        "Underpaid by month of payment",
        "Dispute pipeline",
    ):
        assert f">{title}</title>" in text
    payer_chart = charts[0]
    assert payer_chart.count('<rect class="bar-fill"') == 3
    assert "SUMMIT MUTUAL HEALTH" in payer_chart
    assert "$512.76" in payer_chart
    assert charts[1].count('<rect class="bar-fill"') == 7
    pipeline = charts[3]
    for stage in ("Open", "Disputed", "Recovered", "Expired"):
        assert f"<title>{stage}: $" in pipeline
    assert 'id="expiring"' in text
    # nothing the page CSP would block: no inline script or style
    assert "<script>" not in text
    assert " style=" not in text


def test_empty_dashboard_says_so(signed_in: Callable[..., Browser]) -> None:
    text = signed_in(Role.ADMIN).client.get("/").text
    assert "No underpayments found yet." in text
    assert "Nothing is waiting to be disputed." in text


def test_the_disputes_page_pages_filed_packets(
    signed_in: Callable[..., Browser], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    newest_first = filed_packets(session, 3)
    browser = signed_in(Role.FINANCE)
    as_of = AS_OF.isoformat()
    first = browser.client.get("/disputes", params={"as_of": as_of})
    assert first.status_code == 200
    rows = re.findall(r'<tr data-packet="([^"]+)">', first.text)
    assert rows[1:] == newest_first[:2]  # after the open packet, the two newest filed
    more = re.search(r'href="(/disputes\?as_of=[^"]+&amp;cursor=[^"]+)"', first.text)
    assert more, "no link to the older filed packets"
    second = browser.client.get(more.group(1).replace("&amp;", "&"))
    assert re.findall(r'<tr data-packet="([^"]+)">', second.text) == newest_first[2:]
    assert "Older filed packets" not in second.text


# ----------------------------------------------------------------------- contracts


def test_contracts_page_shows_contracts_and_folder_problems(
    signed_in: Callable[..., Browser], contracts: None, web_app, tmp_path: Path
) -> None:
    browser = signed_in(Role.ADMIN)
    web_app.state.settings = web_app.state.settings.model_copy(update={"contracts_path": CONTRACTS})
    text = browser.client.get("/contracts").text
    for contract in ("summit-ppo", "big-sky-hmo", "plains-tpa"):
        assert contract in text
    assert "Every contract file in the folder is valid." in text
    (tmp_path / "bad.yaml").write_text("id: Bad Id\nname: x\n")
    web_app.state.settings = web_app.state.settings.model_copy(update={"contracts_path": tmp_path})
    text = browser.client.get("/contracts").text
    assert "bad.yaml" in text
    assert 'id="problems"' in text


def test_a_practice_scoped_admin_sees_its_contracts_and_the_general_ones(
    signed_in: Callable[..., Browser], contracts: None
) -> None:
    text = signed_in(Role.ADMIN, practices=(WIND_RIVER,)).client.get("/contracts").text
    assert "plains-tpa" in text  # Wind River's own
    assert "big-sky-hmo" in text  # names no practice: applies to every practice
    assert "summit-ppo" not in text  # Big Horn's


def test_an_oversized_file_is_refused_on_its_own(
    signed_in: Callable[..., Browser], contracts: None, web_app
) -> None:
    web_app.state.settings = web_app.state.settings.model_copy(update={"max_upload_mb": 1})
    browser = signed_in(Role.POSTER)
    big = b"ISA" + b"x" * (1024 * 1024)
    answer = _upload(browser, [("big.835", big), ("plains.835", _samples()["plains-835-c.835"])])
    assert list(_sections(answer.text)) == ["0:rejected", "1:processed"]
    assert "larger than 1 MB" in answer.text


BOUNDARY = "XyZ"


def _file_part(name: str) -> str:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/edi-x12\r\n\r\n"
    )


def _streamed_form(browser: Browser | None, *, files: int = 1) -> tuple[dict[str, str], bytes]:
    """The headers and the head of an upload form: the CSRF field and ``files`` file
    parts (the last one left open, for a CountingBody to stream into)."""
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    token = "no-session"
    if browser is not None:
        token = browser.csrf()
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in browser.client.cookies.items())
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
    head += "".join(_file_part(f"{n}.835") + "ISA\r\n" for n in range(files - 1))
    return headers, (head + _file_part("big.835")).encode()


def test_a_streamed_upload_is_cut_off_at_the_forms_bound(
    signed_in: Callable[..., Browser], web_app
) -> None:
    web_app.state.settings = web_app.state.settings.model_copy(update={"max_upload_mb": 1})
    headers, head = _streamed_form(signed_in(Role.POSTER))
    body = CountingBody(chunks=480, head=head)  # 30 MB against 20 files of 1 MB
    status, page = asgi_post_raw(web_app, "/upload", headers, body)
    text = page.decode()
    assert status == 413, text[:500]
    assert "payload_too_large" in text
    assert "larger than 20 MB in all" in text
    # the server stopped reading just past 20 MB (+ the envelope): 322 chunks, not 481
    assert body.pulled <= 20 * 16 + 3, body.pulled


@pytest.mark.parametrize("signed", [True, False], ids=["declared-length", "no-session"])
def test_an_upload_is_refused_before_its_body_is_read(
    signed_in: Callable[..., Browser], web_app, signed: bool
) -> None:
    web_app.state.settings = web_app.state.settings.model_copy(update={"max_upload_mb": 1})
    headers, head = _streamed_form(signed_in(Role.POSTER) if signed else None)
    headers["Content-Length"] = str(21 * 1024 * 1024)
    body = CountingBody(chunks=480, head=head)
    status, page = asgi_post_raw(web_app, "/upload", headers, body)
    assert body.pulled == 0
    if signed:
        assert status == 413
        assert "larger than 20 MB in all" in page.decode()
    else:
        assert status == 303  # to the sign-in page


def test_a_form_of_more_files_than_allowed_is_refused(
    signed_in: Callable[..., Browser], session: Session
) -> None:
    browser = signed_in(Role.POSTER)
    files = [(f"{n}.835", b"ISA") for n in range(MAX_FORM_FILES + 1)]
    answer = _upload(browser, files)
    assert answer.status_code == 422
    assert "Too many files" in answer.text
    assert session.scalar(select(func.count()).select_from(EraFile)) == 0
