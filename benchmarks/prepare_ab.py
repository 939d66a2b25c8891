"""The reading child's work, this checkout against another: CPU of ``prepare()`` and
whether the two give the same rows.

    git worktree add /tmp/era-main main
    python benchmarks/prepare_ab.py --other /tmp/era-main            # 3 rounds, CPU
    python benchmarks/prepare_ab.py --other /tmp/era-main --check    # the same rows?

The file is ``benchmarks/ingest.py``'s (10,000 claims × 3 lines, every line priced
under ``contracts/summit-ppo.yaml``). Each round runs ``prepare()`` over it in a fresh
process per checkout, the two alternately: one pass to warm up, then ``--passes``
passes timed with ``time.process_time`` (reading, pricing, building and converting
the rows, pickling the batches as the child does for its pipe). The medians of all
timed passes follow. ``--freeze`` moves what the process holds once the contracts are
loaded out of the cyclic collector's way first (``gc.freeze()``), as the reading child
does, so the collector walks only what ``prepare()`` makes. ``--dialect sqlite``
times the rows converted for SQLite instead of PostgreSQL. On a shared machine
compare only numbers of one run.

``--check`` runs ``prepare()`` in each checkout over that file, three generated files
of other shapes and every 835 of ``tests/fixtures/era``, for both dialects, with a
fixed file id and clock (so even the generated ids must agree), and prices each
parsed claim alone through ``Pricer.price`` and ``priced_values``; then compares
every event, row and value by ``repr`` (a Decimal's exponent included), and the
COPY text of every table, byte for byte, with its rows' ends. ``--corpus
FOLDER`` (repeatable) adds every file of a folder (any that is not an 835 is a
rejection to compare).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _load(root: Path) -> tuple[Any, Any]:
    """The contract index of ``root``'s contracts folder and the reference data, read
    with ``root``'s code."""
    from app.contracts.index import ContractIndex
    from app.contracts.loader import parse_paths
    from app.contracts.reference import load_reference
    from app.contracts.schemas import ContractTerms, FeeSchedule

    loaded = parse_paths([root / "contracts"])
    index = ContractIndex.from_terms(
        ContractTerms(
            item.contract,
            FeeSchedule.of(item.fee_rows),
            None if item.percent_of_rows is None else FeeSchedule.of(item.percent_of_rows),
        )
        for item in loaded.contracts
    )
    return index, load_reference()


def _time(root: Path, data: bytes, passes: int, freeze: bool, dialect: str) -> list[float]:
    import gc
    import uuid
    from datetime import UTC, datetime

    from app.reconciliation.prepare import Pricer, prepare

    index, reference = _load(root)
    if freeze:
        # as the reading child does once its start-up and its contracts are loaded
        gc.freeze()

    def one() -> None:
        events = prepare(
            data,
            file_id=uuid.uuid4(),
            pricer=Pricer(index, reference),
            dialect_key=dialect,
            now=datetime.now(UTC),
            batch_claims=500,
        )
        for event in events:
            pickle.dumps(event, pickle.HIGHEST_PROTOCOL)

    one()
    times = []
    for _ in range(passes):
        start = time.process_time()
        one()
        times.append(time.process_time() - start)
    return times


def _files(data: bytes, corpus: list[Path]) -> list[tuple[str, bytes]]:
    from gen835 import generate_835

    files = [("benchmark", data)]
    for seed, lines in ((1, 5), (2, 2), (3, 7)):
        generated = generate_835(
            2000, lines, seed=seed, payer_id="71412", payer_name="SUMMIT HEALTH PPO"
        )
        files.append((f"generated-{seed}-{lines}", generated))
    for path in sorted((ROOT / "tests" / "fixtures" / "era").glob("*.835")):
        files.append((path.name, path.read_bytes()))
    for folder in corpus:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                files.append((f"{folder.name}/{path.name}", path.read_bytes()))
    return files


