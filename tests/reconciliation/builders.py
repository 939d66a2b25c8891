"""Small, balanced 5010 835 files written from a few values, for ingest tests.

``era(claims, ...)`` returns bytes of one interchange with one transaction; each
``Claim`` has ``Line``s whose CAS makes charge − adjustments = paid, and BPR02 is the
sum of CLP04 minus the PLB amounts, so the reader has nothing to warn about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml

EXAMPLES = ("spec", "examples")
PRACTICE_NPI = "1326048597"
PAYER_ID = "55123"


@dataclass
class Line:
    code: str
    paid: str
    charge: str = "1250.00"
    modifiers: tuple[str, ...] = ()
    units: str = "1"
    allowed: str | None = None  # AMT*B6; defaults to paid
    lcn: str | None = None
    dos: str = "20260602"
    reason: str = "45"  # CAS CO reason of the charge − paid difference


@dataclass
class Claim:
    claim_id: str
    lines: list[Line] = field(default_factory=list)
    status: str = "1"
    payer_claim_number: str = "PH0002"
    patient: tuple[str, str] = ("DOE", "JANE")
    member_id: str = "ME2"
    charge: str | None = None  # CLP03; defaults to the lines' sum
    paid: str | None = None  # CLP04; defaults to the lines' sum
    sign: int = 1  # -1 writes every amount negated (a reversal)


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def claim_segments(claim: Claim) -> list[str]:
    s = Decimal(claim.sign)
    charge = (
        Decimal(claim.charge) if claim.charge else sum(Decimal(ln.charge) for ln in claim.lines)
    )
    paid = Decimal(claim.paid) if claim.paid else sum(Decimal(ln.paid) for ln in claim.lines)
    last, first = claim.patient
    segments = [
        f"CLP*{claim.claim_id}*{claim.status}*{_amount(s * charge)}*{_amount(s * paid)}**12*"
        f"{claim.payer_claim_number}*11*1",
        f"NM1*QC*1*{last}*{first}****MI*{claim.member_id}",
        f"DTM*232*{claim.lines[0].dos if claim.lines else '20260602'}",
    ]
    for line in claim.lines:
        code = ":".join(("HC", line.code, *line.modifiers))
        line_charge, line_paid = Decimal(line.charge), Decimal(line.paid)
        units = Decimal(line.units) * s
        segments.append(
            f"SVC*{code}*{_amount(s * line_charge)}*{_amount(s * line_paid)}**{units.normalize()}"
        )
        segments.append(f"DTM*472*{line.dos}")
        if line_charge != line_paid:
            segments.append(f"CAS*CO*{line.reason}*{_amount(s * (line_charge - line_paid))}")
        if line.lcn:
            segments.append(f"REF*6R*{line.lcn}")
        allowed = Decimal(line.allowed) if line.allowed else line_paid
        segments.append(f"AMT*B6*{_amount(s * allowed)}")
    return segments


def era(
    claims: list[Claim],
    *,
    trace: str = "PHP0615",
    payment_date: str = "20260615",
    payer_id: str = PAYER_ID,
    npi: str = PRACTICE_NPI,
    plb: list[tuple[str, str]] | None = None,
    control: str = "000000501",
    terminator: str = "~\n",
) -> bytes:
    """One ISA/GS/ST 835 with these claims; ``plb`` = [(reason, amount)]."""
    body: list[str] = []
    total = Decimal(0)
    for claim in claims:
        body.extend(claim_segments(claim))
        paid = Decimal(claim.paid) if claim.paid else sum(Decimal(ln.paid) for ln in claim.lines)
        total += paid * claim.sign
    plb_segments = []
    for reason, amount in plb or []:
        plb_segments.append(f"PLB*{npi}*20261231*{reason}:REF1*{amount}")
        total -= Decimal(amount)
    header = [
        "ST*835*0001",
        f"BPR*I*{_amount(total)}*C*CHK************{payment_date}",
        f"TRN*1*{trace}*1846543210",
        f"DTM*405*{payment_date}",
        "N1*PR*PRAIRIE HEALTH PLAN",
        "N3*PO BOX 100",
        "N4*CHEYENNE*WY*82001",
        f"REF*2U*{payer_id}",
        f"N1*PE*BIG HORN INTERVENTIONAL PAIN*XX*{npi}",
        "N3*100 MAIN ST",
        "N4*CHEYENNE*WY*82001",
        "REF*TJ*830000001",
    ]
    if body:
        header.append("LX*1")
    transaction = [*header, *body, *plb_segments]
    transaction.append(f"SE*{len(transaction) + 1}*0001")
    group_control = str(int(control))
    segments = [
        f"ISA*00*          *00*          *ZZ*PAYERSENDER    *ZZ*PRACTICERCV    *260615*1200*^*"
        f"00501*{control}*0*P*:",
        f"GS*HP*PAYERSENDER*PRACTICERCV*20260615*1200*{group_control}*X*005010X221A1",
        *transaction,
        f"GE*1*{group_control}",
        f"IEA*1*{control}",
    ]
    return (terminator.join(segments) + terminator).encode()


def e2(paid_64493: str = "124.00", **overrides: object) -> Claim:
    """Claim E2 of the worked example: 64483 at the rate and 64493 paid ``paid_64493``
    (the contract expects 155.00 for it as the secondary procedure)."""
    values: dict[str, object] = {
        "claim_id": "E2",
        "lines": [
            Line("64483", "412.00", lcn="E2A"),
            Line("64493", paid_64493, charge="900.00", lcn="E2B", reason="59"),
        ],
    }
    values.update(overrides)
    return Claim(**values)  # type: ignore[arg-type]


def write_contract(folder: Path, shared: Path, **changes: object) -> Path:
    """The example contract (optionally changed) written into ``folder``."""
    document = yaml.safe_load((shared / "prairie-ppo-2026.yaml").read_text())
    document.update(changes)
    fees = (shared / "prairie-fees.csv").read_text()
    (folder / "prairie-fees.csv").write_text(fees)
    path = folder / "prairie-ppo-2026.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
