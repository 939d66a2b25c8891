"""Contract files: every validation rule of contracts.md, each problem located by file
and line; valid files (the samples, the spec example) read into Contract + rows."""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.contracts.errors import ContractInvalid
from app.contracts.loader import (
    load_practices,
    parse_documents,
    parse_paths,
    read_fee_csv,
)
from app.contracts.schemas import FeeRate, Letterhead, Problem
from tests.support import ROOT, shared_path

SAMPLES = ROOT / "contracts"
GOOD_CSV = "code,modifier,non_facility,facility\n64483,,412.00,236.50\n77003,26,45.10,\n"

VALID = """\
id: acme-ppo-2026
name: Acme PPO
payer:
  name: ACME HEALTH PLAN
  ids: ["60054"]
effective_from: 2026-01-01
dispute_window_months: 18
fee_schedule: fees.csv
"""


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


def _problems(folder: Path, files: dict[str, str]) -> list[tuple[str, int, str]]:
    _write(folder, files)
    result = parse_paths([folder])
    return [(Path(p.file).name, p.line, p.message) for p in result.problems]


# (case id, YAML text, CSV text, expected problems as (file, line, message))
YAML_CASES = [
    (
        "unknown key",
        VALID + "discount: 5\n",
        GOOD_CSV,
        [("c.yaml", 9, "unknown key 'discount'")],
    ),
    (
        "misspelt key with a suggestion",
        VALID + "efective_to: 2026-12-31\n",
        GOOD_CSV,
        [("c.yaml", 9, "unknown key 'efective_to' (did you mean 'effective_to'?)")],
    ),
    (
        "unknown nested key",
        VALID.replace('  ids: ["60054"]\n', '  ids: ["60054"]\n  adress: PO Box 1\n'),
        GOOD_CSV,
        [("c.yaml", 6, "unknown key 'payer.adress' (did you mean 'address'?)")],
    ),
    (
        "unknown clause",
        VALID + "clauses:\n  fee_schedule: Exhibit A\n  mpr: Section 4\n",
        GOOD_CSV,
        [("c.yaml", 11, "unknown key 'clauses.mpr'")],
    ),
    (
        "duplicate key",
        VALID + "id: other\n",
        GOOD_CSV,
        [("c.yaml", 9, "duplicate key 'id' (first on line 1)")],
    ),
    (
        "missing required keys",
        "# comment first\nname: Acme PPO\ndispute_window_days: 90\nfee_schedule: fees.csv\n",
        GOOD_CSV,
        [
            ("c.yaml", 2, "missing required key 'id'"),
            ("c.yaml", 2, "missing required key 'payer'"),
            ("c.yaml", 2, "missing required key 'effective_from'"),
        ],
    ),
    (
        "missing nested keys",
        VALID.replace('  name: ACME HEALTH PLAN\n  ids: ["60054"]\n', "  address: PO Box 1\n"),
        GOOD_CSV,
        [
            ("c.yaml", 3, "missing required key 'payer.name'"),
            ("c.yaml", 3, "missing required key 'payer.ids'"),
        ],
    ),
    (
        "required key without a value",
        VALID.replace("name: Acme PPO\n", "name:\n"),
        GOOD_CSV,
        [("c.yaml", 2, "missing value for 'name'")],
    ),
    (
        "empty payer ids",
        VALID.replace('ids: ["60054"]', "ids: []"),
        GOOD_CSV,
        [("c.yaml", 5, "'payer.ids' must list at least one payer id")],
    ),
    (
        "payer ids not a list",
        VALID.replace('ids: ["60054"]', "ids: {a: 1}"),
        GOOD_CSV,
        [("c.yaml", 5, "'payer.ids' must be a list")],
    ),
    (
        "payer not a mapping",
        VALID.replace('payer:\n  name: ACME HEALTH PLAN\n  ids: ["60054"]\n', "payer: ACME\n"),
        GOOD_CSV,
        [("c.yaml", 3, "'payer' must be a mapping of keys")],
    ),
    (
        "bad date",
        VALID.replace("effective_from: 2026-01-01", "effective_from: 2026-13-01"),
        GOOD_CSV,
        [("c.yaml", 6, "bad date '2026-13-01' for 'effective_from': expected YYYY-MM-DD")],
    ),
    (
        "date in another format",
        VALID.replace("effective_from: 2026-01-01", "effective_from: 01/01/2026"),
        GOOD_CSV,
        [("c.yaml", 6, "bad date '01/01/2026' for 'effective_from': expected YYYY-MM-DD")],
    ),
    (
        "effective_to before effective_from",
        VALID + "effective_to: 2025-12-31\n",
        GOOD_CSV,
        [("c.yaml", 9, "effective_to 2025-12-31 is before effective_from 2026-01-01")],
    ),
    (
        "mpr percent above 100",
        VALID + "multiple_procedure_reduction_percent: 150\n",
        GOOD_CSV,
        [
            (
                "c.yaml",
                9,
                "'multiple_procedure_reduction_percent' must be between 0 and 100, got 150",
            )
        ],
    ),
    (
        "negative mpr percent",
        VALID + "multiple_procedure_reduction_percent: -5\n",
        GOOD_CSV,
        [("c.yaml", 9, "'multiple_procedure_reduction_percent' must be between 0 and 100, got -5")],
    ),
    (
        "mpr schedule percent out of range",
        VALID + "multiple_procedure_schedule: [100, 50, 125]\n",
        GOOD_CSV,
        [("c.yaml", 9, "'multiple_procedure_schedule' must be between 0 and 100, got 125")],
    ),
    (
        "bilateral percent below 100",
        VALID + "bilateral_percent: 90\n",
        GOOD_CSV,
        [("c.yaml", 9, "'bilateral_percent' must be between 100 and 200, got 90")],
    ),
    (
        "bilateral percent above 200",
        VALID + "bilateral_percent: 250\n",
        GOOD_CSV,
        [("c.yaml", 9, "'bilateral_percent' must be between 100 and 200, got 250")],
    ),
    (
        "percent_of percent zero",
        VALID + "percent_of:\n  schedule: fees.csv\n  percent: 0\n",
        GOOD_CSV,
        [("c.yaml", 11, "'percent_of.percent' must be more than 0, got 0")],
    ),
    (
        "percent not a number",
        VALID + "multiple_procedure_reduction_percent: 50%\n",
        GOOD_CSV,
        [("c.yaml", 9, "'multiple_procedure_reduction_percent' must be a number, got '50%'")],
    ),
    (
        "money with three decimals",
        VALID + 'tolerance: "1.005"\n',
        GOOD_CSV,
        [("c.yaml", 9, "'tolerance' has more than two decimals: 1.005")],
    ),
    (
        "negative money",
        VALID + "tolerance: -1\n",
        GOOD_CSV,
        [("c.yaml", 9, "'tolerance' must not be negative, got -1")],
    ),
    (
        "both dispute windows",
        VALID + "dispute_window_days: 90\n",
        GOOD_CSV,
        [("c.yaml", 9, "give dispute_window_months or dispute_window_days, not both")],
    ),
    (
        "neither dispute window",
        VALID.replace("dispute_window_months: 18\n", ""),
        GOOD_CSV,
        [
            (
                "c.yaml",
                1,
                "missing required key 'dispute_window_months' (or 'dispute_window_days')",
            )
        ],
    ),
    (
        "dispute window not a whole number",
        VALID.replace("dispute_window_months: 18", "dispute_window_months: 18.5"),
        GOOD_CSV,
        [("c.yaml", 7, "'dispute_window_months' must be a whole number of months, got '18.5'")],
    ),
    (
        "dispute window zero",
        VALID.replace("dispute_window_months: 18", "dispute_window_months: 0"),
        GOOD_CSV,
        [("c.yaml", 7, "'dispute_window_months' must be more than 0, got 0")],
    ),
    (
        "dispute window from something else",
        VALID + "dispute_window_from: remittance\n",
        GOOD_CSV,
        [("c.yaml", 9, "'dispute_window_from' must be 'payment' or 'service', got 'remittance'")],
    ),
    (
        "both mpr percent and schedule",
        VALID
        + "multiple_procedure_reduction_percent: 50\nmultiple_procedure_schedule: [100, 50]\n",
        GOOD_CSV,
        [
            (
                "c.yaml",
                10,
                "give multiple_procedure_reduction_percent or multiple_procedure_schedule, "
                "not both",
            )
        ],
    ),
    (
        "neither fee_schedule nor percent_of",
        VALID.replace("fee_schedule: fees.csv\n", ""),
        GOOD_CSV,
        [("c.yaml", 1, "missing required key 'fee_schedule' (or 'percent_of')")],
    ),
    (
        "empty fee_schedule and dispute window",
        VALID.replace("fee_schedule: fees.csv", "fee_schedule:").replace(
            "dispute_window_months: 18", "dispute_window_months:"
        )
        + "effective_to:\n",
        GOOD_CSV,
        [
            (
                "c.yaml",
                1,
                "missing required key 'dispute_window_months' (or 'dispute_window_days')",
            ),
            ("c.yaml", 1, "missing required key 'fee_schedule' (or 'percent_of')"),
        ],
    ),
    (
        "fee schedule file not found",
        VALID.replace("fee_schedule: fees.csv", "fee_schedule: acme-fees.csv"),
        GOOD_CSV,
        [("c.yaml", 8, "fee schedule file 'acme-fees.csv' not found")],
    ),
    (
        "percent_of schedule file not found",
        VALID + "percent_of:\n  schedule: medicare.csv\n  percent: 120\n",
        GOOD_CSV,
        [("c.yaml", 10, "percent_of schedule file 'medicare.csv' not found")],
    ),
    (
        "percent_of without its schedule",
        VALID + "percent_of:\n  percent: 120\n",
        GOOD_CSV,
        [("c.yaml", 9, "missing required key 'percent_of.schedule'")],
    ),
    (
        "bad id",
        VALID.replace("id: acme-ppo-2026", "id: Acme PPO 2026"),
        GOOD_CSV,
        [("c.yaml", 1, "bad id 'Acme PPO 2026': use lowercase letters, digits and hyphens")],
    ),
    (
        "id with an underscore",
        VALID.replace("id: acme-ppo-2026", "id: acme_ppo"),
        GOOD_CSV,
        [("c.yaml", 1, "bad id 'acme_ppo': use lowercase letters, digits and hyphens")],
    ),
    (
        "mpr_exempt code not 5 characters",
        VALID + 'mpr_exempt: ["20610", "2061"]\n',
        GOOD_CSV,
        [("c.yaml", 9, "code '2061' is not 5 characters (CPT or HCPCS)")],
    ),
    (
        "bundled code not 5 characters",
        VALID + 'bundled:\n  - code: "770031"\n    into: ["64483"]\n',
        GOOD_CSV,
        [("c.yaml", 10, "code '770031' is not 5 characters (CPT or HCPCS)")],
    ),
    (
        "bundled edit without into",
        VALID + 'bundled:\n  - code: "77003"\n',
        GOOD_CSV,
        [("c.yaml", 10, "missing required key 'bundled[1].into'")],
    ),
    (
        "boolean that is not",
        VALID + "lesser_of_charges: sometimes\n",
        GOOD_CSV,
        [("c.yaml", 9, "'lesser_of_charges' must be true or false, got 'sometimes'")],
    ),
    (
        "practice NPI not 10 digits",
        VALID + 'practice:\n  npi: "12345"\n',
        GOOD_CSV,
        [("c.yaml", 10, "'practice.npi' must be 10 digits, got '12345'")],
    ),
    (
        "practice with nothing",
        VALID + "practice: {}\n",
        GOOD_CSV,
        [("c.yaml", 9, "'practice' needs an npi or a tin (or leave it out)")],
    ),
    (
        "name too long to store",
        VALID.replace("name: Acme PPO", "name: " + "x" * 201),
        GOOD_CSV,
        [("c.yaml", 2, "'name' is longer than 200 characters")],
    ),
    (
        "not YAML",
        'id: acme\nname: "unterminated\n',
        GOOD_CSV,
        [("c.yaml", 3, "not valid YAML: found unexpected end of stream")],
    ),
    (
        "a list, not a mapping",
        "- id: acme\n",
        GOOD_CSV,
        [("c.yaml", 1, "'contract' must be a mapping of keys")],
    ),
    ("empty file", "", GOOD_CSV, [("c.yaml", 1, "the file is empty")]),
]


