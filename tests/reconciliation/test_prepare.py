"""Reading, pricing and row building away from the database (``prepare``): the same
events in this process and in a child process, failures told apart from rejections,
and a child that ends when the writer stops early."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
import uuid
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR
from app.contracts.index import current_index
from app.contracts.reference import load_reference
from app.contracts.service import load_paths
from app.reconciliation import prepare, repository
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
    results = [row for b in batches for row in b.tables[2].values or []]
    category = batches[0].tables[2].names.index("category")
    assert len(results) == 45 * 3
    assert not any(row[category] == "no_contract" for row in results)


def test_a_claim_info_crosses_the_pipe_with_every_field() -> None:
    """``ClaimInfo.__reduce__`` names its fields one by one: a field added later and
    not named there would be lost (or the class would not load) in the parent."""
    info = prepare.ClaimInfo("id" * 32, "key", "PA1", True, 12, 3, (("underpaid", 150),))
    again = pickle.loads(pickle.dumps(info, pickle.HIGHEST_PROTOCOL))
    assert [getattr(again, f.name) for f in fields(info)] == [
        getattr(info, f.name) for f in fields(info)
    ]
    assert all(getattr(info, f.name) != f.default for f in fields(info))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are Linux's")
def test_the_events_pipe_holds_a_file_start_s_batches() -> None:
    """The child's first batches (~0.15 + 0.3 + 0.65 MB) fit in the pipe while the
    writer stores the first one; Linux gives a pipe 64 KB unless asked."""
    import fcntl
    import multiprocessing

    receiver, sender = multiprocessing.get_context("forkserver").Pipe(duplex=False)
    try:
        assert fcntl.fcntl(receiver.fileno(), fcntl.F_GETPIPE_SZ) < prepare.PIPE_BYTES
        prepare._widen(receiver)
        assert fcntl.fcntl(sender.fileno(), fcntl.F_GETPIPE_SZ) >= prepare.PIPE_BYTES
    finally:
        receiver.close()
        sender.close()


def test_a_rejection_in_the_child_is_the_same_rejection(pricer: prepare.Pricer) -> None:
    data = generate_835(3).replace(b"SE*", b"XX*")
    with pytest.raises(X12Rejected) as here:
        events(prepare.prepare, data, pricer)
    with pytest.raises(X12Rejected) as there:
        events(prepare.prepare_in_process, data, pricer)
    assert there.value.findings == here.value.findings


def test_a_file_rejected_before_the_arguments_come_is_the_same_rejection(
    pricer: prepare.Pricer,
) -> None:
    # the child decodes the bytes as soon as they come (not text, no ISA: rejected
    # there), before the writer sends the contracts; the writer hears it then
    data = b"not an 835 file at all\n" * 10
    with pytest.raises(X12Rejected) as here:
        events(prepare.prepare, data, pricer)
    with pytest.raises(X12Rejected) as there:
        events(prepare.prepare_in_process, data, pricer)
    assert there.value.findings == here.value.findings


def test_a_reading_child_closed_unused_ends(pricer: prepare.Pricer) -> None:
    # a duplicate file (found by its bytes after the child started): the child,
    # waiting for its arguments, ends, and so does the thread sending it the bytes
    reading = prepare.ReadingChild.start(generate_835(3000))
    started = time.monotonic()
    reading.close()
    assert time.monotonic() - started < 10
    assert not reading._process.is_alive()
    assert not reading._sending.is_alive()
    reading.close()  # twice is harmless (the ingest closes it once more at its end)


def test_a_reading_child_gives_its_events_once(pricer: prepare.Pricer) -> None:
    reading = prepare.ReadingChild.start(generate_835(3))
    arguments = {
        "file_id": uuid.uuid4(),
        "pricer": pricer,
        "dialect_key": "sqlite+pysqlite",
        "now": datetime.now(UTC),
        "batch_claims": 7,
    }
    first = list(reading.events(**arguments))  # type: ignore[arg-type]
    assert [type(e).__name__ for e in first] == ["Start", "Batch", "End", "Done"]
    with pytest.raises(RuntimeError, match="once"):
        list(reading.events(**arguments))  # type: ignore[arg-type]


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
    from app.reconciliation import prepare, repository
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


REFERENCE_SCRIPT = """
from app.reconciliation import prepare

