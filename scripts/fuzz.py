"""The longer fuzz run: the properties of tests/reliability with many more inputs.

    python scripts/fuzz.py --examples 5000

Draws well-formed, wild and oversized 835 files and contract uploads from the
generators of ``tests/reliability/generators.py`` and checks that the 835 reader reads
or rejects each with ``X12Rejected`` (well-formed files: reads them back exactly),
that streaming and whole-file reading agree, and that the contract loader answers
with located problems — no other exception. Prints the number of inputs tried per
property and in total; exits 1 on the first failure (hypothesis shows the smallest
failing input). The database-backed properties stay in the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.reliability.generators import (  # noqa: E402
    Drawn835,
    contract_documents,
    contract_with_rates,
    oversized_835,
    well_formed_835,
    wild_835,
)
from tests.reliability.test_fuzz_contracts import check_documents  # noqa: E402
from tests.reliability.test_fuzz_x12 import (  # noqa: E402
    check_stream_agrees,
    check_well_formed,
    check_wild,
)

PROPERTIES: list[tuple[str, st.SearchStrategy[Any], Callable[[Any], object]]] = [
    ("835 well-formed, any delimiters: read back exactly", well_formed_835(), check_well_formed),
    ("835 wild: read or rejected", wild_835(), lambda d: check_wild(d.data)),
    ("835 oversized values: read or rejected", oversized_835(), lambda d: check_wild(d.data)),
    ("835 stream and whole-file agree", wild_835(), lambda d: check_stream_agrees(d.data)),
    (
        "contract uploads: located problems",
        st.one_of(contract_documents(), contract_with_rates()),
        check_documents,
    ),
]


def run_property(
    strategy: st.SearchStrategy[Any], check: Callable[[Any], object], examples: int, seed: bool
) -> int:
    """Check one property on ``examples`` drawn inputs; the number actually tried."""
    tried = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=seed,
    )
    @given(strategy)
    def prop(value: Drawn835 | dict[str, bytes]) -> None:
        nonlocal tried
        tried += 1
        check(value)

    prop()
    return tried


def run(examples: int, seed: bool) -> int:
    total = 0
    for label, strategy, check in PROPERTIES:
        started = time.monotonic()
        tried = run_property(strategy, check, examples, seed)
        total += tried
        print(f"{tried:>8} inputs  {time.monotonic() - started:7.1f} s  {label}", flush=True)
    print(f"{total:>8} inputs tried in all, no exception but X12Rejected / ContractInvalid")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000, help="inputs per property")
    parser.add_argument("--repeatable", action="store_true", help="the same inputs every run")
    args = parser.parse_args()
    run(args.examples, args.repeatable)


if __name__ == "__main__":
    main()
