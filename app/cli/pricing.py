"""``era-recon reprice`` and ``era-recon variances`` (spec/interfaces.md).

``variances`` prints every matching result (all pages): ``--json`` as
``{"items": [PricingResult, ...]}``, otherwise a table. The table and the JSON show
patient names — that is the product's output, not a log.
"""

from __future__ import annotations

from datetime import date

import typer

from app.access.schemas import CLI_ACTOR
from app.cli.common import print_json, reported_errors, unit_of_work
from app.reconciliation.schemas import PricingResultRead


def reprice(
    contract: str | None = typer.Option(
        None, "--contract", help="Only results priced under this contract id (or unpriced)."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Only lines served on or after this date (YYYY-MM-DD)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Re-price stored lines after contracts change (filed packets stay frozen)."""
    from app.reconciliation.service import reprice as reprice_service

    since_date = _date(since, "--since")
    with reported_errors(), unit_of_work() as session:
        report = reprice_service(session, contract_id=contract, since=since_date, actor=CLI_ACTOR)
    if as_json:
        print_json(report.model_dump())
        return
    typer.echo(
        f"re-priced {report.claims} claim payments: {report.updated} results updated, "
        f"{report.unchanged} unchanged, {report.frozen} frozen in filed packets, "
        f"{report.reversed} reversed"
    )


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("expected a date YYYY-MM-DD", param_hint=option) from None


COLUMNS = (
    ("claim", 12),
    ("patient", 20),
    ("line", 8),
    ("service", 10),
    ("code", 12),
    ("expected", 10),
    ("actual", 10),
    ("variance", 10),
    ("category", 22),
    ("status", 10),
    ("deadline", 10),
)


def _row(item: PricingResultRead) -> list[str]:
    code = item.billed_procedure or item.procedure or "?"
    if item.modifiers:
        code += "-" + ",".join(item.modifiers)
    status = "expired" if item.expired else item.status
    return [
        item.claim_id,
        item.patient_name or "",
        item.line_control_number or "",
        item.service_date.isoformat() if item.service_date else "",
        code,
        item.expected_allowed or "-",
        item.actual_allowed,
        item.variance or "-",
        item.category,
        status,
        item.dispute_deadline.isoformat() if item.dispute_deadline else "",
    ]


def _table(items: list[PricingResultRead]) -> str:
    lines = ["  ".join(name.ljust(width) for name, width in COLUMNS).rstrip()]
    for item in items:
        cells = _row(item)
        lines.append(
            "  ".join(
                cell[:width].rjust(width)
                if name in ("expected", "actual", "variance")
                else cell[:width].ljust(width)
                for (name, width), cell in zip(COLUMNS, cells, strict=True)
            ).rstrip()
        )
    return "\n".join(lines)


def variances(
    payer: str | None = typer.Option(None, "--payer", help="Payer id (remittance or packet)."),
    category: str | None = typer.Option(None, "--category", help="One category."),
    include_all: bool = typer.Option(
        False, "--all", help="Every category, matched and reversed included."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print {'items': [PricingResult...]}."),
) -> None:
    """List pricing results, earliest dispute deadline first."""
    from app.reconciliation.queries import MAX_PAGE, list_variances

    items: list[PricingResultRead] = []
    cursor: str | None = None
    with reported_errors(), unit_of_work() as session:
        while True:
            page = list_variances(
                session,
                actor=CLI_ACTOR,
                payer_id=payer,
                category=category,
                include_all=include_all,
                cursor=cursor,
                limit=MAX_PAGE,
                as_of=date.today(),
            )
            items.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    if as_json:
        print_json({"items": [item.model_dump(mode="json") for item in items]})
        return
    if not items:
        typer.echo("no pricing results")
        return
    typer.echo(_table(items))


def register(cli: typer.Typer) -> None:
    cli.command("reprice")(reprice)
    cli.command("variances")(variances)
