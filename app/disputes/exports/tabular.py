"""CSV and JSON exports of dispute packets (spec/disputes.md "Exports").

CSV: one header row, then the lines; money with two decimals, dates ISO 8601, a
blank for a missing value. JSON: the Packet object of spec/interfaces.md with its
items.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from app.disputes.exports.columns import LINE_COLUMNS, PACKET_COLUMNS, Column, Value
from app.disputes.schemas import PacketDocument


def csv_value(column: Column, value: Value) -> str:
    if value is None:
        return ""
    if column.kind == "money" and isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render_csv(document: PacketDocument) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in LINE_COLUMNS])
    for item in document.items:
        writer.writerow([csv_value(c, c.get(item)) for c in LINE_COLUMNS])
    return out.getvalue().encode("utf-8")


def render_all_csv(documents: Sequence[PacketDocument]) -> bytes:
    """Every line of every packet, led by its packet and payer columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([h for h, _, _ in PACKET_COLUMNS] + [c.header for c in LINE_COLUMNS])
    for document in documents:
        lead = [get(document.packet) or "" for _, get, _ in PACKET_COLUMNS]
        for item in document.items:
            writer.writerow(lead + [csv_value(c, c.get(item)) for c in LINE_COLUMNS])
    return out.getvalue().encode("utf-8")


def render_json(document: PacketDocument) -> bytes:
    packet = document.packet.model_copy(update={"items": document.items, "next_cursor": None})
    return json.dumps(packet.model_dump(mode="json"), indent=2).encode("utf-8")