@pytest.mark.parametrize(
    ("yaml_text", "csv_text", "expected"),
    [pytest.param(y, c, e, id=name) for name, y, c, e in YAML_CASES],
)
def test_broken_contract_is_reported_at_its_line(
    tmp_path: Path, yaml_text: str, csv_text: str, expected: list[tuple[str, int, str]]
) -> None:
    assert _problems(tmp_path, {"c.yaml": yaml_text, "fees.csv": csv_text}) == expected


CSV_CASES = [
    (
        "duplicate code and modifier",
        "code,modifier,non_facility,facility\n64483,,412.00,\n77003,26,45.10,\n64483,,400.00,\n",
        [("fees.csv", 4, "duplicate row for 64483 with no modifier (first on line 2)")],
    ),
    (
        "duplicate with a modifier, case-insensitive",
        "code,modifier,non_facility,facility\n77003,26,45.10,\n77003,26,45.10,\n",
        [("fees.csv", 3, "duplicate row for 77003-26 (first on line 2)")],
    ),
    (
        "negative rate",
        "code,modifier,non_facility,facility\n64483,,-412.00,236.50\n",
        [("fees.csv", 2, "non_facility rate -412.00 is negative")],
    ),
    (
        "non-numeric rate",
        "code,modifier,non_facility,facility\n64483,,$412.00,abc\n",
        [
            ("fees.csv", 2, "non_facility rate '$412.00' is not a number"),
            ("fees.csv", 2, "facility rate 'abc' is not a number"),
        ],
    ),
    (
        "rate with three decimals",
        "code,modifier,non_facility,facility\n64483,,412.005,236.50\n",
        [("fees.csv", 2, "non_facility rate 412.005 has more than two decimals")],
    ),
    (
        "missing non-facility rate",
        "code,modifier,non_facility,facility\n64483,,,236.50\n",
        [("fees.csv", 2, "missing non_facility rate")],
    ),
    (
        "code not 5 characters",
        "code,modifier,non_facility,facility\n6448,,412.00,\n644831,,1.00,\n",
        [
            ("fees.csv", 2, "code '6448' is not 5 characters (CPT or HCPCS)"),
            ("fees.csv", 3, "code '644831' is not 5 characters (CPT or HCPCS)"),
        ],
    ),
    (
        "modifier not 2 characters",
        "code,modifier,non_facility,facility\n77003,TC2,45.10,\n",
        [("fees.csv", 2, "modifier 'TC2' is not 2 characters")],
    ),
    (
        "no header",
        "64483,,412.00,236.50\n",
        [
            (
                "fees.csv",
                1,
                "no header line: the first line must be code,modifier,non_facility,facility",
            )
        ],
    ),
    (
        "misspelt column",
        "code,modifier,non_facility,facilty\n64483,,412.00,236.50\n",
        [("fees.csv", 1, "unknown column 'facilty' (did you mean 'facility'?)")],
    ),
    (
        "header without rates",
        "code,modifier,rate\n64483,,412.00\n",
        [
            ("fees.csv", 1, "unknown column 'rate'"),
            (
                "fees.csv",
                1,
                "the header has no 'non_facility' column (expected "
                "code,modifier,non_facility,facility)",
            ),
        ],
    ),
    (
        "too many fields",
        "code,modifier,non_facility,facility\n64483,,412.00,236.50,9\n",
        [("fees.csv", 2, "has 5 fields, the header has 4")],
    ),
    (
        "empty file",
        "",
        [
            (
                "fees.csv",
                1,
                "the file is empty: a header line code,modifier,non_facility,facility is required",
            )
        ],
    ),
    (
        "line numbers count blank lines and the header",
        "code,modifier,non_facility,facility\n\n64483,,412.00,\n\n64484,,x,\n",
        [("fees.csv", 5, "non_facility rate 'x' is not a number")],
    ),
]


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [pytest.param(c, e, id=name) for name, c, e in CSV_CASES],
)
def test_broken_fee_schedule_is_reported_at_its_line(
    tmp_path: Path, csv_text: str, expected: list[tuple[str, int, str]]
) -> None:
    assert _problems(tmp_path, {"c.yaml": VALID, "fees.csv": csv_text}) == expected