def report(connection):
    from app.contracts.reference import load_reference
    connection.send(load_reference.cache_info().currsize)  # before any call here

if __name__ == "__main__":
    context = prepare._context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=report, args=(sender,))
    child.start()
    sender.close()
    print(receiver.recv())
    child.join()
"""


def test_a_child_starts_with_the_reference_data_loaded(tmp_path: Path) -> None:
    # the fork server loads it (fork_preload) before it forks the first child, so no
    # child reads it again before its first claim
    script = tmp_path / "child_reference.py"
    script.write_text(REFERENCE_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.stdout.split() == ["1"]


@pytest.mark.parametrize(
    ("expected", "batch_claims"), [(10_000, 500), (1_234, 500), (37, 7), (0, 500)]
)
def test_tapered_batches_grow_then_shrink(expected: int, batch_claims: int) -> None:
    sizes: list[int] = []
    done = 0
    while done < expected:
        size = min(prepare.batch_limit(done, expected, batch_claims), expected - done)
        sizes.append(size)
        done += size
    floor = max(1, batch_claims // 10)
    assert sum(sizes) == expected
    assert all(1 <= size <= batch_claims for size in sizes)
    if expected >= 4 * batch_claims:
        assert sizes[0] == floor  # the writer starts early
        assert max(sizes) == batch_claims
        assert sizes[-1] <= floor  # and has little left when the reading ends
        assert len(sizes) <= expected // batch_claims + 8
    assert prepare.batch_limit(0, 0, batch_claims) == floor


def test_claims_in_counts_the_clp_segments() -> None:
    data = generate_835(123) + generate_835(4, trace_number="SECOND")
    assert prepare.claims_in(data) == 127
    assert prepare.claims_in(data.replace(b"*", b"|")) == 127
    assert prepare.claims_in(b"not an 835") == 0


@pytest.mark.parametrize("produce", [prepare.prepare, prepare.prepare_in_process])
def test_tapered_batches_hold_the_same_claims_and_rows(
    pricer: prepare.Pricer, produce: object
) -> None:
    data = generate_835(230, payer_id="71412") + generate_835(9, trace_number="SECOND")
    plain = events(prepare.prepare, data, pricer, batch_claims=40)
    tapered = events(produce, data, pricer, batch_claims=40, taper=True)

    def batches(stream: list[prepare.Event]) -> list[prepare.Batch]:
        return [e for e in stream if isinstance(e, prepare.Batch)]

    def rows(stream: list[prepare.Event]) -> list[bytes]:
        # each table's rows as the COPY would send them, whichever way they crossed
        out = [b"", b"", b""]
        for batch in batches(stream):
            for k, prepared in enumerate(batch.tables):
                if prepared.copy_text is not None:
                    out[k] += prepared.copy_text
                elif prepared.values:
                    out[k] += repository.copy_text_of(prepared.values)[0]
        return out

    assert [b.claims for b in batches(tapered)] != [b.claims for b in batches(plain)]
    assert [c for b in batches(tapered) for c in b.claims] == [
        c for b in batches(plain) for c in b.claims
    ]
    # doubling from a tenth of 40, halving what is left of the 239 towards the end
    sizes = [4, 4, 8, 16, 32, 40, 40, 40, 27, 14, 5, 4, 4, 1]
    assert [len(b.claims) for b in batches(tapered)] == sizes
    # every batch cut at its size is full; a transaction's last is not
    assert [b.full for b in batches(tapered)] == [True] * 10 + [False, True, True, False]
    assert [b.full for b in batches(plain)] == [True] * 5 + [False, False]
    assert rows(tapered) == rows(plain)
    assert all(rows(plain))


def test_warm_up_can_wait_until_the_fork_server_serves() -> None:
    from multiprocessing import forkserver

    prepare.warm_up(wait=True)
    server = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    assert server is not None
    assert os.waitpid(server, os.WNOHANG) == (0, 0)  # still running after its child
    prepare.warm_up(wait=True)  # again: the same server
    assert forkserver._forkserver._forkserver_pid == server  # type: ignore[attr-defined]
