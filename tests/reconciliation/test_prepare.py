"""Reading, pricing and row building away from the database (``prepare``): the same
events in this process and in a child process, failures told apart from rejections,
and a child that ends when the writer stops early."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR
from app.contracts.index import current_index
from app.contracts.reference import load_reference
from app.contracts.service import load_paths
from app.reconciliation import prepare
from app.x12.errors import X12Rejected
from benchmarks.gen835 import generate_835

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pricer(session: Session) -> prepare.Pricer:
    load_paths(session, paths=[ROOT / "contracts"], actor=CLI_ACTOR)
    return prepare.Pricer(current_index(session), load_reference())


def events(
    produce: object, data: bytes, pricer: prepare.Pricer, **options: object
) -> list[prepare.Event]:
    arguments: dict[str, object] = {
        "file_id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "pricer": pricer,
        "dialect_key": "postgresql+psycopg",
        "now": datetime(2026, 11, 27, 8, 0, tzinfo=UTC),
        "batch_claims": 7,
    }
    arguments.update(options)
    return list(produce(data, **arguments))  # type: ignore[operator]


@pytest.mark.parametrize("dialect_key", ["postgresql+psycopg", "sqlite+pysqlite"])
def test_a_child_process_gives_the_same_events(pricer: prepare.Pricer, dialect_key: str) -> None:
    # the payer of contracts/summit-ppo.yaml: lines priced under a contract
    data = generate_835(40, payer_id="71412", payer_name="SUMMIT") + generate_835(
        5, trace_number="SECOND", payer_id="71412"
    )
    here = events(prepare.prepare, data, pricer, dialect_key=dialect_key)
    there = events(prepare.prepare_in_process, data, pricer, dialect_key=dialect_key)
    assert [type(e).__name__ for e in there] == [type(e).__name__ for e in here]
    # here a Start and its End share one remittance (filled in as it is read); the
    # child's Start is a copy taken when it began, so compare what a Start tells
    assert [
        (e.state_id, e.remittance.trace_number) for e in there if isinstance(e, prepare.Start)
    ] == [(e.state_id, e.remittance.trace_number) for e in here if isinstance(e, prepare.Start)]
    assert [e for e in there if not isinstance(e, prepare.Start)] == [
        e for e in here if not isinstance(e, prepare.Start)
    ]
    batches = [e for e in here if isinstance(e, prepare.Batch)]
    # 40 claims in batches of 7 (never across the transaction's end), then the second ST
    assert [len(b.claims) for b in batches] == [7, 7, 7, 7, 7, 5, 5]
    results = [row for b in batches for row in b.tables[3].values or []]
    category = batches[0].tables[3].names.index("category")
    assert len(results) == 45 * 3
    assert not any(row[category] == "no_contract" for row in results)


def test_a_rejection_in_the_child_is_the_same_rejection(pricer: prepare.Pricer) -> None:
    data = generate_835(3).replace(b"SE*", b"XX*")
    with pytest.raises(X12Rejected) as here:
        events(prepare.prepare, data, pricer)
    with pytest.raises(X12Rejected) as there:
        events(prepare.prepare_in_process, data, pricer)
    assert there.value.findings == here.value.findings


def test_a_failure_in_the_child_is_an_error_not_a_rejection(pricer: prepare.Pricer) -> None:
    with pytest.raises(prepare.PrepareError, match="NoSuchModuleError"):
        events(prepare.prepare_in_process, generate_835(2), pricer, dialect_key="nosuchdb+x")


def test_stopping_early_ends_the_child(pricer: prepare.Pricer) -> None:
    stream = prepare.prepare_in_process(
        generate_835(3000),
        file_id=uuid.uuid4(),
        pricer=pricer,
        dialect_key="sqlite+pysqlite",
        now=datetime.now(UTC),
        batch_claims=10,
    )
    assert isinstance(next(stream), prepare.Start)
    started = time.monotonic()
    stream.close()  # the writer stops (a rejection, a forbidden practice): the child ends
    assert time.monotonic() - started < 10


SCRIPT = """
import os, sys, uuid
from datetime import UTC, datetime
# what the era-recon script does first; noted in every process that runs this file
fresh = "app.cli.main" not in sys.modules
from app.cli.main import main  # noqa: F401
with open(sys.argv[1] if __name__ == "__main__" else os.environ["ERA_RECON_LOG"], "a") as log:
    log.write(f"{__name__} {fresh}\\n")
if __name__ == "__main__":
    os.environ["ERA_RECON_LOG"] = sys.argv[1]
    from app.contracts.index import ContractIndex
    from app.contracts.reference import load_reference
    from app.reconciliation import prepare
    from benchmarks.gen835 import generate_835

    prepare.warm_up()
    pricer = prepare.Pricer(ContractIndex.from_terms([]), load_reference())
    for _ in prepare.prepare_in_process(
        generate_835(2), file_id=uuid.uuid4(), pricer=pricer, dialect_key="sqlite+pysqlite",
        now=datetime.now(UTC), batch_claims=10,
    ):
        pass
"""


def test_a_child_of_the_cli_finds_the_cli_already_imported(tmp_path: Path) -> None:
    # multiprocessing re-runs the caller's main script in each child before reading
    # starts; from `era-recon` that script imports the whole CLI, which the fork
    # server must already hold (preload_modules) rather than each child import again
    script = tmp_path / "era_recon_like.py"
    script.write_text(SCRIPT)
    log = tmp_path / "log"
    subprocess.run(
        [sys.executable, str(script), str(log)],
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert log.read_text().splitlines() == ["__main__ True", "__mp_main__ False"]
