"""How the machine's cores scale: the same CPU-bound work alone, then two at once.

    python benchmarks/cores.py              # 10 trials of 10,000 claims read
    python benchmarks/cores.py --trials 20 --claims 5000

era-recon's ingest on PostgreSQL keeps two cores busy at once (the reading child on
one, the PostgreSQL backend and the writing process on the other), while pyx12's
readers and edi-835-parser run in one process on one core. On a virtual machine two
busy cores may each run slower than one busy core does (they may share a physical
core's threads, its caches or its memory bandwidth with each other or with other
tenants). This measures that: era-recon's reader (``stream_835``, pure Python) reads
the same generated file in a process pinned to core 0 with the other core idle, then
in two processes at once pinned to cores 0 and 1; each trial prints both, and the
summary how far the same work's CPU time moved from one trial to the next alone, and
what it took in a pair against alone (1.00: the cores do not slow each other).
Trials alternate, so a slower spell of the machine falls on both kinds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def _read(data: bytes, cpu: int, out: Any) -> None:
    """Read ``data`` through era-recon's reader on core ``cpu``; put the CPU seconds."""
    from app.x12.reader import stream_835

    os.sched_setaffinity(0, {cpu})
    start = time.process_time()
    for _ in stream_835(data):
        pass
    out.put(time.process_time() - start)


def _run(data: bytes, cpus: list[int]) -> list[float]:
    context = get_context("fork")
    out = context.Queue()
    workers = [context.Process(target=_read, args=(data, cpu, out)) for cpu in cpus]
    for worker in workers:
        worker.start()
    seconds = [out.get() for _ in workers]
    for worker in workers:
        worker.join()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--claims", type=int, default=10_000)
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("cores.py needs two cores")

    from gen835 import generate_835

    data = generate_835(args.claims, lines_per_claim=3)
    from app.x12.reader import stream_835

    for _ in stream_835(data):  # imports and first-use costs out of the way
        pass
    print(f"{os.cpu_count()} cores; era-recon's reader on {args.claims:,} claims, CPU s")
    print(f"{'trial':>5}{'alone':>8}{'pair (each)':>16}{'pair / alone':>14}")
    ratios: list[float] = []
    alones: list[float] = []
    for trial in range(1, args.trials + 1):
        (alone,) = _run(data, [0])
        pair = _run(data, [0, 1])
        ratio = statistics.mean(pair) / alone
        ratios.append(ratio)
        alones.append(alone)
        print(f"{trial:>5}{alone:>8.2f}{pair[0]:>8.2f}{pair[1]:>8.2f}{ratio:>14.2f}", flush=True)
    print(
        f"the same work alone took {min(alones):.2f}–{max(alones):.2f} CPU s "
        f"(the slowest {max(alones) / min(alones) - 1:.0%} above the fastest)"
    )
    print(
        f"the same work in a pair took {statistics.median(ratios):.2f}× its CPU time alone "
        f"(median of {args.trials}; {min(ratios):.2f}–{max(ratios):.2f}×)"
    )


if __name__ == "__main__":
    main()
