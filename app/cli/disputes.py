"""``era-recon disputes [--as-of DATE] [--json] [--format pdf|xlsx|csv|zip --out PATH]``
(spec/interfaces.md): dispute packets as a table, as one JSON document, or exported.

``--json`` prints ``{"as_of", "packets": [Packet with items], "expired":
[PricingResult]}``. ``--format`` writes a file: ``pdf``, ``xlsx`` or ``csv`` of one
packet with ``--packet ID``; without it ``zip`` (one PDF letter per packet) or one
``csv``/``xlsx`` of every line of every packet. The letterhead comes from
``practices.yaml`` in ``--contracts`` (default ``ERA_RECON_CONTRACTS``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from app.access.schemas import CLI_ACTOR
from app.cli.common import EXIT_USAGE, fail, print_json, reported_errors, unit_of_work
from app.config import get_settings
from app.disputes import service
from app.disputes.schemas import Export, PacketList

FORMATS = ("pdf", "xlsx", "csv", "zip", "json")


def disputes(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date the packets are for (default today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Export: pdf, xlsx, csv or json of --packet; zip (letters), csv or xlsx of all.",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="File to write the export to.")] = None,
    packet: Annotated[
        str | None, typer.Option("--packet", help="Packet id to export (see the table).")
    ] = None,
    contracts: Annotated[
        Path | None,
        typer.Option(
            "--contracts", help="Folder with practices.yaml (default ERA_RECON_CONTRACTS)."
        ),
    ] = None,
) -> None:
    """Dispute packets per practice and payer: open (to file), filed, expired."""
    day = _as_of(as_of)
    if format is not None:
        _export(day, format=format, out=out, packet=packet, contracts=contracts, as_json=as_json)
        return
    if packet is not None or out is not None:
        fail("--packet and --out go with --format", EXIT_USAGE)
    with reported_errors(), unit_of_work() as session:
        if as_json:
            packets, expired = service.packets_with_items(session, actor=CLI_ACTOR, as_of=day)
            print_json(
                {
                    "as_of": day.isoformat(),
                    "packets": [p.model_dump(mode="json") for p in packets],
                    "expired": [e.model_dump(mode="json") for e in expired],
                }
            )
            return
        listed = service.list_packets(session, actor=CLI_ACTOR, as_of=day)
    _print_table(listed)


def _as_of(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--as-of must be a date like 2026-11-27, not {text!r}", EXIT_USAGE)
        raise  # unreachable: fail() exits


def _export(
    day: date,
    *,
    format: str,
    out: Path | None,
    packet: str | None,
    contracts: Path | None,
    as_json: bool,
) -> None:
    if format not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}", EXIT_USAGE)
    if out is None:
        fail("--format needs --out PATH", EXIT_USAGE)
        return
    if packet is None and format in ("pdf", "json"):
        fail(f"a {format} export is of one packet: give --packet ID (or --format zip)", EXIT_USAGE)
    if packet is not None and format == "zip":
        fail("--format zip exports every packet: leave out --packet", EXIT_USAGE)
    folder = contracts if contracts is not None else get_settings().contracts_path
    with reported_errors(), unit_of_work() as session:
        export: Export
        if packet is not None:
            export = service.export_packet(
                session,
                packet_id=packet,
                actor=CLI_ACTOR,
                as_of=day,
                format=format,
                contracts_path=folder,
            )
        else:
            export = service.export_packets(
                session, actor=CLI_ACTOR, as_of=day, format=format, contracts_path=folder
            )
    out.write_bytes(export.content)
    if as_json:
        print_json(
            {"file": str(out), "media_type": export.media_type, "bytes": len(export.content)}
        )
    else:
        typer.echo(f"wrote {out} ({len(export.content)} bytes)")


def _print_table(listed: PacketList) -> None:
    if not listed.packets:
        typer.echo(f"no dispute packets as of {listed.as_of.isoformat()}")
    else:
        header = (
            f"{'PACKET':36}  {'STATUS':6}  {'PAYER':28}  {'PRACTICE':10}  "
            f"{'LINES':>5}  {'TOTAL':>12}  {'DEADLINE':10}  NOTE"
        )
        typer.echo(header)
        for p in listed.packets:
            payer = f"{p.payer_id} {p.payer_name or ''}".strip()[:28]
            deadline = p.earliest_deadline.isoformat() if p.earliest_deadline else "-"
            notes = [
                word
                for word, flag in (("URGENT", p.urgent), ("follow up", p.follow_up_due))
                if flag
            ]
            if p.filed_date is not None:
                notes.append(f"filed {p.filed_date.isoformat()}")
            typer.echo(
                f"{p.id:36}  {p.status:6}  {payer:28}  {p.practice_npi:10}  "
                f"{p.lines:>5}  {p.total:>12}  {deadline:10}  {', '.join(notes)}".rstrip()
            )
    expired = listed.expired
    typer.echo(f"expired (past the dispute window): {expired.lines} lines, {expired.total}")


def register(cli: typer.Typer) -> None:
    cli.command("disputes")(disputes)
