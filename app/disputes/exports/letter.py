"""The dispute letter: a PDF finance can sign and mail (spec/disputes.md "Exports",
contracts.md "Clauses" and "Practices (letterhead)"), drawn with reportlab's platypus.

Page 1 (portrait) is the letter: the practice's letterhead, the date, the payer's
address, a subject line, the contract cited (name, id, effective dates), a summary
by category with the clause of each, the request, and a signature block. The
schedule follows on landscape pages: every line grouped by claim payment with claim
subtotals (overpaid lines of the same claim shown beside them, not netted) and the
total. Every page carries "Page n of m". The PDF is built with reportlab's
``invariant`` flag and the packet's own date, so the same packet gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.disputes.exports.columns import adjustment_codes, code_with_modifiers
from app.disputes.schemas import CATEGORY_LABELS, ContextLine, ContractCitation, PacketDocument
from app.reconciliation.schemas import PricingResultRead
from app.repricing.money import format_money

NAVY = colors.HexColor("#1F3A5F")
RULE = colors.HexColor("#9AA9BC")
SHADE = colors.HexColor("#EEF2F7")
SUBTOTAL = colors.HexColor("#F6F8FB")
MUTED = colors.HexColor("#5B6675")

BASE = ParagraphStyle("base", fontName="Helvetica", fontSize=10, leading=13.5)
SMALL = ParagraphStyle("small", parent=BASE, fontSize=8.5, leading=11)
PRACTICE = ParagraphStyle(
    "practice", parent=BASE, fontName="Helvetica-Bold", fontSize=15, leading=18, textColor=NAVY
)
HEAD_RIGHT = ParagraphStyle("headright", parent=SMALL, alignment=TA_RIGHT, textColor=MUTED)
SUBJECT = ParagraphStyle("subject", parent=BASE, fontName="Helvetica-Bold")
HEADING = ParagraphStyle(
    "heading", parent=BASE, fontName="Helvetica-Bold", fontSize=12, leading=15, textColor=NAVY
)
CELL = ParagraphStyle("cell", parent=BASE, fontSize=6.8, leading=8.2)
CELL_BOLD = ParagraphStyle("cellbold", parent=CELL, fontName="Helvetica-Bold")
CELL_NOTE = ParagraphStyle("cellnote", parent=CELL, fontName="Helvetica-Oblique", textColor=MUTED)
CELL_HEAD = ParagraphStyle(
    "cellhead", parent=CELL, fontName="Helvetica-Bold", textColor=colors.white
)

MARGIN = 0.75 * inch
TABLE_MARGIN = 0.45 * inch


def money(value: Decimal | str | None) -> str:
    """``"1634.5"`` → ``"$1,634.50"``; blank when there is no amount."""
    return "" if value is None else format_money(Decimal(value))


def us_date(value: date | None) -> str:
    return "" if value is None else value.strftime("%m/%d/%Y")


def long_date(value: date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def _p(text: str, style: ParagraphStyle = BASE) -> Paragraph:
    return Paragraph(text, style)


def _e(text: str | None) -> str:
    return escape(text or "")


class _NumberedCanvas(Canvas):  # type: ignore[misc]
    """Holds every page until the end so each can say "Page n of m"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            width, _ = self._pagesize
            self.setFont("Helvetica", 7.5)
            self.setFillColor(MUTED)
            self.drawRightString(
                width - 0.5 * inch, 0.4 * inch, f"Page {self._pageNumber} of {total}"
            )
            super().showPage()
        super().save()


def _frame(page: tuple[float, float], *, side: float, bottom: float, top: float, id: str) -> Frame:
    """The page less its side, bottom and top margins, with no padding of its own."""
    width, height = page
    return Frame(
        side,
        bottom,
        width - 2 * side,
        height - bottom - top,
        id=id,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )


