"""Ingest speed and memory, side by side with the open 835 tools, in one run.

    python benchmarks/ingest.py                      # 10,000 claims (30,000 lines)
    python benchmarks/ingest.py --claims 100000 --only era-recon-postgresql

Generates one balanced 5010 835 (``gen835.generate_835``), then runs each contender
in a fresh process on the same file, in ``--repeat`` rounds (5 by default: every
contender once a round, so a slower spell of a shared machine falls on all of them;
the same work took up to ±20 % more or less CPU time from one minute to the next on
the machine of RESULTS.md), and prints each one's median seconds over the rounds
with the fastest and slowest, service lines per second, the ratio to pyx12's
validating reader and to edi-835-parser (of the medians; then round by round for
era-recon), and the peak resident memory:

- ``pyx12 X12ContextReader`` — pyx12's loop-aware, validating reader, walking every
  segment (what a pyx12-based tool pays to read a file with validation);
- ``pyx12 X12Reader`` — pyx12's bare tokenizer (the floor era-recon builds on);
- ``edi-835-parser`` — ``edi_835_parser.parse(path).to_dataframe()``, installed in a
  separate virtual environment (``benchmarks/.peers``), never a project dependency;
- ``era-recon`` on SQLite and on PostgreSQL — the whole ingest: parse, structural
  checks, duplicate checks, contract matching, repricing, and storing every row,
  committed. The file's payer and payee are those of the sample contract
  ``contracts/summit-ppo.yaml`` (loaded first), so every line is priced under a
  contract — fee schedule, multiple-procedure and bilateral rules, bundling edits —
  and the output says how many were (a payer without a contract would only be
  marked ``no_contract``, a much lighter path). Files from
  ``service.PROCESS_BYTES`` on are read and priced in a child process: its peak
  memory is shown as well.

Timings exclude interpreter start and imports (each contender times its own work);
memory is the process's own peak RSS (``VmHWM``), imports included (era-recon:
the writing process + the reading child, whose RSS counts the pages it shares
with the fork server it was forked from).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import venv
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS_VENV = HERE / ".peers"
SUMMIT_PAYER_ID = "71412"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://root@127.0.0.1:5432/postgres")

# ---------------------------------------------------------------- contenders (child side)


def _peak_rss_mb() -> float:
    """This process's own peak resident memory: ``VmHWM`` where Linux gives it.
    ``ru_maxrss`` is not its own: Linux carries the high-water mark of the process
    that started it across ``exec`` (subprocess forks this benchmark's parent, which
    holds the generated file), so it reported the parent's peak for contenders that
    used less."""
    import resource

    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_pyx12_context(path: str) -> dict[str, float]:
    import logging

    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12context

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    params = pyx12.params.params()
    errh = pyx12.error_handler.errh_null()
    start = time.perf_counter()
    lines = 0
    with open(path, encoding="ascii") as handle:
        reader = pyx12.x12context.X12ContextReader(params, errh, handle)
        for node in reader.iter_segments():
            if node.id == "SVC":
                lines += 1
    return {"seconds": time.perf_counter() - start, "lines": lines}


def run_pyx12_bare(path: str) -> dict[str, float]:
    import pyx12.x12file

    start = time.perf_counter()
    lines = 0
    with open(path, encoding="ascii") as handle:
        for seg in pyx12.x12file.X12Reader(handle):
            if seg.get_seg_id() == "SVC":
                lines += 1
    return {"seconds": time.perf_counter() - start, "lines": lines}


def run_edi_835_parser(path: str) -> dict[str, float]:
    import edi_835_parser

    start = time.perf_counter()
    frame = edi_835_parser.parse(path).to_dataframe()
    return {"seconds": time.perf_counter() - start, "lines": len(frame)}


def run_era_recon(path: str, database_url: str) -> dict[str, float]:
    from app.access.schemas import CLI_ACTOR
    from app.contracts.service import load_paths
    from app.db import session as db_session
    from app.db.migrate import upgrade
    from app.reconciliation.prepare import warm_up
    from app.reconciliation.service import ingest_file

    # as `era-recon ingest` and the web app do as they start; then, as in a running
    # service, wait for the fork server's imports (no contender's imports are timed)
    warm_up(wait=True)
    upgrade(database_url)
    db_session.configure(database_url)
    with db_session.SessionLocal.begin() as session:
        load_paths(session, paths=[ROOT / "contracts"], actor=CLI_ACTOR)
    data = Path(path).read_bytes()
    start = time.perf_counter()
    with db_session.SessionLocal.begin() as session:
        result = ingest_file(
            session, data=data, filename=Path(path).name, actor=CLI_ACTOR, validate_inline_lines=0
        )
    seconds = time.perf_counter() - start
    from sqlalchemy import func, select

    from app.db.models import PricingResult
    from app.reconciliation import prepare

    with db_session.SessionLocal() as session:
        unpriced = session.scalar(
            select(func.count()).where(PricingResult.category == "no_contract")
        )
    return {
        "seconds": seconds,
        "lines": float(result.lines),
        "contract_lines": float(result.lines - (unpriced or 0)),
        "child_peak_rss_mb": prepare.last_child_peak_kb / 1024,
    }


CHILD = {
    "pyx12-context": run_pyx12_context,
    "pyx12-bare": run_pyx12_bare,
    "edi-835-parser": run_edi_835_parser,
}

# ---------------------------------------------------------------------- parent side


def _peers_python() -> Path:
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        print("creating benchmarks/.peers with edi-835-parser 1.8.0 …", file=sys.stderr)
        venv.create(PEERS_VENV, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "edi-835-parser==1.8.0"],
            check=True,
        )
    return python


def _child(python: Path | str, *args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run(
        [str(python), str(Path(__file__).resolve()), "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def summit_file(claims: int, lines_per_claim: int, *, prefix: str) -> Path:
    """A generated 835 in a new temporary folder, with the payer (REF*2U) and payee
    NPI of contracts/summit-ppo.yaml, so every line is priced under a contract."""
    sys.path.insert(0, str(HERE))
    from gen835 import generate_835

    path = Path(tempfile.mkdtemp(prefix=prefix)) / f"gen-{claims}.835"
    path.write_bytes(
        generate_835(
            claims,
            lines_per_claim=lines_per_claim,
            payer_id=SUMMIT_PAYER_ID,
            payer_name="SUMMIT HEALTH PPO",
        )
    )
    return path


def fresh_postgres(prefix: str = "erarecon_bench_") -> tuple[str, str]:
    """A new empty database: its name and its SQLAlchemy URL."""
    import psycopg

    name = f"{prefix}{os.getpid()}_{int(time.time() * 1000)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return name, f"{base}/{name}"


def drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--lines-per-claim", type=int, default=3)
    parser.add_argument("--only", action="append", help="run only this contender (repeatable)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="rounds: every contender runs once a round; medians are compared (default 5)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, path, *rest = args.child
        if kind == "era-recon":
            result = run_era_recon(path, rest[0])
        else:
            result = CHILD[kind](path)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return

    path = summit_file(args.claims, args.lines_per_claim, prefix="era-bench-")
    workdir = path.parent
    size_mb = path.stat().st_size / 1e6
    print(
        f"file: {args.claims:,} claims × {args.lines_per_claim} lines, {size_mb:.1f} MB; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores"
    )

    wanted = set(args.only or [])
    contenders: list[tuple[str, Any]] = [
        ("pyx12 X12ContextReader", lambda: _child(sys.executable, "pyx12-context", str(path))),
        ("pyx12 X12Reader", lambda: _child(sys.executable, "pyx12-bare", str(path))),
        ("edi-835-parser", lambda: _child(_peers_python(), "edi-835-parser", str(path))),
        ("era-recon-sqlite", lambda: _era_recon_sqlite(path, workdir)),
        ("era-recon-postgresql", lambda: _era_recon_postgresql(path)),
    ]
    # each round runs every contender once, in a fresh process (era-recon into a
    # fresh database): a slower or faster spell of a shared machine falls on all of
    # them alike, and each contender's median over the rounds is compared
    runs: dict[str, list[dict[str, float]]] = {}
    for round_ in range(1, args.repeat + 1):
        for name, run in contenders:
            if wanted and name not in wanted:
                continue
            print(f"  round {round_}: running {name} …", file=sys.stderr, flush=True)
            runs.setdefault(name, []).append(run())
    results = {name: _median_run(found) for name, found in runs.items()}

    total_lines = args.claims * args.lines_per_claim
    context = results.get("pyx12 X12ContextReader")
    peer = results.get("edi-835-parser")
    print()
    if args.repeat > 1:
        print(
            f"median of {args.repeat} rounds (every contender once a round, in a fresh "
            "process); range: the fastest and slowest round; peak MB: the largest"
        )
    print(
        f"{'contender':<24}{'seconds':>9}{'range':>13}{'lines/s':>11}{'× ctx':>8}{'× edi':>8}"
        f"{'peak MB':>9}{'child MB':>10}"
    )
    for name, r in results.items():
        rate = total_lines / r["seconds"]
        vs_ctx = rate / (total_lines / context["seconds"]) if context else float("nan")
        vs_peer = rate / (total_lines / peer["seconds"]) if peer else float("nan")
        child_mb = r.get("child_peak_rss_mb")
        spread = f"{r['fastest']:.2f}–{r['slowest']:.2f}"
        print(
            f"{name:<24}{r['seconds']:>9.2f}{spread:>13}{rate:>11,.0f}{vs_ctx:>8.1f}"
            f"{vs_peer:>8.2f}{r['peak_rss_mb']:>9.0f}"
            f"{(f'{child_mb:.0f}' if child_mb else '-'):>10}"
        )
    for name, r in results.items():
        if "contract_lines" in r:
            priced, lines = r["contract_lines"], r["lines"]
            print(f"{name}: {priced:,.0f} of {lines:,.0f} lines priced under a contract")
    for name in ("era-recon-postgresql", "era-recon-sqlite"):
        if name in results and context and peer:
            if args.repeat > 1:
                # the same ratios round by round (each round's own runs side by side)
                rounds = zip(
                    runs[name], runs["pyx12 X12ContextReader"], runs["edi-835-parser"], strict=True
                )
                ratios = ", ".join(
                    f"{c['seconds'] / own['seconds']:.1f}×/{e['seconds'] / own['seconds']:.2f}×"
                    for own, c, e in rounds
                )
                print(f"{name}, round by round (× ctx / × edi): {ratios}")
            r = results[name]
            rate = total_lines / r["seconds"]
            ctx_ratio = rate / (total_lines / context["seconds"])
            peer_ratio = rate / (total_lines / peer["seconds"])
            verdict = "met" if ctx_ratio >= 10 and peer_ratio >= 1 else "MISSED"
            short = [
                f"{what} needs {needed / ratio - 1:.0%} more lines/s"
                for what, ratio, needed in (("10×", ctx_ratio, 10), ("1×", peer_ratio, 1))
                if ratio < needed
            ]
            print(
                f"target ({name}): ≥10× X12ContextReader ({ctx_ratio:.1f}×) and ≥1× "
                f"edi-835-parser ({peer_ratio:.2f}×): {verdict}"
                + (f" ({'; '.join(short)})" if short else "")
            )
    for name, r in results.items():
        if name.startswith("era-recon") and args.claims >= 100_000:
            # the memory target, for both processes of the ingest together
            both = r["peak_rss_mb"] + r.get("child_peak_rss_mb", 0)
            verdict = "met" if both < 400 else f"MISSED by {both - 400:.0f} MB"
            print(
                f"target ({name}): peak memory under 400 MB for {args.claims:,} claims, "
                f"writing process and reading child together ({both:.0f} MB): {verdict}"
            )


def _era_recon_sqlite(path: Path, workdir: Path) -> dict[str, float]:
    database = workdir / f"bench-{uuid.uuid4().hex}.db"
    try:
        return _child(sys.executable, "era-recon", str(path), f"sqlite:///{database}")
    finally:
        database.unlink(missing_ok=True)


def _era_recon_postgresql(path: Path) -> dict[str, float]:
    name, url = fresh_postgres()
    try:
        return _child(sys.executable, "era-recon", str(path), url)
    finally:
        drop_postgres(name)


def _median_run(found: list[dict[str, float]]) -> dict[str, float]:
    """One contender's rounds as one: the median round's values (by seconds), with
    the fastest and slowest seconds, and the largest peak memory of any round."""
    ordered = sorted(found, key=lambda r: r["seconds"])
    middle = dict(ordered[(len(ordered) - 1) // 2])
    if len(ordered) % 2 == 0:
        middle["seconds"] = statistics.median(r["seconds"] for r in ordered)
    middle["fastest"], middle["slowest"] = ordered[0]["seconds"], ordered[-1]["seconds"]
    for key in ("peak_rss_mb", "child_peak_rss_mb"):
        peaks = [r[key] for r in ordered if r.get(key)]
        if peaks:
            middle[key] = max(peaks)
    return middle


if __name__ == "__main__":
    main()
