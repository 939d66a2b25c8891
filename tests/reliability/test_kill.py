"""All-or-nothing under a crash (spec/parsing.md: "Nothing of a rejected file is
stored"; STYLE.md: one file is one unit of work): ``era-recon ingest`` is killed with
SIGKILL in the middle of a large file, while it is writing rows, on a throw-away
PostgreSQL database. Nothing of that file is stored, and ingesting it again stores
it whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from benchmarks.gen835 import generate_835
from tests.reliability.pg import engine_for, throwaway_database

CLAIMS = 10_000  # 30,000 service lines: ~1–2 s of writing, in batches of up to 500 claims
FILE_TABLES = (
    "era_files",
    "remittances",
    "claim_payments",
    "service_lines",
    "provider_adjustments",
    "pricing_results",
    "result_events",
)

pytestmark = pytest.mark.postgres_only


def _ingest(url: str, path: Path, *, output: bool = False) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ERA_RECON_VALIDATE_INLINE_LINES": "0",
        "ERA_RECON_CONTRACTS": str(path.parent / "no-contracts"),
    }
    command = [sys.executable, "-c", "from app.cli.main import main; main()", "ingest"]
    pipe = subprocess.PIPE if output else subprocess.DEVNULL
    return subprocess.Popen([*command, "--json", str(path)], env=env, stdout=pipe, stderr=pipe)


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in FILE_TABLES
        }


def _activity(engine, database: str) -> tuple[bool, float]:
    """(whether a backend of ``database`` is writing rows of the file — INSERT or COPY
    — the age in seconds of its open transaction); a backend idle in its transaction
    shows its last statement."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT query, extract(epoch FROM now() - xact_start) AS age "
                "FROM pg_stat_activity WHERE datname = :db "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            ),
            {"db": database},
        ).all()
    tables = ("claim_payments", "service_lines", "pricing_results")
    inserting = any(
        row.query.lstrip().upper().startswith(("INSERT INTO", "COPY "))
        and any(table in row.query for table in tables)
        for row in rows
    )
    return inserting, max((float(row.age) for row in rows), default=0.0)


def test_sigkill_mid_file_stores_nothing_and_a_retry_stores_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "large.835"
    path.write_bytes(generate_835(CLAIMS, trace_number="KILLED01"))
    with throwaway_database("kill") as url:
        engine = engine_for(url)
        database = engine.url.database
        try:
            process = _ingest(url, path)
            deadline = time.monotonic() + 60
            seen_insert = False
            age = 0.0
            while time.monotonic() < deadline and process.poll() is None:
                inserting, age = _activity(engine, str(database))
                seen_insert = seen_insert or inserting
                # rows written, and well into the file: batches of it are written
                if seen_insert and age >= 0.5:
                    break
                time.sleep(0.02)
            assert process.poll() is None, "ingest finished before it could be killed"
            assert seen_insert, "ingest was never seen writing rows"
            assert age >= 0.5
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            assert process.returncode == -signal.SIGKILL

            # the server notices the dead client and rolls its transaction back
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    open_ = conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                            "AND pid <> pg_backend_pid()"
                        ),
                        {"db": database},
                    ).scalar_one()
                if open_ == 0:
                    break
                time.sleep(0.1)
            assert _counts(engine) == dict.fromkeys(FILE_TABLES, 0)

            retry = _ingest(url, path, output=True)
            out, err = retry.communicate(timeout=240)
            assert retry.returncode == 0, err.decode()[-2000:]
            (result,) = json.loads(out)["files"]
            assert result["status"] == "processed"
            assert result["claims"] == CLAIMS
            counts = _counts(engine)
            assert counts["era_files"] == 1
            assert counts["claim_payments"] == CLAIMS
            assert counts["service_lines"] == CLAIMS * 3
            assert counts["pricing_results"] == CLAIMS * 3
        finally:
            engine.dispose()