def render_pdf(document: PacketDocument) -> bytes:
    out = io.BytesIO()
    portrait = LETTER
    wide = landscape(LETTER)
    doc = BaseDocTemplate(
        out,
        pagesize=portrait,
        invariant=1,
        title=f"Dispute of underpaid claims: {document.addressee.name}",
        author=document.letterhead.name,
        subject=f"Dispute packet {document.packet.id}",
        creator="era-recon",
    )
    letter_frame = _frame(portrait, side=MARGIN, bottom=0.7 * inch, top=0.6 * inch, id="letter")
    table_frame = _frame(wide, side=TABLE_MARGIN, bottom=0.6 * inch, top=0.75 * inch, id="schedule")

    def letter_page(canvas: Any, _doc: Any) -> None:
        _footer(canvas, document)

    def schedule_page(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 9)
        canvas.setFillColor(NAVY)
        top = wide[1] - 0.45 * inch
        canvas.drawString(
            TABLE_MARGIN, top, f"Schedule of underpaid lines: {document.addressee.name}"
        )
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(MUTED)
        canvas.drawRightString(
            wide[0] - TABLE_MARGIN,
            top,
            f"{document.letterhead.name} (NPI {document.packet.practice_npi}) - "
            f"letter of {long_date(document.letter_date)}",
        )
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        canvas.line(TABLE_MARGIN, top - 6, wide[0] - TABLE_MARGIN, top - 6)
        canvas.restoreState()
        _footer(canvas, document)

    doc.addPageTemplates(
        [
            PageTemplate(id="letter", frames=[letter_frame], onPage=letter_page, pagesize=portrait),
            PageTemplate(id="schedule", frames=[table_frame], onPage=schedule_page, pagesize=wide),
        ]
    )
    story: list[Any] = []
    story += _letter(document)
    story += [NextPageTemplate("schedule"), PageBreak()]
    story += _schedule(document, wide[0] - 2 * TABLE_MARGIN)
    doc.build(story, canvasmaker=_NumberedCanvas)
    return out.getvalue()


def _footer(canvas: Any, document: PacketDocument) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 7.5)
    canvas.setFillColor(MUTED)
    margin = 0.5 * inch
    canvas.drawString(
        margin,
        0.4 * inch,
        f"Packet {document.packet.id} - confidential: contains protected health information",
    )
    canvas.restoreState()


# --------------------------------------------------------------------------- letter


def _letter(document: PacketDocument) -> list[Any]:
    head = document.letterhead
    packet = document.packet
    to = document.addressee
    story: list[Any] = []

    contact = [_e(line) for line in head.address_lines]
    if head.phone:
        contact.append(f"Phone {_e(head.phone)}")
    right = [f"NPI {_e(head.npi or packet.practice_npi)}"]
    letterhead = Table(
        [
            [
                [_p(_e(head.name), PRACTICE), _p("<br/>".join(contact), SMALL)],
                _p("<br/>".join(right), HEAD_RIGHT),
            ]
        ],
        colWidths=["70%", "30%"],
    )
    letterhead.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LINEBELOW", (0, 0), (-1, -1), 1.2, NAVY),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    story += [letterhead, Spacer(1, 0.3 * inch)]
    story += [_p(long_date(document.letter_date)), Spacer(1, 0.22 * inch)]
    address = [_e(to.name), "Attn: Provider Disputes", *[_e(line) for line in to.address_lines]]
    story += [_p("<br/>".join(address)), Spacer(1, 0.22 * inch)]

    contracts = document.citations
    first = contracts[0] if contracts else None
    subject = "Re: Request to reprocess underpaid claims"
    if first is not None:
        subject += f" under the {_e(first.name)}"
    story += [_p(subject, SUBJECT), Spacer(1, 0.12 * inch)]

    claims = len(dict.fromkeys(document.claim_payment_ids))
    reference = [
        ["Payer ID", _e(packet.payer_id), "Provider NPI", _e(packet.practice_npi)],
        ["Claims / lines", f"{claims} / {packet.lines}", "Amount in dispute", money(packet.total)],
        [
            "Earliest deadline",
            us_date(packet.earliest_deadline),
            "Our reference",
            _e(packet.id.split("-")[0].upper()),
        ],
    ]
    ref_table = Table(
        [
            [_p(f"<b>{a}</b>", SMALL), _p(b, SMALL), _p(f"<b>{c}</b>", SMALL), _p(d, SMALL)]
            for a, b, c, d in reference
        ],
        colWidths=["19%", "31%", "21%", "29%"],
    )
    ref_table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )
    story += [ref_table, Spacer(1, 0.18 * inch)]

    story.append(_p("Dear Provider Disputes Team:"))
    story.append(Spacer(1, 0.1 * inch))
    cited = "; ".join(_citation_text(c) for c in contracts) or "our agreement with you"
    story.append(
        _p(
            f"We have reviewed your remittance advice for the {claims} "
            f"claim{'s' if claims != 1 else ''} listed in the enclosed schedule. "
            f"{packet.lines} service line{'s were' if packet.lines != 1 else ' was'} "
            f"paid below the amount due under {cited}. We ask that you reprocess these "
            f"claims and remit the difference of <b>{money(packet.total)}</b>."
        )
    )
    story.append(Spacer(1, 0.12 * inch))
    story.append(_summary(document))
    story.append(Spacer(1, 0.12 * inch))
    windows = "; ".join(_e(c.dispute_window) for c in contracts if c.dispute_window)
    timely = (
        f"This request is made within the dispute window of the agreement ({windows}); "
        if windows
        else "This request is made within the agreement's dispute window; "
    )
    story.append(
        _p(
            timely + "the schedule gives each line's check or EFT trace number, payment "
            "date and deadline. Please send the corrected payment, or a written explanation "
            "for any line you decline, within 30 days of this letter."
            + (f" Questions may be directed to {_e(head.phone)}." if head.phone else "")
        )
    )
    story.append(Spacer(1, 0.2 * inch))
    signer = [
        "Sincerely,",
        "<br/><br/><br/>______________________________",
        _e(head.signer_name) if head.signer_name else "Authorized signature",
        _e(head.signer_title) if head.signer_title else "Billing Manager",
        _e(head.name),
    ]
    enclosure = "Enclosure: schedule of underpaid lines"
    story.append(
        KeepTogether([_p("<br/>".join(signer)), Spacer(1, 0.16 * inch), _p(enclosure, SMALL)])
    )
    return story


