"""PostgreSQL's CPU per ingest of one large file: what the server spends storing it.

    python benchmarks/pg_cpu.py                      # 10,000 claims, 3 runs
    python benchmarks/pg_cpu.py --runs 5 --sql "DROP INDEX ix_pricing_results_payment_date"

Generates the file of ``benchmarks/ingest.py`` (10,000 claims × 3 lines, the payer
and payee of ``contracts/summit-ppo.yaml``, so every line is priced under a contract),
then per run: creates a fresh database (``BENCH_PG_ADMIN``, default
``postgresql://root@127.0.0.1:5432/postgres``), migrates it, loads the sample
contracts, runs each ``--sql`` statement (to try a schema change on a scratch
database), and times one ``ingest_file`` call, committed, as ``era-recon ingest`` runs
it. CPU time is read, before and after the call, from ``/proc/<pid>/stat`` (utime +
stime):

- ``backend``: the PostgreSQL backend(s) of this process's connections — the server's
  work for the ingest alone (COPY, index and foreign-key upkeep, triggers, commit);
- ``all postgres``: every process named ``postgres`` (the backend plus the WAL
  writer, checkpointer and background writer), but also the backends of anything
  else using the same server meanwhile: on a shared machine it is an upper bound;
- ``writer`` and ``reader``: this process (the writing side, its threads included)
  and the process that reads and prices a large file (a child of multiprocessing's
  fork server, counted once it ended).

Wall-clock time is shown too but is noisy on a shared machine; compare CPU. Each run
prints its numbers; the medians follow. The databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from ingest import drop_postgres, fresh_postgres, summit_file  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float | None:
    """utime + stime of a process in seconds, None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces: split after it
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _waited_children_cpu(pid: int) -> float:
    """cutime + cstime of a process: the CPU of its children that ended and were
    waited for."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[13]) + int(fields[14])) / TICK


def _postgres_pids() -> list[int]:
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def _snapshot(pids: list[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for pid in pids:
        cpu = _cpu_of(pid)
        if cpu is not None:
            out[pid] = cpu
    return out


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two snapshots by the processes alive at the second (a
    process started meanwhile counts whole)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _own_cpu() -> tuple[float, float]:
    """This process's CPU, and that of the reading processes that ended: children of
    multiprocessing's fork server (app/reconciliation/prepare.py), which waits for
    them, and of this process."""
    from multiprocessing import forkserver

    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    reader = children.ru_utime + children.ru_stime
    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if server is not None:
        reader += _waited_children_cpu(server)
    return me.ru_utime + me.ru_stime, reader


def one_run(path: Path, statements: list[str], prefix: str) -> dict[str, float]:
    from sqlalchemy import event, text

    from app.access.schemas import CLI_ACTOR
    from app.contracts.service import load_paths
    from app.db import session as db_session
    from app.db.migrate import upgrade
    from app.reconciliation.service import ingest_file

    name, url = fresh_postgres(f"{prefix}pgcpu_")
    try:
        upgrade(url)
        engine = db_session.configure(url)
        backends: set[int] = set()

        @event.listens_for(engine, "connect")
        def _backend(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.add(int(cursor.fetchone()[0]))

        with db_session.SessionLocal.begin() as session:
            load_paths(session, paths=[ROOT / "contracts"], actor=CLI_ACTOR)
            for statement in statements:
                session.execute(text(statement))
        data = path.read_bytes()
        known = set(backends)
        all_before = _snapshot(_postgres_pids())
        own_before = _snapshot(sorted(backends))
        writer_before, reader_before = _own_cpu()
        started = time.perf_counter()
        with db_session.SessionLocal.begin() as session:
            result = ingest_file(
                session, data=data, filename=path.name, actor=CLI_ACTOR, validate_inline_lines=0
            )
        seconds = time.perf_counter() - started
        writer_after, reader_after = _own_cpu()
        own_after = _snapshot(sorted(backends))
        all_after = _snapshot(_postgres_pids())
        if backends - known:
            print(f"  (the ingest opened {len(backends - known)} more connection(s))")
        gone = set(own_before) - set(own_after)
        if gone:
            print(f"  ({len(gone)} backend(s) ended during the ingest: not counted)")
        with db_session.SessionLocal() as session:
            stored = session.execute(text("SELECT count(*) FROM pricing_results")).scalar_one()
        if stored != result.lines:
            raise SystemExit(f"stored {stored} results for {result.lines} lines")
        return {
            "seconds": seconds,
            "backend": _spent(own_before, own_after),
            "all postgres": _spent(all_before, all_after),
            "writer": writer_after - writer_before,
            "reader": reader_after - reader_before,
            "lines": float(result.lines),
        }
    finally:
        if db_session._engine is not None:
            db_session.get_engine().dispose()
            db_session._engine = None
        drop_postgres(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--lines-per-claim", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--sql",
        action="append",
        default=[],
        metavar="STATEMENT",
        help="run this statement on each fresh database before the ingest (repeatable)",
    )
    parser.add_argument(
        "--prefix", default="erarecon_", help="start of the scratch databases' names"
    )
    args = parser.parse_args()

    from app.reconciliation.prepare import warm_up

    warm_up(wait=True)  # started as `era-recon ingest` does, and ready (imports untimed)
    path = summit_file(args.claims, args.lines_per_claim, prefix="era-pgcpu-")
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"file: {args.claims:,} claims × {args.lines_per_claim} lines; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {load}"
    )
    for statement in args.sql:
        print(f"before each ingest: {statement}")
    keys = ("seconds", "backend", "all postgres", "writer", "reader")
    print(f"{'run':<8}" + "".join(f"{key:>14}" for key in keys))
    runs: list[dict[str, float]] = []
    for n in range(args.runs):
        run = one_run(path, args.sql, args.prefix)
        runs.append(run)
        print(f"{n + 1:<8}" + "".join(f"{run[key]:>14.2f}" for key in keys), flush=True)
    medians = (statistics.median(r[key] for r in runs) for key in keys)
    print(f"{'median':<8}" + "".join(f"{value:>14.2f}" for value in medians))
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"(seconds: wall clock; the rest: CPU seconds; load after {load})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
