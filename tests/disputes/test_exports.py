"""Exports of packets (spec/disputes.md "Exports"): the PDF letter read back with
pypdf (payer, practice, contract citation, every claim, the total, page numbers) and
rendered to PNG, XLSX re-read with openpyxl, CSV money, JSON shape, the ZIP and the
all-lines files, and the audit entry each export leaves."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry
from app.disputes import service
from app.disputes.errors import PacketNotFound
from app.disputes.schemas import open_packet_id
from app.errors import InvalidInput
from tests.disputes.builders import (
    AS_OF,
    FINANCE,
    OTHER_PAYER,
    OTHER_PAYER_NAME,
    OTHER_PRACTICE,
    claim,
    remittance,
    result,
    scoped,
)
from tests.factories import PAYER_ID, PAYER_NAME, PRACTICE_NPI, make_contract_version

OPEN_ID = open_packet_id(PRACTICE_NPI, PAYER_ID)
PRACTICES_YAML = """\
"1326048597":
  name: Big Horn Interventional Pain
  address:
    - 100 Main St
    - Cheyenne, WY 82001
  phone: "(307) 555-0140"
  signer:
    name: Dana Whitfield
    title: Revenue Cycle Manager
"""


@pytest.fixture
def packet_data(session: Session) -> dict[str, object]:
    """One packet of four claims (one with an overpaid line beside it) under a stored
    contract, plus packets of another payer and another practice."""
    version = make_contract_version(session)
    version.document = {
        **version.document,
        "payer": {
            "name": PAYER_NAME,
            "ids": [PAYER_ID],
            "address": "Provider Disputes\nPO Box 4410\nBismarck, ND 58502",
        },
    }
    rem = remittance(
        session,
        trace_number="EFT20260615A",
        payee_name="BIG HORN PAIN LLC",
        payee_address={
            "lines": ["PO BOX 77"],
            "city": "CHEYENNE",
            "state": "WY",
            "postal_code": "82001",
        },
    )
    claims = []
    plan = [
        ("PA1001", "DOE, JANE", [("64483", "fee_schedule_underpaid", "22.00")]),
        (
            "PA1002",
            "ROE, RICHARD",
            [("64483", "fee_schedule_underpaid", "22.00"), ("64493", "mpr_overapplied", "31.00")],
        ),
        ("PA1003", "SMITH, ALEX", [("64493", "bilateral_underpaid", "155.00")]),
        ("PA1004", "NGUYEN, MINH", [("77003", "bundled_incorrectly", "45.10")]),
    ]
    for number, (claim_id, patient, lines) in enumerate(plan):
        owner = claim(
            session, rem, claim_id, patient_name=patient, payer_claim_number=f"2026166{number:06}"
        )
        claims.append(owner)
        for position, (code, category, variance) in enumerate(lines, start=1):
            result(
                session,
                owner,
                position=position,
                procedure=code,
                category=category,
                variance=variance,
                contract_version_id=version.id,
                carc=["CO-45", "CO-59"] if category == "mpr_overapplied" else ["CO-45"],
            )
    result(
        session,
        claims[1],
        position=3,
        procedure="99214",
        category="overpaid",
        variance="-12.40",
        contract_version_id=version.id,
    )
    result(
        session,
        claim(session, remittance(session, payer=OTHER_PAYER, payer_name=OTHER_PAYER_NAME)),
        variance="40.00",
    )
    result(session, claim(session, remittance(session, practice=OTHER_PRACTICE)), variance="12.50")
    return {"claims": claims, "version": version}


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _export(session: Session, fmt: str, **kwargs: object):
    return service.export_packet(
        session, packet_id=OPEN_ID, actor=FINANCE, as_of=AS_OF, format=fmt, **kwargs
    )


def test_pdf_letter_holds_parties_citation_claims_and_total(
    session: Session, packet_data: dict[str, object], tmp_path: Path
) -> None:
    (tmp_path / "practices.yaml").write_text(PRACTICES_YAML)
    content, media_type, filename = _export(session, "pdf", contracts_path=tmp_path)
    assert media_type == "application/pdf"
    assert filename.endswith(".pdf")
    assert filename.startswith(f"dispute-{PAYER_ID}-{PRACTICE_NPI}-")
    text = _pdf_text(content)
    flat = re.sub(r"\s+", " ", text)
    assert PAYER_NAME in text
    assert "PO Box 4410" in text  # the contract's payer address
    assert "Big Horn Interventional Pain" in text  # practices.yaml letterhead
    assert "Dana Whitfield" in text
    assert "Revenue Cycle Manager" in text
    assert "Prairie Health Plan PPO agreement" in flat
    assert "prairie-ppo-2026" in flat
    assert "effective 01/01/2026" in flat
    for clause in ("Exhibit A", "Section 5.1", "Section 5.2", "Section 11"):
        assert clause in flat
    # no bundling clause: cited as the contract's name and date
    assert "Prairie Health Plan PPO agreement, effective 2026-01-01" in flat
    for owner in packet_data["claims"]:  # type: ignore[attr-defined]
        assert owner.payer_claim_number in text
        assert owner.claim_id in text
    assert "$275.10" in text  # 22 + 22 + 31 + 155 + 45.10
    assert "EFT20260615A" in text
    assert "November 27, 2026" in text
    reader = PdfReader(io.BytesIO(content))
    pages = len(reader.pages)
    assert pages >= 2
    assert f"Page 1 of {pages}" in reader.pages[0].extract_text()
    assert f"Page {pages} of {pages}" in reader.pages[-1].extract_text()
    # the overpaid line of claim PA1002 is shown, not netted: its subtotal stays 53.00
    assert "not in dispute" in flat
    assert "$53.00" in text
    # the letter is portrait, the schedule landscape
    first, last = reader.pages[0].mediabox, reader.pages[-1].mediabox
    assert first.width < first.height
    assert last.width > last.height


def test_letter_falls_back_to_the_835_parties(session: Session) -> None:
    rem = remittance(
        session,
        payer_address={
            "lines": ["PO BOX 1"],
            "city": "FARGO",
            "state": "ND",
            "postal_code": "58102",
        },
        payee_name="BIG HORN PAIN LLC",
        payee_address={
            "lines": ["PO BOX 77"],
            "city": "CHEYENNE",
            "state": "WY",
            "postal_code": "82001",
        },
    )
    result(session, claim(session, rem), contract_id="unstored-contract", clause="Exhibit B")
    text = _pdf_text(_export(session, "pdf").content)
    assert "BIG HORN PAIN LLC" in text
    assert "PO BOX 77" in text
    assert "FARGO, ND 58102" in text
    assert "unstored-contract" in text
    assert "Exhibit B" in text  # the clause the line was priced under


def test_first_page_renders_to_png(
    session: Session, packet_data: dict[str, object], tmp_path: Path
) -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(_export(session, "pdf").content)
    subprocess.run(
        [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    (png,) = tmp_path.glob("page*.png")
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG")
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert (width, height) == (680, 880)  # US letter, portrait, at 80 dpi


def test_xlsx_has_typed_cells_a_frozen_header_and_the_total(
    session: Session, packet_data: dict[str, object]
) -> None:
    content, media_type, filename = _export(session, "xlsx")
    assert media_type.endswith("spreadsheetml.sheet")
    assert filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Lines", "Summary"]
    sheet = book["Lines"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    variance_col = header.index("Variance") + 1
    charge_col = header.index("Charge") + 1
    deadline_col = header.index("Dispute deadline") + 1
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    lines, total_row = rows[:-1], rows[-1]
    assert len(lines) == 5
    for row in lines:
        assert isinstance(row[variance_col - 1], int | float)
        assert isinstance(row[charge_col - 1], int | float)
        assert isinstance(row[deadline_col - 1], datetime)
    assert sheet.cell(row=2, column=variance_col).number_format == "#,##0.00;-#,##0.00"
    assert total_row[0] == "Total"
    assert Decimal(str(total_row[variance_col - 1])) == Decimal("275.10")
    assert sum(Decimal(str(r[variance_col - 1])) for r in lines) == Decimal("275.10")
    summary = book["Summary"]
    values = [c for row in summary.iter_rows(values_only=True) for c in row if c is not None]
    assert "Multiple-procedure reduction over-applied" in values
    assert 275.1 in values


def test_csv_has_one_header_and_money_with_two_decimals(
    session: Session, packet_data: dict[str, object]
) -> None:
    content, media_type, _ = _export(session, "csv")
    assert media_type.startswith("text/csv")
    rows = list(csv.reader(io.StringIO(content.decode())))
    header, body = rows[0], rows[1:]
    assert len(body) == 5
    assert sum(1 for r in rows if r == header) == 1
    for name in ("Charge", "Expected allowed", "Actual allowed", "Paid", "Variance"):
        column = header.index(name)
        assert all(re.fullmatch(r"-?\d+\.\d{2}", r[column]) for r in body), name
    variance = header.index("Variance")
    assert sum(Decimal(r[variance]) for r in body) == Decimal("275.10")
    assert body[0][header.index("Dispute deadline")] == "2027-06-15"


def test_json_export_is_the_packet_with_items(
    session: Session, packet_data: dict[str, object]
) -> None:
    content, media_type, _ = _export(session, "json")
    assert media_type == "application/json"
    doc = json.loads(content)
    for key in (
        "id",
        "payer_id",
        "payer_name",
        "practice_npi",
        "lines",
        "total",
        "earliest_deadline",
        "urgent",
        "status",
        "filed_at",
        "follow_up_due",
        "by_category",
        "items",
    ):
        assert key in doc
    assert doc["id"] == str(OPEN_ID)
    assert (doc["lines"], doc["total"]) == (5, "275.10")
    assert len(doc["items"]) == 5
    assert doc["items"][0]["claim_id"].startswith("PA100")


def test_zip_holds_one_letter_per_packet(session: Session, packet_data: dict[str, object]) -> None:
    content, media_type, filename = service.export_packets(
        session, actor=FINANCE, as_of=AS_OF, format="zip"
    )
    assert media_type == "application/zip"
    assert filename == "dispute-packets-2026-11-27.zip"
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = archive.namelist()
    assert len(names) == 3
    assert len(set(names)) == 3
    for name in names:
        assert name.endswith(".pdf")
        assert archive.read(name).startswith(b"%PDF")
    assert any(f"-{OTHER_PRACTICE}-" in n for n in names)


def test_zip_for_a_scoped_actor_holds_only_its_packets(
    session: Session, packet_data: dict[str, object]
) -> None:
    content, _, _ = service.export_packets(
        session, actor=scoped(OTHER_PRACTICE), as_of=AS_OF, format="zip"
    )
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert len(names) == 1
    assert f"-{OTHER_PRACTICE}-" in names[0]


def test_all_lines_csv_and_xlsx_carry_payer_columns(
    session: Session, packet_data: dict[str, object]
) -> None:
    content, _, filename = service.export_packets(session, actor=FINANCE, as_of=AS_OF, format="csv")
    assert filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert len(rows) == 7
    assert {r["Payer ID"] for r in rows} == {PAYER_ID, OTHER_PAYER}
    assert {r["Payer"] for r in rows} == {PAYER_NAME, OTHER_PAYER_NAME}
    assert {r["Practice NPI"] for r in rows} == {PRACTICE_NPI, OTHER_PRACTICE}
    assert sum(Decimal(r["Variance"]) for r in rows) == Decimal("327.60")
    xlsx, _, _ = service.export_packets(session, actor=FINANCE, as_of=AS_OF, format="xlsx")
    book = load_workbook(io.BytesIO(xlsx))
    sheet = book["Lines"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["Packet", "Packet status", "Payer ID", "Payer", "Practice NPI"]
    body = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(body) == 8  # 7 lines and the totals row
    assert Decimal(str(body[-1][header.index("Variance")])) == Decimal("327.60")
    assert book["Packets"].max_row == 4


def test_exports_are_audited_without_phi(session: Session, packet_data: dict[str, object]) -> None:
    _export(session, "csv")
    service.export_packets(session, actor=FINANCE, as_of=AS_OF, format="zip")
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action.like("dispute_packet%.export"))
        .order_by(AuditEntry.at)
    ).all()
    assert [e.action for e in entries] == ["dispute_packet.export", "dispute_packets.export"]
    assert entries[0].object_id == str(OPEN_ID)
    assert entries[0].actor_key_id == FINANCE.key_id
    assert entries[0].details == {"format": "csv", "lines": 5}
    assert entries[1].details["format"] == "zip"
    for entry in entries:
        assert "DOE" not in json.dumps(entry.details)


def test_export_of_another_practices_packet_is_not_found(
    session: Session, packet_data: dict[str, object]
) -> None:
    with pytest.raises(PacketNotFound):
        service.export_packet(
            session, packet_id=OPEN_ID, actor=scoped(OTHER_PRACTICE), as_of=AS_OF, format="csv"
        )


@pytest.mark.parametrize("fmt", ["docx", "zip"])
def test_unknown_packet_format_is_invalid(session: Session, fmt: str) -> None:
    with pytest.raises(InvalidInput):
        _export(session, fmt)


def test_filed_letter_is_dated_the_filing_day(
    session: Session, packet_data: dict[str, object]
) -> None:
    filed = service.file_packet(session, packet_id=OPEN_ID, actor=FINANCE, as_of=date(2026, 11, 20))
    content = service.export_packet(
        session, packet_id=filed.id, actor=FINANCE, as_of=AS_OF, format="pdf"
    ).content
    text = _pdf_text(content)
    assert "November 20, 2026" in text
    assert "November 27, 2026" not in text
