"""Upload latency and throughput of ``POST /v1/remittances`` against a real server.

    python benchmarks/api_load.py                    # 4 clients, 2,000 files, ≤ 60 s
    python benchmarks/api_load.py --clients 8 --requests 4000 --workers 2

What it does, start to end, and cleans up after itself:

1. creates a throw-away PostgreSQL database (``BENCH_PG_ADMIN``, default
   ``postgresql://root@127.0.0.1:5432/postgres``) and runs ``era-recon db upgrade``;
2. loads the sample contracts (``era-recon contracts load contracts``) and makes a
   key with ``era-recon keys create --role clearinghouse --json``;
3. starts ``era-recon serve --workers N`` on 127.0.0.1, on a free port, and waits
   until its processes are idle (each worker's fork server imports the app once,
   a few seconds of CPU after /healthz already answers);
4. POSTs distinct one-claim 835 files (each its own trace number and claim id, so
   each is stored, repriced and validated inline by pyx12) from ``--clients``
   concurrent httpx clients, loopback only, until ``--requests`` files are sent or
   ``--seconds`` have passed; a few warm-up files per client are not counted;
5. prints p50/p95/p99 latency and files/s against the targets (p95 < 50 ms,
   ≥ 100 files/s), the CPU each party spent per counted file (the server's
   processes, the database's backends, this load generator; read from /proc, so
   Linux only), how the server's CPU was shared by its processes (keep-alive
   clients all on one worker show as one large share) and the load average, then
   stops the server and drops the database.

The machine is shared, so compare only runs made one after the other; the CPU per
file moves much less with the machine's load than latency and files/s do.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from gen835 import generate_835  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://root@127.0.0.1:5432/postgres")
TARGET_P95_MS = 50.0
TARGET_FILES_PER_S = 100.0
WARMUP_PER_CLIENT = 10
ERA_RECON = (sys.executable, "-c", "from app.cli.main import main; main()")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _era_recon(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [*ERA_RECON, *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    return out.stdout


class Files:
    """Distinct one-claim files from one template: trace number and claim id vary."""

    def __init__(self) -> None:
        self._template = generate_835(1, trace_number="TRACE00000000")
        assert b"CLP*PA000001*" in self._template
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> bytes:
        with self._lock:
            self._next += 1
            n = self._next
        return self._template.replace(b"TRACE00000000", f"LOAD{n:09d}".encode()).replace(
            b"CLP*PA000001*", f"CLP*LD{n:09d}*".encode()
        )


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU of each process still alive (from /proc/PID/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


def _session_pids(session_id: int) -> list[int]:
    """The processes of a session (the server: its supervisor and workers)."""
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id:  # field 6 of stat: session id
            pids.append(int(entry))
    return pids


def _wait_until_idle(session_id: int, *, limit: float = 120.0) -> float:
    """Seconds until the server's processes are idle: answering /healthz comes before
    each worker's fork server has imported the app (a few seconds of CPU per worker,
    once per start), which would otherwise be measured with the first uploads."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = sum(_cpu_seconds(_session_pids(session_id)).values())
        time.sleep(1.0)
        if sum(_cpu_seconds(_session_pids(session_id)).values()) - before < 0.05:
            break
    return time.monotonic() - started


def _backend_pids(name: str) -> list[int]:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    return [int(pid) for (pid,) in rows]


class CpuMeter:
    """CPU seconds spent by the server, the database's backends and this process
    between ``start()`` and ``stop()`` (a process that ended in between is missed)."""

    def __init__(self, server_session: int, database: str) -> None:
        self._server_session = server_session
        self._database = database
        self._before: dict[str, dict[int, float]] = {}
        self._client = 0.0
        self.spent: dict[str, float] = {}
        self.server_processes: list[float] = []  # CPU seconds of each, largest first

    def _sample(self) -> dict[str, dict[int, float]]:
        return {
            "server": _cpu_seconds(_session_pids(self._server_session)),
            "postgres": _cpu_seconds(_backend_pids(self._database)),
        }

    def start(self) -> None:
        self._before = self._sample()
        self._client = time.process_time()

    def stop(self) -> None:
        client = time.process_time() - self._client
        after = self._sample()
        for party, now in after.items():
            before = self._before[party]
            spent = [cpu - before.get(pid, 0.0) for pid, cpu in now.items()]
            self.spent[party] = sum(spent)
            if party == "server":
                self.server_processes = sorted(spent, reverse=True)
        self.spent["client"] = client


def _client(
    base: str,
    secret: str,
    files: Files,
    ready: threading.Barrier,
    stop: threading.Event,
    budget: list[int],
    lock: threading.Lock,
    latencies: list[float],
    spans: list[tuple[float, float]],
    failures: list[str],
) -> None:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/edi-x12"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(WARMUP_PER_CLIENT):
            client.post("/v1/remittances", content=files.take())
        ready.wait()  # every client warmed up: the measured window starts together
        while not stop.is_set():
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            body = files.take()
            start = time.perf_counter()
            response = client.post("/v1/remittances", content=body)
            elapsed = time.perf_counter() - start
            if response.status_code != 201:
                failures.append(f"{response.status_code}: {response.text[:200]}")
            latencies.append(elapsed)
            spans.append((start, start + elapsed))


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