def _citation_text(citation: ContractCitation) -> str:
    span = us_date(citation.effective_from)
    if citation.effective_to is not None:
        span += f" through {us_date(citation.effective_to)}"
    elif span:
        span = f"effective {span}"
    return f"the <b>{_e(citation.name)}</b> (contract {_e(citation.contract_id)}, {span})"


def _summary(document: PacketDocument) -> Table:
    counts: dict[str, int] = {}
    for item in document.items:
        counts[item.category] = counts.get(item.category, 0) + 1
    clauses: dict[str, list[str]] = {}
    for citation in document.citations:
        for category, clause in citation.clauses.items():
            clauses.setdefault(category, [])
            if clause not in clauses[category]:
                clauses[category].append(clause)
    number = _right(SMALL)
    rows: list[list[Any]] = [
        [
            _p("<b>Underpayment</b>", SMALL),
            _p("<b>Contract provision</b>", SMALL),
            _p("<b>Lines</b>", number),
            _p("<b>Amount</b>", number),
        ]
    ]
    largest_first = sorted(
        document.packet.by_category.items(), key=lambda pair: (-Decimal(pair[1]), pair[0])
    )
    for category, amount in largest_first:
        rows.append(
            [
                _p(_e(CATEGORY_LABELS.get(category, category)), SMALL),
                _p(_e("; ".join(clauses.get(category, []))), SMALL),
                _p(str(counts.get(category, 0)), number),
                _p(money(amount), number),
            ]
        )
    rows.append(
        [
            _p("<b>Total</b>", SMALL),
            "",
            _p(f"<b>{document.packet.lines}</b>", number),
            _p(f"<b>{money(document.packet.total)}</b>", number),
        ]
    )
    table = Table(rows, colWidths=["44%", "30%", "10%", "16%"], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, NAVY),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, NAVY),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


# ------------------------------------------------------------------------- schedule

SCHEDULE_HEADERS = (
    ("Patient", 80),
    ("Patient acct<br/>(CLP01)", 54),
    ("Payer claim #<br/>(CLP07)", 62),
    ("Date of<br/>service", 42),
    ("Code", 50),
    ("Units", 24),
    ("Charge", 44),
    ("Expected", 44),
    ("Allowed", 44),
    ("Paid", 42),
    ("Variance", 44),
    ("CARC/RARC", 54),
    ("Trace<br/>(TRN02)", 56),
    ("Paid on", 42),
    ("Deadline", 42),
)
RIGHT_COLUMNS = range(5, 11)  # units and money


