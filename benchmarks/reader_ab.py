"""The 835 reader of this checkout against another revision's: same output, less CPU?

    python benchmarks/reader_ab.py equivalence --base main --mutated 4000
    python benchmarks/reader_ab.py equivalence --base main --mutated 4000 --validation
    python benchmarks/reader_ab.py cpu --base main --runs 5 --claims 10000

``equivalence`` reads the same inputs with both readers, each in its own process, and
compares, file by file, everything ``stream_835`` gives: the events in order, every
remittance, claim payment, service line and adjustment as its dataclass ``repr``
(so ``Decimal('0.00')`` and ``Decimal('0')`` differ), the file-level and
transaction warnings, ``segments_read``, and for a rejected file the findings,
the message and how many events came before the rejection. The inputs: every file
of ``../shared/corpus/835`` and ``../shared/spec/examples``, every
``tests/fixtures/era/*.835``, generated files of several sizes, seeds and
delimiters (``gen835.py``), and ``--mutated`` files made from those by the byte and
segment mutations of ``tests/x12/test_properties.py`` plus amount, quantity and
date values swapped for odd ones (seeded, so both sides read the same bytes). It
exits 1 when any input differs. ``--validation`` compares pyx12's validation too
(``validate_835``'s findings, ``repr`` of each, for every input under 1 MB,
validated twice in a row so the second meets what the first left remembered:
the walks of each shape, the segments and element values found clean).

``cpu`` alternates fresh processes of the two readers on one generated file
(``--claims``) and prints the process CPU seconds of reading it (imports excluded,
``time.process_time``) and the medians: on a shared machine only CPU time measured
side by side means anything.

The base revision's ``app/`` is taken with ``git archive`` into a temporary folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared"

# ---------------------------------------------------------------- child side


def _describe(data: bytes) -> dict[str, object]:
    """Everything ``stream_835`` gives for one input, as comparable text."""
    from app.x12.errors import X12Rejected
    from app.x12.reader import TransactionEnd, TransactionStart, stream_835

    events: list[str] = []
    remittances: list[object] = []
    stream = None
    try:
        stream = stream_835(data)
        for event in stream:
            events.append(type(event).__name__)
            if isinstance(event, TransactionStart):
                remittances.append(event.remittance)
            elif isinstance(event, TransactionEnd):
                assert event.remittance is remittances[-1]
            else:
                remittances[-1].claims.append(event)  # type: ignore[attr-defined]
    except X12Rejected as rejected:
        return {
            "outcome": "rejected",
            "events_before": events,
            "message": rejected.message,
            "findings": repr(rejected.findings),
            "details": rejected.details,
        }
    assert stream is not None
    return {
        "outcome": "read",
        "events": events,
        "remittances": repr(remittances),
        "warnings": repr(stream.warnings),
        "segments_read": stream.segments_read,
    }


def _validated(data: bytes) -> list[str]:
    """``validate_835`` of one input, twice: what is remembered must not change it."""
    from app.x12.errors import X12Rejected
    from app.x12.validation import validate_835

    found: list[str] = []
    for _ in range(2):
        try:
            found.append(repr(validate_835(data)))
        except X12Rejected as rejected:
            found.append(f"rejected {rejected.findings!r}")
    return found


def child_dump(folder: Path, out: Path, validation: bool = False) -> None:
    import app

    results: dict[str, object] = {"app": str(Path(app.__file__).resolve().parent)}
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        try:
            described: dict[str, object] = _describe(data)
            if validation and len(data) < 1_000_000:
                described["validation"] = _validated(data)
        except Exception as error:  # noqa: BLE001 - a crash is a result to compare too
            described = {"outcome": "crash", "error": repr(error)}
        text = json.dumps(described, sort_keys=True)
        if len(text) > 200_000:  # a large file's description, kept as its digest
            digest = hashlib.sha256(text.encode()).hexdigest()
            text = json.dumps({"outcome": described["outcome"], "sha256": digest})  # type: ignore[index]
        results[path.name] = text
    out.write_text(json.dumps(results))


def child_cpu(path: Path) -> None:
    import gc
    import time

    import app
    from app.x12.reader import stream_835

    data = path.read_bytes()
    gc.collect()
    start = time.process_time()
    stream = stream_835(data)
    events = sum(1 for _ in stream)
    seconds = time.process_time() - start
    print(
        json.dumps(
            {
                "app": str(Path(app.__file__).resolve().parent),
                "cpu": seconds,
                "events": events,
                "segments": stream.segments_read,
            }
        )
    )


# ---------------------------------------------------------------- inputs


def _generated() -> dict[str, bytes]:
    sys.path.insert(0, str(HERE))
    from gen835 import generate_835

    files: dict[str, bytes] = {}
    shapes: list[tuple[str, int, dict[str, object]]] = [
        ("gen-1", 1, {}),
        ("gen-7-lines1", 7, {"lines_per_claim": 1, "seed": 3}),
        ("gen-50-tilde", 50, {"segment_terminator": "~", "seed": 1}),
        ("gen-50-crlf", 50, {"segment_terminator": "~\r\n", "seed": 2}),
        ("gen-50-newline", 50, {"segment_terminator": "\n", "seed": 4}),
        ("gen-50-pipes", 50, {"element_separator": "|", "component_separator": ">"}),
        ("gen-200-lines5-noplb", 200, {"lines_per_claim": 5, "plb": False, "seed": 5}),
        ("gen-2000", 2000, {"seed": 6}),
        ("gen-10000", 10_000, {}),
    ]
    for name, claims, options in shapes:
        files[f"{name}.835"] = generate_835(claims, **options)  # type: ignore[arg-type]
    return files


# Values put where amounts, quantities and dates are: valid in every written form and
# invalid in every way the rules reject, each repeated so a value read once is read
# again later in the same file.
ODD_VALUES = (
    "0|0.00|00|-0|+0.00|.5|5.|-.5|+12|-12.30|1250.00|0012.340|1e5|1E5|NaN|nan|Infinity|-inf"
    "| 12|12 |1_000|1,000.00|12.3.4|--1|+-1||A|DTEST|123456789012345678|1234567890123456789"
    "|12345678901234567.8|1234567890123456789.0|-|.|0x10|20261231|20260230|11111111|19000101"
    "|20991231|2100010|99999999|20260615|2026061|202606150"
).split("|")


def _mutate(rng: random.Random, data: bytes) -> bytes:
    for _ in range(rng.randint(1, 3)):
        if not data:
            break
        op = rng.choice(["truncate", "flip", "swap", "duplicate", "delete", "insert", "value"])
        at = rng.randrange(len(data))
        if op == "truncate":
            data = data[:at]
        elif op == "flip":
            data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
        elif op == "swap":
            delims = [b"*", b"~", b":", b">", b"|", b"^", b"\n", b"\r\n", b" ", b""]
            old, new = rng.choice(delims[:-1]), rng.choice(delims)
            data = data.replace(old, new, rng.randint(1, 1000))
        elif op == "value":
            # an element of an amount-bearing segment replaced, a few times over
            segments = data.split(b"~")
            odd = rng.choice(ODD_VALUES).encode()
            for _ in range(rng.randint(1, 6)):
                index = rng.randrange(len(segments))
                parts = segments[index].split(b"*")
                if len(parts) > 1:
                    parts[rng.randrange(1, len(parts))] = odd
                    segments[index] = b"*".join(parts)
            data = b"~".join(segments)
        else:
            segments = data.split(b"~")
            index = at % len(segments)
            if op == "duplicate":
                segments.insert(index, segments[index])
            elif op == "delete":
                del segments[index]
            else:
                segments.insert(index, bytes(rng.randrange(256) for _ in range(rng.randint(0, 12))))
            data = b"~".join(segments)
    return data


def build_inputs(folder: Path, mutated: int, seed: int) -> int:
    files: dict[str, bytes] = {}
    for source in (SHARED / "corpus" / "835", SHARED / "spec" / "examples"):
        for path in sorted(source.glob("*")):
            if path.suffix not in (".tsv", ".md") and path.is_file():
                files[f"{source.name}__{path.name}"] = path.read_bytes()
    for path in sorted((ROOT / "tests" / "fixtures" / "era").glob("*.835")):
        files[f"fixture__{path.name}"] = path.read_bytes()
    generated = _generated()
    files.update(generated)
    rng = random.Random(seed)
    small = [data for data in files.values() if len(data) < 200_000]
    for index in range(mutated):
        files[f"mutated-{index:05d}"] = _mutate(rng, rng.choice(small))
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return len(files)


# ---------------------------------------------------------------- parent side


def export_base(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", revision, "app"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(root: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    return out.stdout


def equivalence(
    base_root: Path, mutated: int, seed: int, work: Path, validation: bool = False
) -> int:
    inputs = work / "inputs"
    inputs.mkdir()
    count = build_inputs(inputs, mutated, seed)
    results = []
    for root in (base_root, ROOT):
        out = work / f"out-{len(results)}.json"
        _run(root, "--child-dump", str(inputs), str(out), *(["--validation"] if validation else []))
        results.append(json.loads(out.read_text()))
    base, new = results
    print(f"base reader: {base.pop('app')}\nthis reader: {new.pop('app')}")
    assert base.keys() == new.keys()
    differ = [name for name in base if base[name] != new[name]]
    outcomes: dict[str, int] = {}
    for text in base.values():
        outcome = json.loads(text)["outcome"]
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(f"{count} inputs compared ({', '.join(f'{v} {k}' for k, v in sorted(outcomes.items()))})")
    for name in differ[:10]:
        print(f"DIFFERS: {name}\n  base: {base[name][:600]}\n  this: {new[name][:600]}")
    print(f"{len(differ)} differ")
    return 1 if differ else 0


def cpu(base_root: Path, runs: int, claims: int, work: Path) -> int:
    sys.path.insert(0, str(HERE))
    from gen835 import generate_835

    path = work / f"gen-{claims}.835"
    path.write_bytes(generate_835(claims))
    seconds: dict[str, list[float]] = {"base": [], "this": []}
    for _ in range(runs):
        for label, root in (("base", base_root), ("this", ROOT)):
            result = json.loads(_run(root, "--child-cpu", str(path)).strip().splitlines()[-1])
            seconds[label].append(result["cpu"])
            print(f"{label}  {result['cpu']:.3f} s  ({result['segments']} segments)", flush=True)
    for label, values in seconds.items():
        print(f"{label} median {statistics.median(values):.3f} s of {len(values)} runs")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child-dump"]:
        child_dump(Path(argv[1]), Path(argv[2]), validation="--validation" in argv[3:])
        return 0
    if argv[:1] == ["--child-cpu"]:
        child_cpu(Path(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["equivalence", "cpu"])
    parser.add_argument("--base", default="main", help="git revision to compare with")
    parser.add_argument("--mutated", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=835)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument(
        "--validation",
        action="store_true",
        help="equivalence: compare validate_835's findings too (inputs under 1 MB)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reader_ab_") as tmp:
        work = Path(tmp)
        base_root = export_base(args.base, work / "base")
        if args.what == "equivalence":
            return equivalence(base_root, args.mutated, args.seed, work, args.validation)
        return cpu(base_root, args.runs, args.claims, work)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