def test_every_problem_of_a_batch_is_reported_at_once(tmp_path: Path) -> None:
    broken = VALID.replace("id: acme-ppo-2026", "id: Acme").replace(
        "effective_from: 2026-01-01", "effective_from: 2026-02-30"
    )
    problems = _problems(
        tmp_path,
        {
            "a.yaml": broken + "bilateral_percent: 300\n",
            "b.yaml": VALID.replace("acme-ppo-2026", "beta").replace("fees.csv", "nope.csv"),
            "fees.csv": GOOD_CSV + "64483,,1.00,\n",
        },
    )
    assert problems == [
        ("a.yaml", 1, "bad id 'Acme': use lowercase letters, digits and hyphens"),
        ("a.yaml", 6, "bad date '2026-02-30' for 'effective_from': expected YYYY-MM-DD"),
        ("a.yaml", 9, "'bilateral_percent' must be between 100 and 200, got 300"),
        ("b.yaml", 8, "fee schedule file 'nope.csv' not found"),
        ("fees.csv", 4, "duplicate row for 64483 with no modifier (first on line 2)"),
    ]


def test_same_id_in_two_files(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        {"a.yaml": VALID, "b.yaml": VALID.replace("60054", "70000"), "fees.csv": GOOD_CSV},
    )
    assert problems == [
        ("b.yaml", 1, "contract id 'acme-ppo-2026' is also defined in " + str(tmp_path / "a.yaml"))
    ]