def _schedule(document: PacketDocument, width: float) -> list[Any]:
    scale = width / sum(w for _, w in SCHEDULE_HEADERS)
    widths = [w * scale for _, w in SCHEDULE_HEADERS]
    rows: list[list[Any]] = [
        [
            _p(h, _right(CELL_HEAD) if n in RIGHT_COLUMNS else CELL_HEAD)
            for n, (h, _) in enumerate(SCHEDULE_HEADERS)
        ]
    ]
    styles: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), NAVY),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.8),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.8),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.2),
    ]
    groups = _by_claim(document.items, document.claim_payment_ids)
    context: dict[str, list[ContextLine]] = {}
    for line in document.context:
        context.setdefault(line.claim_payment_id, []).append(line)
    for claim_payment_id, items in groups:
        for item in items:
            rows.append(_line_row(item))
            styles.append(("LINEBELOW", (0, len(rows) - 1), (-1, len(rows) - 1), 0.25, RULE))
        for other in context.get(claim_payment_id, []):
            rows.append(_context_row(other))
            styles.append(("SPAN", (0, len(rows) - 1), (-1, len(rows) - 1)))
        subtotal = sum((Decimal(i.variance or "0") for i in items), Decimal("0.00"))
        rows.append(
            [
                _p(
                    f"Claim {_e(items[0].claim_id)} subtotal ({len(items)} "
                    f"line{'s' if len(items) != 1 else ''})",
                    CELL_BOLD,
                )
            ]
            + [""] * 9
            + [_p(money(subtotal), _right(CELL_BOLD))]
            + [""] * 4
        )
        index = len(rows) - 1
        styles += [
            ("SPAN", (0, index), (9, index)),
            ("BACKGROUND", (0, index), (-1, index), SUBTOTAL),
            ("LINEBELOW", (0, index), (-1, index), 0.6, RULE),
        ]
    rows.append(
        [_p(f"Total in dispute: {document.packet.lines} lines on {len(groups)} claims", CELL_BOLD)]
        + [""] * 9
        + [_p(money(document.packet.total), _right(CELL_BOLD))]
        + [""] * 4
    )
    index = len(rows) - 1
    styles += [
        ("SPAN", (0, index), (9, index)),
        ("LINEABOVE", (0, index), (-1, index), 1.0, NAVY),
        ("LINEBELOW", (0, index), (-1, index), 1.0, NAVY),
    ]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(styles))
    note = _p(
        "Variance = expected allowed under the contract minus the allowed amount on the "
        "remittance. Claim subtotals count the lines in dispute only; an overpaid line of "
        "the same claim is listed in italics for reference and is not netted.",
        ParagraphStyle("note", parent=SMALL, textColor=MUTED, fontSize=7.5, leading=9.5),
    )
    return [note, Spacer(1, 0.08 * inch), table]


def _right(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}-right", parent=style, alignment=TA_RIGHT)


CELL_RIGHT = _right(CELL)


def _line_row(item: PricingResultRead) -> list[Any]:
    code = _e(code_with_modifiers(item))
    if item.procedure and item.billed_procedure and item.procedure != item.billed_procedure:
        code += f"<br/>paid as {_e(item.procedure)}"
    return [
        _p(_e(item.patient_name), CELL),
        _p(_e(item.claim_id), CELL),
        _p(_e(item.payer_claim_number), CELL),
        _p(us_date(item.service_date), CELL),
        _p(code, CELL),
        _p(_e(item.units), CELL_RIGHT),
        _p(money(item.charge), CELL_RIGHT),
        _p(money(item.expected_allowed), CELL_RIGHT),
        _p(money(item.actual_allowed), CELL_RIGHT),
        _p(money(item.paid), CELL_RIGHT),
        _p(f"<b>{money(item.variance)}</b>", CELL_RIGHT),
        _p(_e(adjustment_codes(item)), CELL),
        _p(_e(item.trace_number), CELL),
        _p(us_date(item.payment_date), CELL),
        _p(us_date(item.dispute_deadline), CELL),
    ]


def _context_row(line: ContextLine) -> list[Any]:
    text = (
        f"Also on this claim, not in dispute: {_e(line.procedure)} "
        f"({us_date(line.service_date)}) {line.category}, variance {money(line.variance)}"
    )
    return [_p(text, CELL_NOTE)] + [""] * 14


def _by_claim(
    items: Sequence[PricingResultRead], claim_payment_ids: Sequence[str]
) -> list[tuple[str, list[PricingResultRead]]]:
    """Lines grouped by claim payment, claims in the order of their first line."""
    groups: dict[str, list[PricingResultRead]] = {}
    for item, claim in zip(items, claim_payment_ids, strict=True):
        groups.setdefault(claim, []).append(item)
    return list(groups.items())
