"""Structure-aware generators of 835 files and contract documents for the fuzz tests
(tests/reliability) and the longer run of ``scripts/fuzz.py``.

An 835 is drawn as what it is — an envelope (ISA/GS/ST … SE/GE/IEA), a header (BPR,
TRN, DTM, N1 loops), claim payments (CLP, NM1, MOA, DTM, CAS) with service lines (SVC
composites, DTM, CAS triples, REF*6R, AMT*B6, LQ) and PLB — then written with
delimiters drawn from those the ISA may declare. Two shapes:

- ``well_formed_835``: every amount a number, every trailer present, values free of
  delimiters, any legal delimiters and layout. spec/parsing.md accepts all of these,
  so the reader must accept the file and read back exactly the claims, lines and
  amounts that were written.
- ``wild_835``: the same structure with random element values (junk amounts, empty
  values, delimiters inside values, non-ASCII), segments dropped, repeated or
  invented, trailers missing, the file cut short. The reader must read it or reject
  it with ``X12Rejected`` — nothing else.

Contract documents are drawn as YAML mappings over the keys of spec/contracts.md
with values of every YAML type, plus fee schedule CSVs with random rows; the loader
must answer with located problems, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import yaml
from hypothesis import strategies as st

from app.contracts.schemas import Contract

# ------------------------------------------------------------------ delimiters

# Characters an ISA may declare as delimiters here: punctuation that appears in no
# value we write (not '.', '-', digits, letters, space, '?' which stands for
# non-ASCII letters), plus the X12 information separators.
DELIMITER_CHARS = "*|^~:>!{}@#+\\;`\x1c\x1d\x1e\x1f"
TERMINATOR_TAILS = ("", "", "\n", "\r\n", "\n    ")


@dataclass(frozen=True, slots=True)
class Delims:
    element: str
    component: str
    segment: str  # "\n" means newline-terminated segments
    repetition: str
    tail: str  # written after each terminator (a line break in pretty-printed files)


@st.composite
def delimiters(draw: st.DrawFn) -> Delims:
    chars = draw(st.permutations(DELIMITER_CHARS))
    element, component, segment, repetition = chars[:4]
    if draw(st.integers(0, 5)) == 0:
        return Delims(element, component, "\n", repetition, "")
    return Delims(element, component, segment, repetition, draw(st.sampled_from(TERMINATOR_TAILS)))


# ------------------------------------------------------------------ the model

Element = str | list[str]  # a simple element, or a composite's components


@dataclass(slots=True)
class Expected:
    """What a well-formed file holds, to compare with what the reader reads."""

    claims: list[tuple[str, Decimal, list[Decimal]]] = field(default_factory=list)
    payments: list[Decimal] = field(default_factory=list)


@dataclass(slots=True)
class Drawn835:
    data: bytes
    expected: Expected | None  # None for wild files
    delims: Delims


def render(segments: list[list[Element]], d: Delims) -> str:
    out: list[str] = []
    for seg in segments:
        parts = [p if isinstance(p, str) else d.component.join(p) for p in seg]
        text = d.element.join(parts)
        if d.segment == "\n":
            out.append(text + "\n")
        else:
            out.append(text + d.segment + d.tail)
    return "".join(out)


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ '"


def ident(min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(ALNUM, min_size=min_size, max_size=max_size)


def name() -> st.SearchStrategy[str]:
    return st.text(NAME_CHARS, min_size=1, max_size=20).map(str.strip).filter(bool)


def money(max_value: int = 99_999) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=-max_value, max_value=max_value, places=2, allow_nan=False, allow_infinity=False
    )


def money_text(value: Decimal, style: int) -> str:
    """An X12 ``R`` value as payers write it: ``12.5``, ``12.50``, ``12``, ``.5``."""
    text = f"{value:.2f}"
    if style == 1:
        text = text.rstrip("0").rstrip(".") or "0"
    elif style == 2 and text.startswith(("0.", "-0.")):
        text = text.replace("0.", ".", 1)
    return text


DATES = st.dates().map(lambda d: d.strftime("%Y%m%d"))
PROCEDURES = st.sampled_from(
    ["64483", "64484", "64493", "64494", "20610", "77003", "99214", "J1040"]
)
MODIFIERS = st.lists(st.sampled_from(["RT", "LT", "50", "59", "25", "26", "XU"]), max_size=4)
CARC = st.sampled_from(["45", "2", "1", "3", "59", "97", "253", "B15", "A1"])
GROUPS = st.sampled_from(["CO", "PR", "OA", "PI", "CR"])


@st.composite
def cas_segment(draw: st.DrawFn, amounts: list[Decimal], style: int) -> list[Element]:
    """CAS with 1–6 reason/amount/quantity triples (``amounts`` gets their sum)."""
    seg: list[Element] = ["CAS", draw(GROUPS)]
    for _ in range(draw(st.integers(1, 6))):
        amount = draw(money())
        amounts.append(amount)
        quantity = draw(st.sampled_from(["", "", "1", "2", "0.5"]))
        seg += [draw(CARC), money_text(amount, style), quantity]
    while seg and seg[-1] == "":
        seg.pop()
    return seg


@st.composite
def service_line(draw: st.DrawFn, style: int) -> tuple[list[list[Element]], Decimal]:
    code = draw(PROCEDURES)
    charge, paid = draw(money()), draw(money())
    svc01: list[str] = ["HC", code, *draw(MODIFIERS)]
    svc: list[Element] = ["SVC", svc01, money_text(charge, style), money_text(paid, style)]
    units = draw(st.sampled_from(["", "1", "2", "0.5", "10"]))
    original = draw(st.booleans())
    if units or original:
        svc += ["", units]
    if original:
        svc += [["HC", draw(PROCEDURES)], draw(st.sampled_from(["", "1", "2"]))]
    segments: list[list[Element]] = [svc]
    if draw(st.booleans()):
        segments.append(["DTM", "472", draw(DATES)])
    for _ in range(draw(st.integers(0, 3))):
        segments.append(draw(cas_segment([], style)))
    if draw(st.booleans()):
        segments.append(["REF", "6R", draw(ident())])
    if draw(st.booleans()):
        segments.append(["AMT", "B6", money_text(draw(money()), style)])
    if draw(st.booleans()):
        segments.append(["LQ", "HE", draw(st.sampled_from(["N381", "M15", "MA01"]))])
    return segments, paid


@st.composite
def claim_payment(
    draw: st.DrawFn, number: int, style: int
) -> tuple[list[list[Element]], tuple[str, Decimal, list[Decimal]]]:
    claim_id = draw(ident()) + str(number)
    paid = draw(money())
    status = draw(st.sampled_from(["1", "2", "3", "4", "19", "20", "22", "23"]))
    clp: list[Element] = [
        "CLP",
        claim_id,
        status,
        money_text(draw(money()), style),
        money_text(paid, style),
        draw(st.sampled_from(["", money_text(draw(money()), style)])),
        draw(st.sampled_from(["12", "13", "MC", "HM"])),
        draw(ident()),
        draw(st.sampled_from(["11", "22", "24"])),
        draw(st.sampled_from(["1", "7", "8"])),
    ]
    segments: list[list[Element]] = [clp]
    if draw(st.booleans()):
        segments.append(draw(cas_segment([], style)))
    segments.append(["NM1", "QC", "1", draw(name()), draw(name()), "", "", "", "MI", draw(ident())])
    if draw(st.booleans()):
        segments.append(
            ["NM1", "IL", "1", draw(name()), draw(name()), "", "", "", "MI", draw(ident())]
        )
    if draw(st.booleans()):
        segments.append(["MOA", "", "", "MA01"])
    if draw(st.booleans()):
        segments.append(["DTM", "232", draw(DATES)])
    line_paid: list[Decimal] = []
    for _ in range(draw(st.integers(0, 4))):
        line_segments, lp = draw(service_line(style))
        segments += line_segments
        line_paid.append(lp)
    return segments, (claim_id, paid, line_paid)


ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1)


@st.composite
def transaction(
    draw: st.DrawFn, control: str, style: int, expected: Expected
) -> list[list[Element]]:
    payment = draw(money(999_999))
    expected.payments.append(payment)
    body: list[list[Element]] = [
        ["ST", "835", control],
        [
            "BPR",
            draw(st.sampled_from(["I", "H", "C", "D", "P", "U", "X"])),
            money_text(payment, style),
            draw(st.sampled_from(["C", "D"])),
            draw(st.sampled_from(["ACH", "CHK", "NON", "FWT", "BOP"])),
            "CCP",
            "01",
            "999999999",
            "DA",
            "123456",
            "1846543210",
            "",
            "01",
            "888888888",
            "DA",
            "654321",
            draw(DATES),
        ],
        ["TRN", "1", draw(ident(4, 20)), draw(ident(10, 10))],
    ]
    if draw(st.booleans()):
        body.append(["DTM", "405", draw(DATES)])
    body += [
        ["N1", "PR", draw(name())],
        ["N3", draw(name())],
        ["N4", draw(name()), "WY", "82001"],
    ]
    if draw(st.booleans()):
        body.append(["REF", "2U", draw(ident(5, 5))])
    body.append(
        ["N1", "PE", draw(name()), "XX", draw(st.sampled_from(["1326048597", "1487652301"]))]
    )
    if draw(st.booleans()):
        body.append(["REF", "TJ", draw(st.text("0123456789", min_size=9, max_size=9))])
    for number in range(draw(st.integers(0, 5))):
        if number == 0 or draw(st.integers(0, 3)) == 0:
            body.append(["LX", str(number + 1)])
        claim, summary = draw(claim_payment(number, style))
        body += claim
        expected.claims.append(summary)
    for _ in range(draw(st.integers(0, 2))):
        body.append(
            [
                "PLB",
                "1326048597",
                "20261231",
                [draw(st.sampled_from(["WO", "L6", "FB", "CS", "72"])), draw(ident())],
                money_text(draw(money()), style),
            ]
        )
    body.append(["SE", str(len(body) + 1), control])
    return body


@st.composite
def envelope(draw: st.DrawFn, d: Delims, style: int) -> tuple[list[list[Element]], Expected]:
    expected = Expected()
    version = draw(st.sampled_from(["005010X221A1", "004010X091A1"]))
    isa_version = "00501" if version.startswith("005") else "00401"
    repetition = d.repetition if isa_version == "00501" else "U"
    isa_values = [
        "00",
        "",
        "00",
        "",
        "ZZ",
        draw(ident(1, 15)),
        "ZZ",
        draw(ident(1, 15)),
        "260615",
        "1200",
        repetition,
        isa_version,
        "000000101",
        "0",
        draw(st.sampled_from(["P", "T"])),
    ]
    if draw(st.integers(0, 4)):  # usually padded to the fixed width, sometimes not
        isa_values = [v.ljust(w) for v, w in zip(isa_values, ISA_WIDTHS, strict=True)]
    segments: list[list[Element]] = [["ISA", *isa_values, d.component]]
    segments.append(
        ["GS", "HP", draw(ident()), draw(ident()), "20260615", "1200", "101", "X", version]
    )
    transactions = draw(st.integers(1, 2))
    for n in range(transactions):
        segments += draw(transaction(f"{n + 1:04d}", style, expected))
    segments += [["GE", str(transactions), "101"], ["IEA", "1", "000000101"]]
    return segments, expected


@st.composite
def well_formed_835(draw: st.DrawFn) -> Drawn835:
    d = draw(delimiters())
    style = draw(st.integers(0, 2))
    segments, expected = draw(envelope(d, style))
    text = render(segments, d)
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text  # a UTF-8 byte-order mark
    return Drawn835(text.encode("utf-8"), expected, d)


# ------------------------------------------------------------------ wild files

JUNK_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", " ", "NaN", "1e5", "-", ".", "1.2.3", "9" * 20, "-99999999999.99", "0x1F", "12A"]
    ),
    st.text("0123456789.-+", max_size=16),
    st.text(ALNUM, min_size=40, max_size=120),  # longer than any X12 element
    st.just("José Ñúñez"),
)
SEGMENT_IDS = st.sampled_from(
    ["ISA", "GS", "ST", "BPR", "TRN", "N1", "CLP", "SVC", "CAS", "PLB", "SE", "GE", "IEA", "XYZ"]
)


@st.composite
def wild_835(draw: st.DrawFn) -> Drawn835:
    d = draw(delimiters())
    style = draw(st.integers(0, 2))
    segments, _ = draw(envelope(d, style))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(
            st.sampled_from(["value", "value", "component", "drop", "repeat", "invent", "cut"])
        )
        at = draw(st.integers(1, len(segments) - 1)) if len(segments) > 1 else 0
        seg = segments[at]
        if op == "value" and len(seg) > 1:
            seg[draw(st.integers(1, len(seg) - 1))] = draw(JUNK_VALUES)
        elif op == "component" and len(seg) > 1:
            seg[draw(st.integers(1, len(seg) - 1))] = draw(st.lists(JUNK_VALUES, max_size=7))
        elif op == "drop" and len(segments) > 1:
            del segments[at]
        elif op == "repeat":
            segments.insert(at, list(seg))
        elif op == "invent":
            segments.insert(at, [draw(SEGMENT_IDS), *draw(st.lists(JUNK_VALUES, max_size=8))])
        elif op == "cut":
            segments = segments[: max(1, at)]
    text = render(segments, d)
    if draw(st.integers(0, 4)) == 0:  # a stray byte or delimiter somewhere
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from([*DELIMITER_CHARS, "\x00", "\x1a", "\r", "é"]))
            + text[at:]
        )
    return Drawn835(text.encode("utf-8"), None, d)


# ------------------------------------------------------------------ contracts

YAML_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.decimals(allow_nan=True, allow_infinity=True, places=4).map(str),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.dates(),
    st.sampled_from(
        ["2026-01-01", "2026-02-30", "12", "150", "-5", "1.005", "1e3", "payment", "service"]
    ),
)
YAML_VALUES = st.recursive(
    YAML_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
CONTRACT_KEYS = tuple(Contract.model_fields)  # every key contracts.md defines


def _base_contract(schedule: str) -> dict[str, object]:
    return {
        "id": "fuzz-ppo-2026",
        "name": "Fuzz PPO",
        "payer": {"name": "FUZZ HEALTH", "ids": ["55123"]},
        "effective_from": "2026-01-01",
        "dispute_window_months": 12,
        "fee_schedule": schedule,
    }


CSV_CELLS = st.one_of(
    st.sampled_from(["64483", "64484", "77003", "J1040", "6448", "", "26", "LT", "XX1"]),
    st.sampled_from(["412.00", "0", "-1.00", "abc", "1e3", "1.005", "99999999999999.99", " 12 "]),
    st.text(max_size=10),
)


@st.composite
def fee_csv(draw: st.DrawFn) -> bytes:
    header = draw(
        st.sampled_from(
            [
                ["code", "modifier", "non_facility", "facility"],
                ["code", "non_facility"],
                ["code", "modifier", "non_facility", "facility", "description"],
                ["Code", "Modifier", "Rate"],
                [],
            ]
        )
    )
    rows = draw(st.lists(st.lists(CSV_CELLS, min_size=0, max_size=6), max_size=8))
    lines = [",".join(header), *(",".join(r) for r in rows)]
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    raw = text.encode("utf-8")
    if draw(st.integers(0, 6)) == 0:
        raw = draw(st.binary(max_size=64))
    return raw


@st.composite
def contract_documents(draw: st.DrawFn) -> dict[str, bytes]:
    """An upload: one or two YAML contracts (mutations of a valid one, or random
    mappings, or random text) and the CSVs they may name."""
    files: dict[str, bytes] = {}
    for n in range(draw(st.integers(1, 2))):
        schedule = f"fees-{n}.csv"
        shape = draw(st.sampled_from(["mutated", "mutated", "random", "text"]))
        if shape == "text":
            files[f"c{n}.yaml"] = draw(
                st.one_of(st.binary(max_size=80), st.text(max_size=80).map(str.encode))
            )
            continue
        doc: dict[str, object] = _base_contract(schedule) if shape == "mutated" else {}
        for _ in range(draw(st.integers(1, 6))):
            key = draw(st.sampled_from([*CONTRACT_KEYS, "unknown_key", "payer"]))
            if draw(st.integers(0, 5)) == 0:
                doc.pop(key, None)
            else:
                doc[key] = draw(YAML_VALUES)
        try:
            text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
        except yaml.YAMLError:
            text = "id: [unclosed"
        files[f"c{n}.yaml"] = text.encode("utf-8")
        if draw(st.integers(0, 4)):
            files[schedule] = draw(fee_csv())
    if draw(st.integers(0, 5)) == 0:
        files["practices.yaml"] = draw(YAML_VALUES.map(lambda v: yaml.safe_dump(v).encode()))
    return files


OVERSIZED_VALUES = st.one_of(
    st.text(ALNUM, min_size=21, max_size=200),  # past a column or an X12 maximum length
    st.integers(9, 30).map(lambda n: "9" * n + ".99"),  # past NUMERIC(12, 2)
    st.integers(9, 30).map(lambda n: "-" + "9" * n),
)
STORED_SEGMENTS = (
    "BPR",
    "TRN",
    "N1",
    "N3",
    "N4",
    "REF",
    "CLP",
    "NM1",
    "SVC",
    "CAS",
    "AMT",
    "PLB",
    "ST",
    "GS",
    "LQ",
    "DTM",
    "MOA",
)


@st.composite
def oversized_835(draw: st.DrawFn) -> Drawn835:
    """A well-formed file with a few values longer or larger than anything a payer
    should send: read (with warnings) or rejected, never a crash in storage."""
    d = draw(delimiters())
    segments, _ = draw(envelope(d, 0))
    candidates = [i for i, seg in enumerate(segments) if seg[0] in STORED_SEGMENTS]
    for _ in range(draw(st.integers(1, 4))):
        seg = segments[draw(st.sampled_from(candidates))]
        at = draw(st.integers(1, len(seg) - 1))
        if isinstance(seg[at], list):
            parts = list(seg[at])
            parts[draw(st.integers(0, len(parts) - 1))] = draw(OVERSIZED_VALUES)
            seg[at] = parts
        else:
            seg[at] = draw(OVERSIZED_VALUES)
    return Drawn835(render(segments, d).encode(), None, d)


EXTREME_NUMBERS = st.one_of(
    st.integers(0, 40).map(lambda n: "9" * max(n, 1)),
    st.integers(1, 40).map(lambda n: "1" * n + ".25"),
    st.sampled_from(["0", "0.00", "-0.01", "1.005", "1e400", "1_000", "NaN", "inf", ".5", "5."]),
)


@st.composite
def contract_with_rates(draw: st.DrawFn) -> dict[str, bytes]:
    """A valid contract whose numbers (rates, tolerance, percents) are drawn from
    the extremes: each is accepted as written or named as a located problem."""
    doc = _base_contract("fees.csv")
    for key in draw(
        st.lists(
            st.sampled_from(
                ["tolerance", "bilateral_percent", "multiple_procedure_reduction_percent"]
            ),
            max_size=2,
            unique=True,
        )
    ):
        doc[key] = draw(EXTREME_NUMBERS)
    if draw(st.booleans()):
        doc["percent_of"] = {"schedule": "fees.csv", "percent": draw(EXTREME_NUMBERS)}
    text = yaml.safe_dump(doc, sort_keys=False)
    # written unquoted as YAML numbers, or quoted as strings
    if draw(st.booleans()):
        text = text.replace("'", "")
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["64483", "64484", "77003", "J1040", "20610"]),
                st.sampled_from(["", "26", "LT"]),
                EXTREME_NUMBERS,
                st.one_of(st.just(""), EXTREME_NUMBERS),
            ),
            min_size=1,
            max_size=5,
        )
    )
    csv = "code,modifier,non_facility,facility\n" + "".join(",".join(r) + "\n" for r in rows)
    return {"c.yaml": text.encode(), "fees.csv": csv.encode()}
