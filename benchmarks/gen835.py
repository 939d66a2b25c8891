"""Generate valid, balanced 5010 835 files of any size, for benchmarks and tests.

``generate_835(10_000)`` gives one interchange / group / transaction with 10,000
claim payments of 3 pain-management service lines each (about 190,000 segments).
Every line balances (charge − CAS = paid), every claim's CLP04 is the sum of its
lines' payments, BPR02 is the sum of CLP04 minus the PLB amounts, and the SE, GE
and IEA counts and control numbers are right. The output is deterministic for a
given ``seed``.

Run as a script to write a file and time the reader:

    python benchmarks/gen835.py --claims 10000 --out /tmp/big.835 --time
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

# (code, modifiers, charge): interventional pain procedures and their usual companions
PAIN_LINES: tuple[tuple[str, tuple[str, ...], Decimal], ...] = (
    ("64483", ("RT",), Decimal("1250.00")),
    ("64484", (), Decimal("600.00")),
    ("64493", ("LT",), Decimal("900.00")),
    ("64494", (), Decimal("450.00")),
    ("64490", ("50",), Decimal("950.00")),
    ("64635", ("RT",), Decimal("1800.00")),
    ("62323", (), Decimal("1100.00")),
    ("27096", ("LT",), Decimal("700.00")),
    ("20610", (), Decimal("250.00")),
    ("77003", (), Decimal("150.00")),
    ("99214", ("25",), Decimal("250.00")),
)

CENT = Decimal("0.01")


def _line_amounts(rng: random.Random, charge: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(paid, contractual CO-45, patient responsibility PR-2) summing to ``charge``."""
    allowed = (charge * Decimal(rng.randint(25, 60)) / 100).quantize(CENT)
    coinsurance = (allowed * Decimal(rng.choice((0, 0, 10, 20))) / 100).quantize(CENT)
    paid = allowed - coinsurance
    return paid, charge - allowed, coinsurance


def generate_835(
    claims: int,
    lines_per_claim: int = 3,
    *,
    seed: int = 0,
    segment_terminator: str = "~\n",
    element_separator: str = "*",
    component_separator: str = ":",
    plb: bool = True,
    payer_id: str = "55123",
    payer_name: str = "PRAIRIE HEALTH PLAN",
    payee_npi: str = "1326048597",
    trace_number: str = "GEN0001",
    payment_date: str = "20260615",
) -> bytes:
    """A valid, balanced 005010X221A1 file with ``claims`` claim payments of
    ``lines_per_claim`` service lines each."""
    rng = random.Random(seed)
    t, e, c = segment_terminator, element_separator, component_separator
    body: list[str] = []

    def seg(*elements: str) -> None:
        body.append(e.join(elements).rstrip(e) + t)

    total_paid = Decimal("0")
    for n in range(1, claims + 1):
        lines: list[str] = []
        claim_charge = claim_paid = claim_pr = Decimal("0")
        day = f"202606{1 + n % 28:02d}"
        for k in range(1, lines_per_claim + 1):
            code, modifiers, charge = PAIN_LINES[(n + k * 3) % len(PAIN_LINES)]
            units = 2 if code in ("64484", "64494") else 1
            charge = charge * units
            paid, co45, pr2 = _line_amounts(rng, charge)
            claim_charge += charge
            claim_paid += paid
            claim_pr += pr2
            composite = c.join(("HC", code, *modifiers))
            cas = [f"CAS{e}CO{e}45{e}{co45}"]
            if pr2:
                cas.append(f"CAS{e}PR{e}2{e}{pr2}")
            lines.append(f"SVC{e}{composite}{e}{charge}{e}{paid}{e}{e}{units}{t}")
            lines.append(f"DTM{e}472{e}{day}{t}")
            lines.extend(x + t for x in cas)
            lines.append(f"REF{e}6R{e}L{n}-{k}{t}")
            lines.append(f"AMT{e}B6{e}{paid + pr2}{t}")
        total_paid += claim_paid
        clp = e.join(("CLP", f"PA{n:06d}", "1", str(claim_charge), str(claim_paid), str(claim_pr)))
        seg(clp, "12", f"PCN{seed:02d}{n:08d}", "11", "1")
        seg("NM1", "QC", "1", f"PATIENT{n % 997}", "TEST", "", "", "", "MI", f"M{n:09d}")
        seg("DTM", "232", day)
        body.extend(lines)

    plb_amount = Decimal("25.00") if plb and claims else Decimal("0")
    if plb_amount:
        seg("PLB", payee_npi, "20261231", f"WO{c}RECOUP1", str(plb_amount))
    payment = total_paid - plb_amount

    header: list[str] = []

    def hseg(*elements: str) -> None:
        header.append(e.join(elements).rstrip(e) + t)

    hseg("ST", "835", "0001")
    bpr = ["BPR", "I", str(payment), "C", "ACH", "CCP", "01", "999999999", "DA", "123456"]
    bpr += ["1846543210", "", "01", "888888888", "DA", "654321", payment_date]
    hseg(*bpr)
    hseg("TRN", "1", trace_number, "1846543210")
    hseg("DTM", "405", payment_date)
    hseg("N1", "PR", payer_name)
    hseg("N3", "PO BOX 100")
    hseg("N4", "CHEYENNE", "WY", "82001")
    hseg("REF", "2U", payer_id)
    hseg("N1", "PE", "BIG HORN INTERVENTIONAL PAIN", "XX", payee_npi)
    hseg("N3", "100 MAIN ST")
    hseg("N4", "CHEYENNE", "WY", "82001")
    hseg("REF", "TJ", "830000001")
    hseg("LX", "1")
    segment_count = len(header) + len(body) + 1
    isa = e.join(
        (
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            "PAYERSENDER    ",
            "ZZ",
            "PRACTICERCV    ",
            payment_date[2:],
            "1200",
            "^",
            "00501",
            "000000001",
            "0",
            "P",
            c,
        )
    )
    out = [isa + t, e.join(("GS", "HP", "PAYERSENDER", "PRACTICERCV", payment_date, "1200"))]
    out[-1] += e + e.join(("1", "X", "005010X221A1")) + t
    out.extend(header)
    out.extend(body)
    out.append(e.join(("SE", str(segment_count), "0001")) + t)
    out.append(e.join(("GE", "1", "1")) + t)
    out.append(e.join(("IEA", "1", "000000001")) + t)
    return "".join(out).encode("ascii")


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--time", action="store_true", help="time parse_835 on the file")
    args = parser.parse_args(argv)
    data = generate_835(args.claims, args.lines)
    if args.out:
        args.out.write_bytes(data)
    if args.time:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from app.x12.reader import stream_835

        start = time.perf_counter()
        stream = stream_835(data)
        lines = sum(len(ev.lines) for ev in stream if hasattr(ev, "lines"))
        seconds = time.perf_counter() - start
        print(
            f"{args.claims} claims, {lines} service lines, {stream.segments_read} segments "
            f"in {seconds:.2f} s: {lines / seconds:,.0f} service lines/s, "
            f"{stream.segments_read / seconds:,.0f} segments/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