@pytest.mark.parametrize(
    ("second", "ambiguous"),
    [
        pytest.param(VALID.replace("acme-ppo-2026", "acme-b"), True, id="same payer ids"),
        pytest.param(
            VALID.replace("acme-ppo-2026", "acme-b").replace('["60054"]', '["99999", "60054"]'),
            True,
            id="overlapping payer ids",
        ),
        pytest.param(
            VALID.replace("acme-ppo-2026", "acme-b").replace('["60054"]', '["1060054999"]'),
            False,
            id="other payer",
        ),
        pytest.param(
            VALID.replace("acme-ppo-2026", "acme-b").replace("2026-01-01", "2026-07-01"),
            False,
            id="later effective_from",
        ),
        pytest.param(
            VALID.replace("acme-ppo-2026", "acme-b") + 'practice:\n  npi: "1326048597"\n',
            False,
            id="practice-specific",
        ),
    ],
)
def test_ambiguous_precedence_between_files(tmp_path: Path, second: str, ambiguous: bool) -> None:
    problems = _problems(tmp_path, {"a.yaml": VALID, "b.yaml": second, "fees.csv": GOOD_CSV})
    expected = [
        (
            "b.yaml",
            1,
            "contract 'acme-b' has the same payer id 60054, no practice and effective_from "
            f"2026-01-01 as 'acme-ppo-2026' (in {tmp_path / 'a.yaml'}): which one applies "
            "would be ambiguous",
        )
    ]
    assert problems == (expected if ambiguous else [])


