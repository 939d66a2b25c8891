"""XLSX exports of dispute packets with openpyxl (spec/disputes.md "Exports").

A "Lines" sheet — typed numeric and date cells with number formats, the header row
frozen and filtered, a totals row holding values (so a reader that does not
recalculate formulas still sees them) — and a "Summary" sheet: the packet, its
parties and its total by category. The workbook's metadata time is the packet's
(the filing time of a filed packet), not the clock.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from app.disputes.exports.columns import LINE_COLUMNS, PACKET_COLUMNS, VARIANCE_INDEX, Column
from app.disputes.schemas import CATEGORY_LABELS, PacketDocument

MONEY_FORMAT = "#,##0.00;-#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
HEADER_FILL = PatternFill("solid", fgColor="1F3A5F")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TOTAL_BORDER = Border(top=Side(style="thin"), bottom=Side(style="double"))


def _header(sheet: Any, headers: Sequence[str], widths: Sequence[int]) -> None:
    sheet.append(list(headers))
    for index, width in enumerate(widths, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.fill = HEADER_FILL
        cell.font = HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.row_dimensions[1].height = 30
    sheet.freeze_panes = "A2"


def _write_line(sheet: Any, row: int, first_column: int, item: Any) -> None:
    for offset, column in enumerate(LINE_COLUMNS):
        _typed(sheet.cell(row=row, column=first_column + offset), column, column.get(item))


def _typed(cell: Any, column: Column, value: Any) -> None:
    cell.value = value
    if column.kind == "money":
        cell.number_format = MONEY_FORMAT
    elif column.kind == "date":
        cell.number_format = DATE_FORMAT
    elif column.kind == "number":
        cell.number_format = "0.###"


def _totals(sheet: Any, row: int, label_column: int, variance_column: int, total: Decimal) -> None:
    sheet.cell(row=row, column=label_column, value="Total").font = Font(bold=True)
    cell = sheet.cell(row=row, column=variance_column, value=total)
    cell.number_format = MONEY_FORMAT
    cell.font = Font(bold=True)
    cell.border = TOTAL_BORDER


def _workbook(stamp: datetime | None) -> Workbook:
    book = Workbook()
    if stamp is not None:
        naive = stamp.replace(tzinfo=None)
        book.properties.created = naive
        book.properties.modified = naive
    book.properties.creator = "era-recon"
    return book


def render_xlsx(document: PacketDocument) -> bytes:
    book = _workbook(document.stamp)
    lines = book.active
    lines.title = "Lines"
    _header(lines, [c.header for c in LINE_COLUMNS], [c.width for c in LINE_COLUMNS])
    for row, item in enumerate(document.items, start=2):
        _write_line(lines, row, 1, item)
    last = len(document.items) + 1
    lines.auto_filter.ref = f"A1:{get_column_letter(len(LINE_COLUMNS))}{last}"
    _totals(lines, last + 1, 1, VARIANCE_INDEX + 1, Decimal(document.packet.total))
    _summary(book, document)
    return _save(book)


def _summary(book: Workbook, document: PacketDocument) -> None:
    packet = document.packet
    sheet = book.create_sheet("Summary")
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 48
    sheet.column_dimensions["C"].width = 10
    sheet.column_dimensions["D"].width = 14
    facts: list[tuple[str, Any]] = [
        ("Packet", packet.id),
        ("Status", packet.status),
        ("Payer", f"{document.addressee.name} ({packet.payer_id})"),
        ("Practice", f"{document.letterhead.name} (NPI {packet.practice_npi})"),
        ("Letter date", document.letter_date),
        ("Filed on", packet.filed_date),
        ("Lines", packet.lines),
        ("Total variance", Decimal(packet.total)),
        ("Earliest deadline", packet.earliest_deadline),
    ]
    for citation in document.citations:
        facts.append(("Contract", f"{citation.name} ({citation.contract_id})"))
        facts.append(("Dispute window", citation.dispute_window))
    sheet.append(["Dispute packet"])
    sheet["A1"].font = Font(bold=True, size=14)
    for label, value in facts:
        sheet.append([label, value])
        cell = sheet.cell(row=sheet.max_row, column=2)
        if isinstance(value, Decimal):
            cell.number_format = MONEY_FORMAT
        elif hasattr(value, "isoformat"):
            cell.number_format = DATE_FORMAT
        cell.alignment = Alignment(horizontal="left")
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    sheet.append([])
    start = sheet.max_row + 1
    sheet.append(["Category", "Contract provision", "Lines", "Variance"])
    for index in range(1, 5):
        cell = sheet.cell(row=start, column=index)
        cell.fill = HEADER_FILL
        cell.font = HEADER_FONT
    counts: dict[str, int] = {}
    for item in document.items:
        counts[item.category] = counts.get(item.category, 0) + 1
    clauses = {k: v for citation in document.citations for k, v in citation.clauses.items()}
    for category, amount in packet.by_category.items():
        sheet.append(
            [
                CATEGORY_LABELS.get(category, category),
                clauses.get(category, ""),
                counts.get(category, 0),
                Decimal(amount),
            ]
        )
        sheet.cell(row=sheet.max_row, column=4).number_format = MONEY_FORMAT
    sheet.append(["Total", "", packet.lines, Decimal(packet.total)])
    for index in (1, 3, 4):
        sheet.cell(row=sheet.max_row, column=index).font = Font(bold=True)
    total_cell = sheet.cell(row=sheet.max_row, column=4)
    total_cell.number_format = MONEY_FORMAT
    total_cell.border = TOTAL_BORDER


def render_all_xlsx(documents: Sequence[PacketDocument], stamp: datetime | None) -> bytes:
    """Every line of every packet on one sheet, led by packet and payer columns, and a
    summary sheet of the packets."""
    book = _workbook(stamp)
    lines = book.active
    lines.title = "Lines"
    lead = len(PACKET_COLUMNS)
    _header(
        lines,
        [h for h, _, _ in PACKET_COLUMNS] + [c.header for c in LINE_COLUMNS],
        [w for _, _, w in PACKET_COLUMNS] + [c.width for c in LINE_COLUMNS],
    )
    row = 2
    total = Decimal("0.00")
    for document in documents:
        total += Decimal(document.packet.total)
        for item in document.items:
            for index, (_, get, _) in enumerate(PACKET_COLUMNS, start=1):
                lines.cell(row=row, column=index, value=get(document.packet))
            _write_line(lines, row, lead + 1, item)
            row += 1
    lines.auto_filter.ref = f"A1:{get_column_letter(lead + len(LINE_COLUMNS))}{row - 1}"
    _totals(lines, row, 1, lead + VARIANCE_INDEX + 1, total)
    summary = book.create_sheet("Packets")
    _header(
        summary,
        [
            "Packet",
            "Status",
            "Payer ID",
            "Payer",
            "Practice NPI",
            "Lines",
            "Total",
            "Earliest deadline",
        ],
        [38, 10, 12, 28, 13, 8, 14, 14],
    )
    for document in documents:
        p = document.packet
        summary.append(
            [
                p.id,
                p.status,
                p.payer_id,
                p.payer_name,
                p.practice_npi,
                p.lines,
                Decimal(p.total),
                p.earliest_deadline,
            ]
        )
        summary.cell(row=summary.max_row, column=7).number_format = MONEY_FORMAT
        summary.cell(row=summary.max_row, column=8).number_format = DATE_FORMAT
    return _save(book)


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
