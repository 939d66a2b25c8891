"""CPU per one-claim upload, in one process: the app driven in process, no network.

    python benchmarks/upload_cpu.py --files 300
    py-spy record -r 500 -f raw -o /tmp/upload.txt -- python benchmarks/upload_cpu.py

Builds a throw-away PostgreSQL database the way ``api_load.py`` does (migrations,
the sample contracts, a clearinghouse key), then POSTs ``--files`` distinct one-claim
835 files to ``create_app()`` through Starlette's ``TestClient`` (the route runs in
its thread pool, as under uvicorn), one after the other, after ``--warm`` uploads
that are not counted. It prints the CPU milliseconds per upload of this process
(app and test client together: ``time.process_time``) and of the database's
backends (from /proc), and the wall time per upload. The machine's other work
moves wall time a lot and CPU time much less: compare CPU, runs made one after the
other. ``--check`` compares every answer's shape with the first one's (status,
keys, counts) so a change that alters the answer shows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from api_load import Files, _backend_pids, _cpu_seconds, bench_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--warm", type=int, default=30)
    parser.add_argument(
        "--db-prefix",
        default=os.environ.get("BENCH_DB_PREFIX", "erarecon_cpu"),
        help="name prefix of the throw-away database (env BENCH_DB_PREFIX)",
    )
    parser.add_argument(
        "--profile",
        metavar="OUT",
        help="profile the counted uploads with yappi (CPU clock, every thread) and write "
        "pstats to OUT (needs `pip install yappi`)",
    )
    args = parser.parse_args()

    with bench_database(args.db_prefix, "cpu") as database:
        name, env, secret = database.name, database.env, database.secret
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "ERA_RECON_SECRET_KEY")})
        os.environ["ERA_RECON_LOG_LEVEL"] = "WARNING"
        from starlette.testclient import TestClient

        from app.config import Settings
        from app.main import create_app

        app = create_app(Settings())
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/edi-x12"}
        files = Files()
        with TestClient(app, headers=headers) as client:
            for _ in range(args.warm):
                response = client.post("/v1/remittances", content=files.take())
                assert response.status_code == 201, response.text
            backends = _backend_pids(name)
            if args.profile:
                import yappi

                yappi.set_clock_type("cpu")
                yappi.start()
            pg_before = _cpu_seconds(backends)
            cpu = time.process_time()
            wall = time.perf_counter()
            for _ in range(args.files):
                response = client.post("/v1/remittances", content=files.take())
                assert response.status_code == 201, response.text
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
            pg_after = _cpu_seconds(backends)
            if args.profile:
                yappi.stop()
                yappi.get_func_stats().save(args.profile, type="pstat")
        pg = sum(pg_after[p] - pg_before.get(p, 0.0) for p in pg_after)
        print(
            f"{args.files} one-claim uploads in process: CPU ms per upload: app+client "
            f"{cpu * 1000 / args.files:.2f}  postgres {pg * 1000 / args.files:.2f}; "
            f"wall ms {wall * 1000 / args.files:.2f}; load average {os.getloadavg()[0]:.2f}"
        )
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