def test_trn03_form_of_a_payer_id_is_the_same_payer(tmp_path: Path) -> None:
    second = VALID.replace("acme-ppo-2026", "acme-b").replace('["60054"]', '["1846543210"]')
    first = VALID.replace('["60054"]', '["846543210"]')
    problems = _problems(tmp_path, {"a.yaml": first, "b.yaml": second, "fees.csv": GOOD_CSV})
    assert len(problems) == 1
    assert "same payer id 846543210" in problems[0][2]


def test_valid_contract_reads_every_field(tmp_path: Path) -> None:
    text = """\
    id: acme-ppo-2026
    name: Acme Health PPO professional agreement
    payer:
      name: ACME HEALTH PLAN
      ids: [60054, "1234567890"]
      address: "PO Box 1, Hartford CT 06101"
    practice:
      npi: "1234567893"
      tin: 12-3456789
    effective_from: 2026-01-01
    effective_to: 2026-12-31
    dispute_window_days: 90
    dispute_window_from: service
    multiple_procedure_schedule: [100, 50.0, 25]
    bilateral_percent: 150.50
    tolerance: 2.5
    price_secondary: yes
    lesser_of_charges: false
    fee_schedule: fees/acme.csv
    percent_of:
      schedule: ../medicare.csv
      percent: 120
    mpr_exempt: [20610]
    mpr_subject: []
    bundled:
      - code: "77003"
        into: ["64483", "64484"]
        modifier_allowed: true
    clauses:
      fee_schedule: "Exhibit A"
      dispute_window: "Section 9.1"
    """
    folder = tmp_path / "contracts"
    (folder / "fees").mkdir(parents=True)
    (folder / "acme.yaml").write_text(textwrap.dedent(text))
    (folder / "fees" / "acme.csv").write_text(GOOD_CSV)
    (tmp_path / "medicare.csv").write_text("code,non_facility\n64483,236.13\ng2211,15.53\n")
    result = parse_paths([folder])
    assert result.problems == []
    [loaded] = result.contracts
    contract = loaded.contract
    assert contract.payer.ids == ["60054", "1234567890"]
    assert contract.practice is not None
    assert (contract.practice.npi, contract.practice.tin) == ("1234567893", "123456789")
    assert (contract.effective_from, contract.effective_to) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
    )
    assert (contract.dispute_window_days, contract.dispute_window_from) == (90, "service")
    assert contract.multiple_procedure_schedule == [Decimal(100), Decimal(50), Decimal(25)]
    assert contract.bilateral_percent == Decimal("150.5")
    assert contract.tolerance == Decimal("2.50")
    assert (contract.price_secondary, contract.lesser_of_charges) == (True, False)
    assert contract.percent_of is not None
    assert contract.percent_of.percent == Decimal(120)
    assert contract.mpr_exempt == ["20610"]
    assert contract.bundled[0].into == ["64483", "64484"]
    assert contract.bundled[0].modifier_allowed
    assert contract.clauses.fee_schedule == "Exhibit A"
    assert loaded.fee_rows == [
        FeeRate("64483", "", Decimal("412.00"), Decimal("236.50")),
        FeeRate("77003", "26", Decimal("45.10"), None),
    ]
    assert loaded.percent_of_rows == [
        FeeRate("64483", "", Decimal("236.13"), None),
        FeeRate("G2211", "", Decimal("15.53"), None),
    ]
    assert loaded.source_path == str(folder / "acme.yaml")


