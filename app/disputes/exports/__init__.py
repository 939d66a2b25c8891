"""Exports of dispute packets (spec/disputes.md "Exports"): the PDF letter
(``letter``), XLSX (``sheets``), CSV and JSON (``tabular``), and the all-packets
bundles — a ZIP of per-packet letters, one CSV or XLSX of every line.

Renderers take a ``PacketDocument`` (plain values gathered by the service) and return
bytes; they read no database and no clock.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import datetime

from app.disputes.exports.letter import render_pdf
from app.disputes.exports.sheets import render_all_xlsx, render_xlsx
from app.disputes.exports.tabular import render_all_csv, render_csv, render_json
from app.disputes.schemas import PacketDocument

__all__ = ["base_name", "render", "render_all", "render_zip"]


def base_name(document: PacketDocument) -> str:
    """``dispute-55123-1326048597-3f2a9c1e``: payer, practice, first part of the id."""
    packet = document.packet
    parts = ["dispute", packet.payer_id, packet.practice_npi, packet.id.split("-")[0]]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))


def render(document: PacketDocument, format: str) -> bytes:
    if format == "pdf":
        return render_pdf(document)
    if format == "xlsx":
        return render_xlsx(document)
    if format == "csv":
        return render_csv(document)
    if format == "json":
        return render_json(document)
    raise ValueError(f"unknown export format {format!r}")


def render_all(documents: Sequence[PacketDocument], format: str) -> bytes:
    if format == "csv":
        return render_all_csv(documents)
    if format == "xlsx":
        stamp = max((d.stamp for d in documents if d.stamp), default=None)
        return render_all_xlsx(documents, stamp)
    raise ValueError(f"unknown export format {format!r}")


def render_zip(
    documents: Sequence[PacketDocument], *, stamp: datetime, format: str = "pdf"
) -> bytes:
    """One file per packet (its letter, by default), dated ``stamp``."""
    out = io.BytesIO()
    when = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for document in documents:
            info = zipfile.ZipInfo(f"{base_name(document)}.{format}", date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, render(document, format))
    return out.getvalue()
