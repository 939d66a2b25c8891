"""Variance and dispute queries over 1,000,000 stored lines on PostgreSQL.

    python benchmarks/queries.py                     # 1,000,000 pricing results
    python benchmarks/queries.py --lines 200000 --no-explain

Creates a throw-away PostgreSQL database (``BENCH_PG_ADMIN``, default
``postgresql://root@127.0.0.1:5432/postgres``), migrates it, fills it with COPY —
files, remittances, claim payments (3 lines each), service lines and one pricing
result per line, spread over 3 practices, 6 payers, every category and status, two
years of payment dates and deadlines — runs ``ANALYZE``, then times what the pages
and the API ask for, through the services they call:

- the variance list (``/v1/variances``): first page, a later page (cursor), and
  filtered by payer, by category, by status, by a payment date on which nothing was
  paid and by 1, 6, 9 and 12 months of payment dates;
- the dispute packets list (``/v1/disputes``) and one packet's first page;
- the dashboard.

Each is run 5 times (the first warms the cache); the median is compared with the
target (< 200 ms). With ``--explain`` (the default) the slowest SQL statement of
each is shown with ``EXPLAIN (ANALYZE, BUFFERS)``, to see which indexes serve it,
and every statement of the dashboard (its time is their sum).
The database is dropped at the end, unless ``--keep``; ``--database NAME`` fills a
named database once and reuses it on later runs (after applying new migrations):

    python benchmarks/queries.py --database erarecon_queries_1m
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from app.access.schemas import Actor, Role  # noqa: E402
from app.db import session as db_session  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://root@127.0.0.1:5432/postgres")
TARGET_MS = 200.0
RUNS = 5
AS_OF = date(2026, 11, 1)

PRACTICES = ("1326048597", "1487652301", "1598765432")
PAYERS = (
    ("55123", "PRAIRIE HEALTH PLAN"),
    ("60054", "ACME HEALTH PLAN"),
    ("87726", "SUMMIT MUTUAL"),
    ("12345", "BIG SKY CARE"),
    ("99999", "PLAINS BENEFIT"),
    ("31415", "HIGH DESERT HEALTH"),
)
# (category, disputable, weight): most lines match; the rest spread over the kinds
CATEGORIES = (
    ("matched", False, 60),
    ("fee_schedule_underpaid", True, 10),
    ("mpr_overapplied", True, 4),
    ("bundled_incorrectly", True, 3),
    ("units_reduced", True, 2),
    ("code_changed", True, 1),
    ("bilateral_underpaid", True, 1),
    ("exempt_reduced", True, 1),
    ("denied", False, 3),
    ("overpaid", False, 4),
    ("no_contract", False, 4),
    ("no_rate", False, 2),
    ("secondary_payment", False, 3),
    ("reversed", False, 2),
)
STATUSES = (("open", 85), ("disputed", 8), ("recovered", 3), ("upheld", 2), ("written_off", 2))
CODES = ("64483", "64484", "64493", "64494", "64490", "64635", "62323", "27096", "20610")


def _weighted(rng: random.Random, table: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(table, weights=[row[-1] for row in table])[0]


def _text(value: Any) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _copy(
    conn: psycopg.Connection[Any], table: str, columns: list[str], rows: Iterator[Any]
) -> int:
    count = 0
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            block: list[str] = []
            for row in rows:
                block.append("\t".join(map(_text, row)))
                count += 1
                if len(block) >= 20_000:
                    copy.write("\n".join(block) + "\n")
                    block.clear()
            if block:
                copy.write("\n".join(block) + "\n")
    return count


def fill(conninfo: str, lines: int, seed: int = 7) -> None:
    """Files → remittances → claims (3 lines) → lines → one result per line."""
    rng = random.Random(seed)
    claims = (lines + 2) // 3
    per_remittance = 1000
    remittances = (claims + per_remittance - 1) // per_remittance
    now = datetime.now(UTC)
    start = date(2024, 11, 1)
    rem_rows: list[tuple[Any, ...]] = []
    for r in range(remittances):
        practice = PRACTICES[r % len(PRACTICES)]
        payer_id, payer_name = PAYERS[r % len(PAYERS)]
        paid_on = start + timedelta(days=(r * 730) // max(remittances, 1))
        rem_rows.append((uuid.uuid4(), uuid.uuid4(), practice, payer_id, payer_name, paid_on))
    with psycopg.connect(conninfo) as conn:
        _copy(
            conn,
            "era_files",
            "id content_hash filename size_bytes raw_bytes received_at status claims_count "
            "duplicates_count lines_count warnings validation_status validation_findings "
            "practice_keys".split(),
            (
                (fid, uuid.uuid4().hex + uuid.uuid4().hex, f"bench-{i}.835", 0, "", now)
                + ("processed", per_remittance, 0, per_remittance * 3, "[]", "done", "[]")
                + (f'["{practice}"]',)
                for i, (_rid, fid, practice, _p, _n, _d) in enumerate(rem_rows)
            ),
        )
        _copy(
            conn,
            "remittances",
            "id file_id position control_number payment_amount payment_date trace_number "
            "payer_id payer_name payer_identifiers payer_address payee_name payee_npi "
            "payee_address practice_key claims_count warnings".split(),
            (
                (rid, fid, 1, "0001", "100000.00", paid_on, f"BENCH{i:08d}", payer, name)
                + (f'["{payer}"]', "{}", "BENCH PRACTICE", practice, "{}", practice)
                + (per_remittance, "[]")
                for i, (rid, fid, practice, payer, name, paid_on) in enumerate(rem_rows)
            ),
        )
        claim_rows: list[tuple[uuid.UUID, int]] = []

        def claims_iter() -> Iterator[tuple[Any, ...]]:
            for c in range(claims):
                r = c // per_remittance
                rid, fid, practice, payer, _name, paid_on = rem_rows[r]
                cid = uuid.uuid4()
                claim_rows.append((cid, r))
                yield (
                    cid,
                    rid,
                    fid,
                    c % per_remittance + 1,
                    uuid.uuid4().hex + uuid.uuid4().hex,
                    f"PA{c:09d}",
                    "1",
                    "3000.00",
                    "1500.00",
                    f"PCN{c:010d}",
                    f"PATIENT{c % 997}, TEST",
                    "[]",
                    payer,
                    practice,
                    paid_on,
                )

        _copy(
            conn,
            "claim_payments",
            "id remittance_id file_id position identity claim_id status_code charge_amount "
            "paid_amount payer_claim_number patient_name remark_codes payer_id practice_key "
            "payment_date".split(),
            claims_iter(),
        )
        line_ids: list[uuid.UUID] = []

        def lines_iter() -> Iterator[tuple[Any, ...]]:
            for n in range(lines):
                cid, _r = claim_rows[n // 3]
                lid = uuid.uuid4()
                line_ids.append(lid)
                code = CODES[n % len(CODES)]
                yield (lid, cid, n % 3 + 1, "HC", code, "[]", "1000.00", "400.00", "[]", "[]")

        _copy(
            conn,
            "service_lines",
            "id claim_payment_id position procedure_qualifier procedure_code modifiers "
            "charge_amount paid_amount original_modifiers remark_codes".split(),
            lines_iter(),
        )

        def results_iter() -> Iterator[tuple[Any, ...]]:
            for n in range(lines):
                cid, r = claim_rows[n // 3]
                rid, fid, practice, payer, name, paid_on = rem_rows[r]
                category, disputable, _w = _weighted(rng, CATEGORIES)
                status = _weighted(rng, STATUSES)[0] if disputable else "open"
                expected = Decimal(rng.randint(20000, 90000)) / 100
                variance = (
                    Decimal(rng.randint(100, 20000)) / 100
                    if disputable
                    else (Decimal("-12.50") if category == "overpaid" else Decimal("0.00"))
                )
                actual = expected - variance
                deadline = paid_on + timedelta(days=rng.choice((90, 180, 365)))
                yield (
                    uuid.uuid4(),
                    line_ids[n],
                    cid,
                    rid,
                    fid,
                    None if category == "no_contract" else f"{payer}-2026",
                    payer,
                    payer,
                    name,
                    practice,
                    paid_on,
                    paid_on - timedelta(days=20),
                    CODES[n % len(CODES)],
                    "[]",
                    expected,
                    actual,
                    variance,
                    category,
                    disputable,
                    "bench",
                    "[]",
                    "[]",
                    None if category == "no_contract" else deadline,
                    status,
                    variance if status == "recovered" else None,
                    now,
                )

        _copy(
            conn,
            "pricing_results",
            "id service_line_id claim_payment_id remittance_id file_id contract_id payer_id "
            "packet_payer_id packet_payer_name practice_key payment_date service_date "
            "procedure_code modifiers expected_amount actual_amount variance_amount category "
            "disputable explanation carc rarc dispute_deadline status recovered_amount "
            "priced_at".split(),
            results_iter(),
        )
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


class Capture:
    """The SQL statements run while it is on, with their parameters and time."""

    def __init__(self, engine: Any) -> None:
        self.on = False
        self.statements: list[tuple[float, str, Any]] = []
        self._start = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self._start = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.on and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.statements.append((time.perf_counter() - self._start, statement, params))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--no-explain", dest="explain", action="store_false")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--database",
        metavar="NAME",
        help="use this database, filling it only if it does not exist yet, and keep it "
        "(migrations are applied on each run, so new indexes are built on the stored data)",
    )
    args = parser.parse_args()

    name = args.database or f"erarecon_queries_{os.getpid()}_{int(time.time())}"
    keep = args.keep or args.database is not None
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        exists = (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    conninfo = f"{base}/{name}"
    url = conninfo.replace("postgresql://", "postgresql+psycopg://")
    try:
        started = time.perf_counter()
        upgrade(url)
        if exists:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("ANALYZE pricing_results")
            print(f"reused database {name}; migrated in {time.perf_counter() - started:.1f} s")
        else:
            fill(conninfo, args.lines)
            print(
                f"filled {args.lines:,} pricing results (and their lines, claims, "
                f"remittances, files) in {time.perf_counter() - started:.1f} s"
            )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {_load()}")
        _print_totals_rows(conninfo)
        engine = db_session.configure(url)
        capture = Capture(engine)
        return run_queries(capture, explain=args.explain)
    finally:
        if db_session._engine is not None:
            db_session.get_engine().dispose()
        if not keep:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")


def _print_totals_rows(conninfo: str) -> None:
    """How many rows ``dispute_totals`` holds (the dashboard sums them), if it exists."""
    with psycopg.connect(conninfo) as conn:
        if conn.execute("SELECT to_regclass('dispute_totals')").fetchone() == (None,):
            return
        row = conn.execute("SELECT count(*) FROM dispute_totals").fetchone()
        print(f"dispute_totals: {row[0] if row else 0:,} rows")


def _load() -> str:
    """The 1-, 5- and 15-minute load averages: the machine may be shared."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def run_queries(capture: Capture, *, explain: bool) -> int:
    from app.disputes import service as disputes
    from app.reconciliation import queries as recon

    admin = Actor(name="benchmark", role=Role.ADMIN)

    def variances(**kw: Any) -> Callable[[Any], Any]:
        return lambda s: recon.list_variances(s, actor=admin, as_of=AS_OF, limit=50, **kw)

    with db_session.SessionLocal() as session:
        first = recon.list_variances(session, actor=admin, as_of=AS_OF, limit=50)
        cursor = first.next_cursor
        for _ in range(19):  # page 20
            cursor = recon.list_variances(
                session, actor=admin, as_of=AS_OF, limit=50, cursor=cursor
            ).next_cursor
        packets = disputes.list_packets(session, actor=admin, as_of=AS_OF)
        packet_id = packets.packets[0].id
        # a day inside the stored payment dates on which nothing was paid (a weekend,
        # say): the planner expects an average day's results there
        unpaid_day = session.execute(
            text(
                "SELECT d::date FROM generate_series("
                "(SELECT min(payment_date) FROM pricing_results), "
                "(SELECT max(payment_date) FROM pricing_results), interval '1 day') AS d "
                "WHERE NOT EXISTS (SELECT 1 FROM pricing_results WHERE payment_date = d::date) "
                "LIMIT 1"
            )
        ).scalar_one()
        session.rollback()

    cases: list[tuple[str, Callable[[Any], Any]]] = [
        ("variances: first page", variances()),
        ("variances: page 21 (cursor)", variances(cursor=cursor)),
        ("variances: payer 60054", variances(payer_id="60054")),
        ("variances: category bundled_incorrectly", variances(category="bundled_incorrectly")),
        ("variances: status disputed", variances(status="disputed")),
        ("variances: status expired", variances(status="expired")),
        (
            f"variances: paid {unpaid_day} (none)",
            variances(date_from=unpaid_day, date_to=unpaid_day),
        ),
        (
            "variances: paid in one month",
            variances(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31)),
        ),
        (
            "variances: paid in 6 months",
            variances(date_from=date(2026, 1, 1), date_to=date(2026, 6, 30)),
        ),
        (
            "variances: paid in 9 months",
            variances(date_from=date(2025, 10, 1), date_to=date(2026, 6, 30)),
        ),
        (
            "variances: paid in one year",
            variances(date_from=date(2025, 7, 1), date_to=date(2026, 6, 30)),
        ),
        ("packets list", lambda s: disputes.list_packets(s, actor=admin, as_of=AS_OF)),
        (
            "one packet, first page",
            lambda s: disputes.get_packet(
                s, packet_id=packet_id, actor=admin, as_of=AS_OF, limit=50
            ),
        ),
        ("dashboard", lambda s: disputes.dashboard(s, actor=admin, as_of=AS_OF)),
    ]
    print()
    print(f"{'query':<38}{'median ms':>10}{'min ms':>9}{'max ms':>9}{'SQL':>5}  target")
    missed = 0
    slowest: dict[str, tuple[float, str, Any]] = {}
    explained: list[tuple[str, tuple[float, str, Any]]] = []
    for label, call in cases:
        times: list[float] = []
        for run in range(RUNS + 1):
            with db_session.SessionLocal() as session:
                capture.statements.clear()
                capture.on = True
                start = time.perf_counter()
                call(session)
                elapsed = (time.perf_counter() - start) * 1000
                capture.on = False
                session.rollback()  # the services record reads in the audit log
            if run:  # the first run warms the cache
                times.append(elapsed)
        statements = list(capture.statements)
        if statements:
            slowest[label] = max(statements, key=lambda s: s[0])
            if label == "dashboard":
                explained += [(f"{label}: statement {n + 1}", s) for n, s in enumerate(statements)]
            else:
                explained.append((f"{label}: slowest statement", slowest[label]))
        median = statistics.median(times)
        verdict = "met" if median < TARGET_MS else f"MISSED by {median - TARGET_MS:.0f} ms"
        missed += median >= TARGET_MS
        print(
            f"{label:<38}{median:>10.1f}{min(times):>9.1f}{max(times):>9.1f}"
            f"{len(statements):>5}  {verdict}"
        )
    if explain:
        engine = db_session.get_engine()
        for label, (seconds, statement, params) in explained:
            print(f"\n--- {label} ({seconds * 1000:.1f} ms)")
            raw = engine.raw_connection()
            try:
                with raw.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                    for (line,) in cur.fetchall():
                        print(f"  {line}")
                raw.rollback()
            finally:
                raw.close()
    print(f"\n{len(cases) - missed} of {len(cases)} under {TARGET_MS:.0f} ms")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