def test_the_same_terms_written_differently_hash_the_same(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write(tmp_path / "a", {"c.yaml": VALID + "bilateral_percent: 150\n", "fees.csv": GOOD_CSV})
    reordered = "# the same contract\n" + "\n".join(reversed(VALID.splitlines()[5:])) + "\n"
    reordered += "\n".join(VALID.splitlines()[:5]) + "\nbilateral_percent: 150.0\n"
    csv_text = "code,modifier,non_facility,facility\n77003,26,45.1,\n64483,,412,236.5\n"
    _write(tmp_path / "b", {"c.yaml": reordered, "fees.csv": csv_text})
    [a] = parse_paths([tmp_path / "a"]).contracts
    [b] = parse_paths([tmp_path / "b"]).contracts
    assert a.content_hash == b.content_hash
    _write(tmp_path / "b", {"fees.csv": csv_text.replace("412", "413")})
    [changed] = parse_paths([tmp_path / "b"]).contracts
    assert changed.content_hash != a.content_hash


def test_unquoted_ids_keep_their_leading_zeros(tmp_path: Path) -> None:
    _write(tmp_path, {"c.yaml": VALID.replace('["60054"]', "[00054]"), "fees.csv": GOOD_CSV})
    [loaded] = parse_paths([tmp_path]).contracts
    assert loaded.contract.payer.ids == ["00054"]


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["missing"], [("missing", 0, "no such file or folder")]),
        (["notes.txt"], [("notes.txt", 0, "not a contract file: expected .yaml or .yml")]),
    ],
)
def test_paths_that_are_not_contracts(
    tmp_path: Path, paths: list[str], expected: list[tuple[str, int, str]]
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    result = parse_paths([tmp_path / p for p in paths])
    assert [(Path(p.file).name, p.line, p.message) for p in result.problems] == expected


def test_a_folder_reads_yaml_and_yml_but_not_subfolders(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    _write(
        tmp_path,
        {
            "a.yaml": VALID,
            "b.yml": VALID.replace("acme-ppo-2026", "beta").replace("60054", "70000"),
            "fees.csv": GOOD_CSV,
            "old/c.yaml": "not: [valid",
        },
    )
    result = parse_paths([tmp_path])
    assert result.problems == []
    assert sorted(c.contract.id for c in result.contracts) == ["acme-ppo-2026", "beta"]


# ----------------------------------------------------------------------- samples


def test_every_sample_contract_loads_cleanly() -> None:
    result = parse_paths([SAMPLES])
    assert result.problems == []
    ids = {loaded.contract.id for loaded in result.contracts}
    assert ids == {"summit-ppo", "big-sky-hmo", "plains-tpa"}
    assert set(result.practices) == {"1326048597", "1487652301"}


@pytest.mark.parametrize(
    "name", sorted(p.name for p in SAMPLES.glob("*.yaml") if p.name != "practices.yaml")
)
def test_each_sample_says_its_rates_are_examples(name: str) -> None:
    text = (SAMPLES / name).read_text()
    assert "EXAMPLES" in text
    [loaded] = parse_paths([SAMPLES / name]).contracts
    assert loaded.contract.clauses.fee_schedule
    assert loaded.fee_rows or loaded.percent_of_rows


def test_samples_cover_the_kinds_of_contract() -> None:
    by_id = {c.contract.id: c for c in parse_paths([SAMPLES]).contracts}
    ppo = by_id["summit-ppo"].contract
    assert ppo.percent_of is not None
    assert ppo.percent_of.schedule == "medicare-national-2025.csv"
    assert ppo.multiple_procedure_reduction_percent == 50
    assert ppo.dispute_window_months == 18
    assert by_id["big-sky-hmo"].contract.multiple_procedure_schedule == [
        Decimal(p) for p in (100, 50, 25)
    ]
    plains = by_id["plains-tpa"].contract
    assert plains.dispute_window_days is not None
    assert plains.dispute_window_from == "service"
    # distinct payers: no sample's payer id is another's
    ids = [set(c.contract.payer.ids) for c in by_id.values()]
    assert all(a.isdisjoint(b) for i, a in enumerate(ids) for b in ids[i + 1 :])


def test_the_spec_example_contract_loads() -> None:
    path = shared_path("spec", "examples", "prairie-ppo-2026.yaml")
    result = parse_paths([path])
    assert result.problems == []
    [loaded] = result.contracts
    assert loaded.contract.id == "prairie-ppo-2026"
    assert loaded.contract.payer.ids == ["55123"]
    assert len(loaded.fee_rows) == 6
    assert FeeRate("64483", "", Decimal("412.00"), Decimal("236.50")) in loaded.fee_rows


# ------------------------------------------------------------------- uploads


def test_documents_resolve_csvs_by_name() -> None:
    result = parse_documents(
        {"acme.yaml": VALID.encode(), "fees.csv": GOOD_CSV.encode(), "unused.csv": b"x"}
    )
    assert result.problems == []
    assert [c.source_path for c in result.contracts] == ["acme.yaml"]
    assert len(result.contracts[0].fee_rows) == 2


def test_documents_report_a_missing_csv_and_a_missing_yaml() -> None:
    result = parse_documents({"acme.yaml": VALID.encode()})
    assert result.problems == [Problem("acme.yaml", 8, "fee schedule file 'fees.csv' not found")]
    result = parse_documents({"fees.csv": GOOD_CSV.encode()})
    assert result.problems == [
        Problem("(upload)", 0, "no contract file (.yaml or .yml) among the uploaded files")
    ]


def test_documents_that_are_not_text() -> None:
    result = parse_documents({"acme.yaml": b"\xff\xfe\x00binary"})
    assert result.problems == [Problem("acme.yaml", 1, "not a UTF-8 text file")]


def test_fee_csv_accepts_a_byte_order_mark_and_a_description_column() -> None:
    data = "\ufeffCode,Modifier,Non_Facility,Facility,Description\n64483,rt,1.5,,x\n".encode()
    rows, problems = read_fee_csv("f.csv", data)
    assert problems == []
    assert rows == [FeeRate("64483", "RT", Decimal("1.50"), None)]


# ---------------------------------------------------------------- letterheads


def test_practices_letterheads(tmp_path: Path) -> None:
    letterheads = load_practices(SAMPLES)
    big_horn = letterheads["1326048597"]
    assert isinstance(big_horn, Letterhead)
    assert big_horn.name == "Big Horn Interventional Pain"
    assert big_horn.address_lines == ("100 Main St", "Cheyenne, WY 82001")
    assert big_horn.signer_name
    assert big_horn.signer_title
    assert letterheads["1487652301"].address == "415 Center St, Suite 200\nCasper, WY 82601"
    assert load_practices(tmp_path) == {}


def test_broken_practices_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "practices.yaml": """\
            "1326048597":
              name: Big Horn
              adress: 1 Main St
            "12345":
              name: Short
              address: x
            "1487652301":
              name: Wind River
              address: 2 Main St
              signer:
                title: Manager
            """
        },
    )
    with pytest.raises(ContractInvalid) as caught:
        load_practices(tmp_path)
    assert [(Path(p.file).name, p.line, p.message) for p in caught.value.problems] == [
        ("practices.yaml", 3, "unknown key '1326048597.adress' (did you mean 'address'?)"),
        ("practices.yaml", 1, "missing required key '1326048597.address'"),
        ("practices.yaml", 4, "practice key '12345' must be an NPI of 10 digits"),
        ("practices.yaml", 10, "missing required key '1487652301.signer.name'"),
    ]
    assert caught.value.details[0] == {
        "file": str(tmp_path / "practices.yaml"),
        "line": 3,
        "message": "unknown key '1326048597.adress' (did you mean 'address'?)",
    }
    # a folder check reports them too (sorted by line)
    lines = [p.line for p in parse_paths([tmp_path]).problems]
    assert lines == [1, 3, 4, 10]