@dataclass
class BenchDatabase:
    """A throw-away PostgreSQL database made ready for uploads: its name, the
    environment that points era-recon at it, and a clearinghouse key's secret."""

    name: str
    env: dict[str, str]
    secret: str


@contextmanager
def bench_database(prefix: str, key_name: str) -> Iterator[BenchDatabase]:
    """Create the database, migrate it, load the sample contracts and make a
    clearinghouse key (``era-recon`` commands, as a user would); drop it after."""
    name = f"{prefix}_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"{url}/{name}",
        "ERA_RECON_CONTRACTS": str(ROOT / "contracts"),
        "ERA_RECON_SECRET_KEY": "api-load-benchmark",
        "ERA_RECON_LOG_LEVEL": "WARNING",
    }
    try:
        _era_recon(env, "db", "upgrade")
        _era_recon(env, "contracts", "load", str(ROOT / "contracts"))
        created = _era_recon(
            env, "keys", "create", "--role", "clearinghouse", "--name", key_name, "--json"
        )
        yield BenchDatabase(name, env, json.loads(created)["key"])
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2, help="era-recon serve --workers")
    parser.add_argument(
        "--db-prefix",
        default=os.environ.get("BENCH_DB_PREFIX", "erarecon_load"),
        help="name prefix of the throw-away database (env BENCH_DB_PREFIX)",
    )
    args = parser.parse_args()

    with bench_database(args.db_prefix, "load") as database:
        return _run(args, database)


def _run(args: argparse.Namespace, database: BenchDatabase) -> int:
    name, env, secret = database.name, database.env, database.secret
    server: subprocess.Popen[bytes] | None = None
    try:
        port = _free_port()
        server = subprocess.Popen(
            [*ERA_RECON, "serve", "--host", "127.0.0.1"]
            + ["--port", str(port), "--workers", str(args.workers)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        settled = _wait_until_idle(os.getsid(server.pid))

        files = Files()
        ready = threading.Barrier(args.clients + 1)
        stop = threading.Event()
        lock = threading.Lock()
        budget = [args.requests]
        latencies: list[float] = []
        spans: list[tuple[float, float]] = []
        failures: list[str] = []
        threads = [
            threading.Thread(
                target=_client,
                args=(base, secret, files, ready, stop, budget, lock, latencies, spans, failures),
            )
            for _ in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        meter = CpuMeter(os.getsid(server.pid), name)
        load_before = os.getloadavg()[0]
        ready.wait(120)
        meter.start()
        started = time.perf_counter()
        limit = started + args.seconds
        while any(t.is_alive() for t in threads) and time.perf_counter() < limit:
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(30)
        wall = time.perf_counter() - started
        meter.stop()
        load_after = os.getloadavg()[0]
        count = len(latencies)
        if not count:
            raise SystemExit("no request was measured")
        # throughput over the counted requests only (each client warmed up first)
        window = max(end for _, end in spans) - min(start for start, _ in spans)
        ms = [x * 1000 for x in latencies]
        rate = count / window if window else 0.0
        p50, p95, p99 = (_percentile(ms, p) for p in (50, 95, 99))
        print(
            f"POST /v1/remittances, one-claim files: {args.clients} clients, "
            f"serve --workers {args.workers}, {count} files in {wall:.1f} s "
            f"(+{WARMUP_PER_CLIENT * args.clients} warm-up, after the started server "
            f"was idle: {settled:.0f} s); python {sys.version.split()[0]}, "
            f"{os.cpu_count()} cores"
        )
        print(
            f"latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  "
            f"mean {statistics.fmean(ms):.1f}  max {max(ms):.1f}"
        )
        print(f"throughput: {rate:.1f} files/s; failures: {len(failures)}")
        print(
            "CPU ms per file: "
            + "  ".join(f"{party} {meter.spent[party] * 1000 / count:.1f}" for party in meter.spent)
            + f"  (total {sum(meter.spent.values()) * 1000 / count:.1f}); "
            f"load average {load_before:.2f} -> {load_after:.2f}"
        )
        # keep-alive clients are spread over the workers when each gets a like share
        shares = [cpu / (meter.spent["server"] or 1) for cpu in meter.server_processes]
        print(
            "server CPU by process, largest first (the workers, then the next busiest): "
            + "  ".join(f"{share:.0%}" for share in shares[: args.workers + 1])
        )
        for failure in failures[:3]:
            print(f"  {failure}")
        p95_ok = p95 < TARGET_P95_MS
        rate_ok = rate >= TARGET_FILES_PER_S
        print(
            f"target p95 < {TARGET_P95_MS:.0f} ms: "
            + ("met" if p95_ok else f"MISSED by {p95 - TARGET_P95_MS:.1f} ms")
        )
        print(
            f"target ≥ {TARGET_FILES_PER_S:.0f} files/s: "
            + ("met" if rate_ok else f"MISSED by {TARGET_FILES_PER_S - rate:.1f} files/s")
        )
        return 0 if p95_ok and rate_ok and not failures else 1
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