def _dump(root: Path, data: bytes, corpus: list[Path]) -> dict[str, list[Any]]:
    import uuid
    from datetime import UTC, datetime

    from app.reconciliation.prepare import Batch, Payee, Pricer, prepare, priced_values
    from app.x12.errors import X12Rejected
    from app.x12.reader import parse_835

    index, reference = _load(root)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    file_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    out: dict[str, list[Any]] = {}
    for name, content in _files(data, corpus):
        records: list[Any] = []
        for dialect in ("postgresql", "sqlite"):
            pricer = Pricer(index, reference)
            try:
                for event in prepare(
                    content,
                    file_id=file_id,
                    pricer=pricer,
                    dialect_key=dialect,
                    now=now,
                    batch_claims=500,
                ):
                    if isinstance(event, Batch):
                        tables = [
                            (t.table, t.names, repr(t.values), repr(t.rows))
                            + (getattr(t, "copy_text", None), getattr(t, "ends", None))
                            for t in event.tables
                        ]
                        records.append(("batch", repr(event.claims), repr(event.starts), tables))
                    else:
                        records.append((type(event).__name__, repr(event)))
            except X12Rejected as error:
                records.append(("rejected", repr(error)))
        try:
            parsed = parse_835(content)
        except X12Rejected:
            parsed = None
        if parsed is not None:
            pricer = Pricer(index, reference)
            for remittance in parsed.remittances:
                payee = Payee.of(remittance)
                for claim in remittance.claims:
                    for result, terms, service_date in pricer.price(claim, payee):
                        values = priced_values(
                            result,
                            terms,
                            service_date,
                            payer_id=remittance.payer_id,
                            payer_name=remittance.payer.name,
                            payment_date=remittance.effective_payment_date,
                        )
                        records.append(("priced", repr(result), repr(values)))
        out[name] = records
    return out


def _worker(root: Path, task: str, file: Path, out: Path, args: argparse.Namespace) -> None:
    sys.path.insert(0, str(root))
    sys.path.insert(0, str(HERE))
    import app

    assert Path(app.__file__).resolve().is_relative_to(root.resolve()), app.__file__
    data = file.read_bytes()
    if task == "time":
        out.write_text(json.dumps(_time(root, data, args.passes, args.freeze, args.dialect)))
    else:
        out.write_bytes(pickle.dumps(_dump(root, data, args.corpus)))


def _run(root: Path, task: str, file: Path, forwarded: list[str]) -> Any:
    with tempfile.TemporaryDirectory(prefix="prepare_ab_") as folder:
        out = Path(folder) / "out"
        command = [sys.executable, __file__, "--worker", str(root), task, str(file), str(out)]
        subprocess.run([*command, *forwarded], check=True, env=os.environ)
        return json.loads(out.read_text()) if task == "time" else pickle.loads(out.read_bytes())


def _compare(mine: dict[str, list[Any]], other: dict[str, list[Any]]) -> int:
    differ = 0
    for name in sorted(mine.keys() | other.keys()):
        a, b = mine.get(name), other.get(name)
        if a == b:
            continue
        differ += 1
        print(f"DIFFERS: {name}")
        for x, y in zip(a or [], b or [], strict=False):
            if x != y:
                print(f"  this checkout: {repr(x)[:500]}\n  other:         {repr(y)[:500]}")
                break
    records = sum(len(v) for v in mine.values())
    results = sum(1 for v in mine.values() for r in v if r[0] == "priced")
    print(f"{len(mine)} files, {records} events and results ({results} priced alone): ", end="")
    print(f"{differ} differ")
    return differ


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, help="the other checkout (e.g. a worktree of main)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3, help="timed passes per process")
    parser.add_argument("--check", action="store_true", help="compare the rows, not the CPU")
    parser.add_argument(
        "--freeze",
        action="store_true",
        help="gc.freeze() once the contracts are loaded, before timing (as the reading child)",
    )
    parser.add_argument(
        "--corpus", type=Path, action="append", default=[], help="--check: a folder of more files"
    )
    parser.add_argument(
        "--dialect", default="postgresql", help="the rows' dialect when timed (e.g. sqlite)"
    )
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        root, task, file, out = args.worker
        _worker(Path(root), task, Path(file), Path(out), args)
        return 0
    if args.other is None:
        parser.error("--other is required")
    sys.path.insert(0, str(HERE))
    from ingest import summit_file

    file = summit_file(10_000, 3, prefix="prepare_ab_")
    try:
        if args.check:
            corpus = [item for path in args.corpus for item in ("--corpus", str(path))]
            mine, other = _run(ROOT, "dump", file, corpus), _run(args.other, "dump", file, corpus)
            return 1 if _compare(mine, other) else 0
        timing = ["--passes", str(args.passes), "--dialect", args.dialect]
        timing += ["--freeze"] if args.freeze else []
        times: dict[str, list[float]] = {"other": [], "this": []}
        for round_ in range(1, args.rounds + 1):
            for label, root in (("other", args.other), ("this", ROOT)):
                found = _run(root, "time", file, timing)
                times[label].extend(found)
                print(f"round {round_} {label:5} CPU s: " + " ".join(f"{t:.3f}" for t in found))
        for label, found in times.items():
            print(f"median {label:5}: {statistics.median(found):.3f} s ({len(found)} passes)")
        return 0
    finally:
        file.unlink()
        file.parent.rmdir()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
