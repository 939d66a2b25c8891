"""Reading and validating contract files (spec/contracts.md).

A contract is one YAML file plus the fee schedule CSVs it names (paths relative to the
YAML). This module reads them — from paths on disk, or from uploaded documents by
name — and reports every problem at once, each located by file and line (YAML: the
line of the offending key or value, found through PyYAML's composed nodes; CSV: the
header is line 1), so a contract admin can fix a file in one pass. It is pure: no
database, no settings, no clock. Whether an id is already stored is the service's
concern (``service.py``).

Scalars are read from their source text, never through PyYAML's float: a rate or a
percent is a ``Decimal`` of exactly what was written, and a payer id or a code
written without quotes keeps its leading zeros.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.contracts.errors import ContractInvalid
from app.contracts.schemas import (
    CONTRACT_ID_PATTERN,
    Contract,
    FeeRate,
    Letterhead,
    Problem,
)

__all__ = [
    "ContractKey",
    "LoadedContract",
    "ParseResult",
    "Problem",
    "ambiguity_problems",
    "content_hash",
    "load_practices",
    "parse_documents",
    "parse_paths",
    "read_practices",
]

PRACTICES_FILE = "practices.yaml"
YAML_SUFFIXES = (".yaml", ".yml")
CSV_COLUMNS = ("code", "modifier", "non_facility", "facility")
# columns a spreadsheet export often carries; read and ignored
CSV_IGNORED_COLUMNS = ("description", "note", "notes")

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_BOOL_VALUES = yaml.constructor.SafeConstructor.bool_values
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_WHOLE = re.compile(r"^\+?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
_ID = re.compile(CONTRACT_ID_PATTERN)
CENTS = Decimal("0.01")
# fee_schedule_rows stores rates as NUMERIC(12, 2); a number of more digits than
# MAX_DIGITS is no rate or percent anyone means (and past 28 Decimal rounding fails)
MAX_MONEY = Decimal("9999999999.99")
MAX_DIGITS = 18

# column lengths of contract_versions (models.py): longer values cannot be stored
MAX_ID = 80
MAX_NAME = 200
MAX_PAYER_NAME = 120
MAX_PATH = 500


@dataclass(slots=True)
class LoadedContract:
    """A contract file that passed validation, with its fee rows."""

    contract: Contract
    fee_rows: list[FeeRate]
    percent_of_rows: list[FeeRate] | None
    source_path: str
    content_hash: str
    # line of some keys in the YAML ("id", "effective_from", "payer.ids"), for
    # problems found later (duplicate ids, ambiguous precedence)
    key_lines: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class ParseResult:
    contracts: list[LoadedContract] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    practices: dict[str, Letterhead] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(slots=True, frozen=True)
class ContractKey:
    """What decides a contract's precedence (repricing.md §1): its payer ids, practice
    and effective_from. ``file`` is where it comes from (a path, or None if stored)."""

    contract_id: str
    payer_ids: frozenset[str]
    practice_npi: str | None
    practice_tin: str | None
    effective_from: date
    file: str | None = None
    line: int = 0

    @classmethod
    def of(cls, loaded: LoadedContract) -> ContractKey:
        contract = loaded.contract
        practice = contract.practice
        return cls(
            contract_id=contract.id,
            payer_ids=frozenset(normalise_payer_ids(contract.payer.ids)),
            practice_npi=practice.npi if practice else None,
            practice_tin=practice.tin if practice else None,
            effective_from=contract.effective_from,
            file=loaded.source_path,
            line=loaded.key_lines.get("id", 1),
        )


def payer_id_forms(value: str) -> set[str]:
    """A payer id and the forms it may take in an 835: TRN03 is the payer's TIN with a
    leading ``1`` (repricing.md §1), so a 10-digit id starting with 1 also stands for
    the 9 digits after it."""
    text = value.strip().upper()
    forms = {text}
    if len(text) == 10 and text.isdigit() and text.startswith("1"):
        forms.add(text[1:])
    return forms


def normalise_payer_ids(ids: Iterable[str]) -> set[str]:
    forms: set[str] = set()
    for value in ids:
        forms |= payer_id_forms(value)
    return forms


# ---------------------------------------------------------------------- YAML walking


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _suggest(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Reader:
    """Walks one YAML document's nodes and collects problems for one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    # mappings ----------------------------------------------------------------

    def mapping(
        self,
        node: Node,
        label: str,
        *,
        allowed: Iterable[str],
        required: Iterable[str] = (),
        anchor_line: int,
        prefix: str = "",
    ) -> dict[str, tuple[int, Node]] | None:
        """The pairs of a mapping node by key: (key line, value node). Reports a node
        that is not a mapping, duplicate and unknown keys, and missing required keys
        (at ``anchor_line``: the line of the key that holds this mapping)."""
        if not isinstance(node, MappingNode):
            self.problem(_line(node), f"'{label}' must be a mapping of keys")
            return None
        allowed = list(allowed)
        pairs: dict[str, tuple[int, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(_line(key_node), f"unknown key in '{label}'")
                continue
            key = str(key_node.value)
            if key in pairs:
                self.problem(
                    _line(key_node),
                    f"duplicate key '{prefix}{key}' (first on line {pairs[key][0]})",
                )
                continue
            if key not in allowed:
                self.problem(
                    _line(key_node), f"unknown key '{prefix}{key}'{_suggest(key, allowed)}"
                )
                continue
            pairs[key] = (_line(key_node), value_node)
        for key in required:
            if key not in pairs:
                self.problem(anchor_line, f"missing required key '{prefix}{key}'")
            elif _is_null(pairs[key][1]):
                self.problem(pairs[key][0], f"missing value for '{prefix}{key}'")
        return pairs

    # scalars -----------------------------------------------------------------

    def scalar(self, node: Node, label: str) -> str | None:
        """A scalar's source text (None for a null: an optional key left empty)."""
        if _is_null(node):
            return None
        if not isinstance(node, ScalarNode):
            kind = "a list" if isinstance(node, SequenceNode) else "a mapping"
            self.problem(_line(node), f"'{label}' must be a single value, not {kind}")
            return None
        return str(node.value).strip()

    def text(self, node: Node, label: str, *, max_length: int | None = None) -> str | None:
        value = self.scalar(node, label)
        if value is None:
            return None
        if not value:
            self.problem(_line(node), f"missing value for '{label}'")
            return None
        if max_length is not None and len(value) > max_length:
            self.problem(_line(node), f"'{label}' is longer than {max_length} characters")
            return None
        return value

    def date(self, node: Node, label: str) -> date | None:
        value = self.scalar(node, label)
        if value is None:
            return None
        try:
            if not _DATE.match(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.problem(_line(node), f"bad date '{value}' for '{label}': expected YYYY-MM-DD")
            return None

    def number(self, node: Node, label: str) -> Decimal | None:
        value = self.scalar(node, label)
        if value is None:
            return None
        if node.tag == _BOOL or not _NUMBER.match(value):
            self.problem(_line(node), f"'{label}' must be a number, got '{value}'")
            return None
        if _too_long(value):
            self.problem(_line(node), f"'{label}' is too large a number")
            return None
        return Decimal(value)

    def percent(
        self, node: Node, label: str, *, low: int, high: int | None, above_low: bool = False
    ) -> Decimal | None:
        value = self.number(node, label)
        if value is None:
            return None
        if above_low and value <= low:
            self.problem(_line(node), f"'{label}' must be more than {low}, got {value}")
            return None
        if value < low or (high is not None and value > high):
            self.problem(_line(node), f"'{label}' must be between {low} and {high}, got {value}")
            return None
        return _plain(value)

    def money(self, node: Node, label: str) -> Decimal | None:
        value = self.number(node, label)
        if value is None:
            return None
        if value < 0:
            self.problem(_line(node), f"'{label}' must not be negative, got {value}")
            return None
        if value > MAX_MONEY:
            self.problem(_line(node), f"'{label}' must be at most {MAX_MONEY:,}, got {value}")
            return None
        if value != value.quantize(CENTS):
            self.problem(_line(node), f"'{label}' has more than two decimals: {value}")
            return None
        return value.quantize(CENTS)

    def whole(self, node: Node, label: str, unit: str) -> int | None:
        value = self.scalar(node, label)
        if value is None:
            return None
        if node.tag == _BOOL or not _WHOLE.match(value):
            self.problem(_line(node), f"'{label}' must be a whole number of {unit}, got '{value}'")
            return None
        number = int(value)
        if number <= 0:
            self.problem(_line(node), f"'{label}' must be more than 0, got {number}")
            return None
        return number

    def boolean(self, node: Node, label: str) -> bool | None:
        value = self.scalar(node, label)
        if value is None:
            return None
        if node.tag != _BOOL:
            self.problem(_line(node), f"'{label}' must be true or false, got '{value}'")
            return None
        return bool(_BOOL_VALUES[value.lower()])

    def choice(self, node: Node, label: str, choices: tuple[str, ...]) -> str | None:
        value = self.scalar(node, label)
        if value is None:
            return None
        if value not in choices:
            options = " or ".join(f"'{choice}'" for choice in choices)
            self.problem(_line(node), f"'{label}' must be {options}, got '{value}'")
            return None
        return value

    def digits(self, node: Node, label: str, count: int) -> str | None:
        value = self.scalar(node, label)
        if value is None:
            return None
        cleaned = value.replace("-", "") if count == 9 else value
        if len(cleaned) != count or not cleaned.isdigit():
            self.problem(_line(node), f"'{label}' must be {count} digits, got '{value}'")
            return None
        return cleaned

    def code(self, node: Node, label: str) -> str | None:
        value = self.scalar(node, label)
        if value is None:
            self.problem(_line(node), f"missing value for '{label}'")
            return None
        code = value.upper()
        if not _CODE.match(code):
            self.problem(_line(node), f"code '{value}' is not 5 characters (CPT or HCPCS)")
            return None
        return code

    # sequences ---------------------------------------------------------------

    def sequence(self, node: Node, label: str) -> list[Node] | None:
        if _is_null(node):
            return None
        if not isinstance(node, SequenceNode):
            self.problem(_line(node), f"'{label}' must be a list")
            return None
        return list(node.value)

    def codes(self, node: Node, label: str) -> list[str] | None:
        items = self.sequence(node, label)
        if items is None:
            return None
        codes = [self.code(item, label) for item in items]
        return [code for code in codes if code is not None]


def _too_long(number: str) -> bool:
    """More than ``MAX_DIGITS`` digits (a number matched by ``_NUMBER``)."""
    return sum(ch.isdigit() for ch in number) > MAX_DIGITS


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _plain(value: Decimal) -> Decimal:
    """A percent without trailing zeros (50.0 → 50, 50.50 → 50.5), so that the same
    contract written two ways hashes the same."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _compose(reader: _Reader, data: bytes) -> Node | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        reader.problem(1, "not a UTF-8 text file")
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        reader.problem(line, f"not valid YAML: {exc.problem or exc.context}")
        return None
    except yaml.YAMLError as exc:
        reader.problem(1, f"not valid YAML: {exc}")
        return None
    if node is None:
        reader.problem(1, "the file is empty")
        return None
    return node


# -------------------------------------------------------------------- the contract

_TOP_KEYS = tuple(Contract.model_fields)  # every key contracts.md defines
_REQUIRED = ("id", "name", "payer", "effective_from")
_CLAUSE_KEYS = (
    "fee_schedule",
    "multiple_procedure_reduction",
    "bilateral",
    "bundling",
    "dispute_window",
)

# given a YAML's display name and a relative path: the CSV's display name and its
# bytes (None: not found)
Resolver = Callable[[str, str], tuple[str, bytes | None]]


def _read_contract(
    file: str, data: bytes, resolve: Resolver
) -> tuple[LoadedContract | None, list[Problem]]:
    reader = _Reader(file)
    root = _compose(reader, data)
    if root is None:
        return None, reader.problems
    root_line = _line(root)
    top = reader.mapping(
        root, "contract", allowed=_TOP_KEYS, required=_REQUIRED, anchor_line=root_line
    )
    if top is None:
        return None, reader.problems
    # an optional key left empty (`effective_to:`) is as good as absent
    top = {key: pair for key, pair in top.items() if key in _REQUIRED or not _is_null(pair[1])}

    values: dict[str, Any] = {}
    key_lines = {key: line for key, (line, _node) in top.items()}

    def node(key: str) -> Node | None:
        pair = top.get(key)
        return pair[1] if pair is not None else None

    if (n := node("id")) is not None and (value := reader.text(n, "id")) is not None:
        if not _ID.match(value) or len(value) > MAX_ID:
            reader.problem(_line(n), f"bad id '{value}': use lowercase letters, digits and hyphens")
        else:
            values["id"] = value
    if (n := node("name")) is not None:
        values["name"] = reader.text(n, "name", max_length=MAX_NAME)

    if (pair := top.get("payer")) is not None and not _is_null(pair[1]):
        values["payer"] = _read_payer(reader, pair, key_lines)
    if (pair := top.get("practice")) is not None and not _is_null(pair[1]):
        values["practice"] = _read_practice(reader, pair)

    for key in ("effective_from", "effective_to"):
        if (n := node(key)) is not None:
            values[key] = reader.date(n, key)
    start, end = values.get("effective_from"), values.get("effective_to")
    if start is not None and end is not None and end < start:
        reader.problem(
            key_lines["effective_to"], f"effective_to {end} is before effective_from {start}"
        )

    _read_windows(reader, top, values, root_line)
    _read_pricing_terms(reader, top, values)
    fee_rows, percent_rows = _read_schedules(reader, top, values, root_line, resolve)

    if (n := node("clauses")) is not None and not _is_null(n):
        clauses = reader.mapping(
            n,
            "clauses",
            allowed=_CLAUSE_KEYS,
            anchor_line=key_lines["clauses"],
            prefix="clauses.",
        )
        if clauses is not None:
            values["clauses"] = {
                key: reader.text(value_node, f"clauses.{key}")
                for key, (_line_no, value_node) in clauses.items()
            }

    problems = (
        reader.problems
        + (fee_rows[1] if fee_rows else [])
        + (percent_rows[1] if percent_rows else [])
    )
    if problems:
        return None, problems
    try:
        contract = Contract.model_validate(
            {key: value for key, value in values.items() if value is not None}
        )
    except ValidationError as exc:  # a rule this reader does not know yet
        return None, [
            Problem(file, root_line, f"'{'.'.join(map(str, error['loc']))}': {error['msg']}")
            for error in exc.errors()
        ]
    fees = fee_rows[0] if fee_rows else []
    percent = percent_rows[0] if percent_rows else None
    return (
        LoadedContract(
            contract=contract,
            fee_rows=fees,
            percent_of_rows=percent,
            source_path=file,
            content_hash=content_hash(contract, fees, percent),
            key_lines=key_lines,
        ),
        [],
    )


def _read_payer(
    reader: _Reader, pair: tuple[int, Node], key_lines: dict[str, int]
) -> dict[str, Any] | None:
    line, node = pair
    payer = reader.mapping(
        node,
        "payer",
        allowed=("name", "ids", "address"),
        required=("name", "ids"),
        anchor_line=line,
        prefix="payer.",
    )
    if payer is None:
        return None
    result: dict[str, Any] = {}
    if "name" in payer:
        result["name"] = reader.text(payer["name"][1], "payer.name", max_length=MAX_PAYER_NAME)
    if "address" in payer:
        result["address"] = reader.text(payer["address"][1], "payer.address")
    if "ids" in payer:
        ids_line, ids_node = payer["ids"]
        key_lines["payer.ids"] = ids_line
        items = reader.sequence(ids_node, "payer.ids")
        if items is not None:
            ids = [reader.text(item, "payer.ids", max_length=MAX_ID) for item in items]
            if not items:
                reader.problem(ids_line, "'payer.ids' must list at least one payer id")
            result["ids"] = [value for value in ids if value is not None]
    return result


def _read_practice(reader: _Reader, pair: tuple[int, Node]) -> dict[str, Any] | None:
    line, node = pair
    practice = reader.mapping(
        node, "practice", allowed=("npi", "tin"), anchor_line=line, prefix="practice."
    )
    if practice is None:
        return None
    result: dict[str, Any] = {}
    if "npi" in practice:
        result["npi"] = reader.digits(practice["npi"][1], "practice.npi", 10)
    if "tin" in practice:
        result["tin"] = reader.digits(practice["tin"][1], "practice.tin", 9)
    if not practice or all(_is_null(value) for _line_no, value in practice.values()):
        reader.problem(line, "'practice' needs an npi or a tin (or leave it out)")
    return result


def _read_windows(
    reader: _Reader, top: dict[str, tuple[int, Node]], values: dict[str, Any], root_line: int
) -> None:
    months, days = top.get("dispute_window_months"), top.get("dispute_window_days")
    if months is None and days is None:
        reader.problem(
            root_line,
            "missing required key 'dispute_window_months' (or 'dispute_window_days')",
        )
    elif months is not None and days is not None:
        reader.problem(
            max(months[0], days[0]),
            "give dispute_window_months or dispute_window_days, not both",
        )
    if months is not None:
        values["dispute_window_months"] = reader.whole(months[1], "dispute_window_months", "months")
    if days is not None:
        values["dispute_window_days"] = reader.whole(days[1], "dispute_window_days", "days")
    if (pair := top.get("dispute_window_from")) is not None:
        values["dispute_window_from"] = reader.choice(
            pair[1], "dispute_window_from", ("payment", "service")
        )


def _read_pricing_terms(
    reader: _Reader, top: dict[str, tuple[int, Node]], values: dict[str, Any]
) -> None:
    mpr = top.get("multiple_procedure_reduction_percent")
    schedule = top.get("multiple_procedure_schedule")
    if mpr is not None and schedule is not None:
        reader.problem(
            max(mpr[0], schedule[0]),
            "give multiple_procedure_reduction_percent or multiple_procedure_schedule, not both",
        )
    if mpr is not None:
        values["multiple_procedure_reduction_percent"] = reader.percent(
            mpr[1], "multiple_procedure_reduction_percent", low=0, high=100
        )
    if schedule is not None:
        items = reader.sequence(schedule[1], "multiple_procedure_schedule")
        if items is not None:
            if not items:
                reader.problem(
                    schedule[0], "'multiple_procedure_schedule' must list at least one percent"
                )
            percents = [
                reader.percent(item, "multiple_procedure_schedule", low=0, high=100)
                for item in items
            ]
            values["multiple_procedure_schedule"] = [p for p in percents if p is not None]
    if (pair := top.get("bilateral_percent")) is not None:
        values["bilateral_percent"] = reader.percent(
            pair[1], "bilateral_percent", low=100, high=200
        )
    if (pair := top.get("tolerance")) is not None:
        values["tolerance"] = reader.money(pair[1], "tolerance")
    for key in ("price_secondary", "lesser_of_charges"):
        if (pair := top.get(key)) is not None:
            values[key] = reader.boolean(pair[1], key)
    for key in ("mpr_exempt", "mpr_subject"):
        if (pair := top.get(key)) is not None:
            values[key] = reader.codes(pair[1], key)
    if (pair := top.get("bundled")) is not None:
        items = reader.sequence(pair[1], "bundled")
        if items is not None:
            edits = [_read_bundling_edit(reader, item, index) for index, item in enumerate(items)]
            values["bundled"] = [edit for edit in edits if edit is not None]


def _read_bundling_edit(reader: _Reader, node: Node, index: int) -> dict[str, Any] | None:
    label = f"bundled[{index + 1}]"
    edit = reader.mapping(
        node,
        label,
        allowed=("code", "into", "modifier_allowed"),
        required=("code", "into"),
        anchor_line=_line(node),
        prefix=f"{label}.",
    )
    if edit is None:
        return None
    result: dict[str, Any] = {}
    if "code" in edit and not _is_null(edit["code"][1]):
        result["code"] = reader.code(edit["code"][1], f"{label}.code")
    if "into" in edit:
        into_line, into_node = edit["into"]
        into = reader.codes(into_node, f"{label}.into")
        if into is not None and not into_node.value:
            reader.problem(into_line, f"'{label}.into' must list at least one code")
        result["into"] = into
    if "modifier_allowed" in edit:
        result["modifier_allowed"] = reader.boolean(
            edit["modifier_allowed"][1], f"{label}.modifier_allowed"
        )
    return {key: value for key, value in result.items() if value is not None}


_CsvRead = tuple[list[FeeRate], list[Problem]]


def _read_schedules(
    reader: _Reader,
    top: dict[str, tuple[int, Node]],
    values: dict[str, Any],
    root_line: int,
    resolve: Resolver,
) -> tuple[_CsvRead | None, _CsvRead | None]:
    fee: _CsvRead | None = None
    percent: _CsvRead | None = None
    fee_pair, percent_pair = top.get("fee_schedule"), top.get("percent_of")
    if fee_pair is None and percent_pair is None:
        reader.problem(root_line, "missing required key 'fee_schedule' (or 'percent_of')")
    if fee_pair is not None:
        name = reader.text(fee_pair[1], "fee_schedule", max_length=MAX_PATH)
        if name is not None:
            values["fee_schedule"] = name
            fee = _read_schedule_file(reader, fee_pair[1], name, "fee schedule", resolve)
    if percent_pair is not None:
        line, node = percent_pair
        percent_of = reader.mapping(
            node,
            "percent_of",
            allowed=("schedule", "percent"),
            required=("schedule", "percent"),
            anchor_line=line,
            prefix="percent_of.",
        )
        if percent_of is not None:
            result: dict[str, Any] = {}
            if "percent" in percent_of:
                result["percent"] = reader.percent(
                    percent_of["percent"][1], "percent_of.percent", low=0, high=None, above_low=True
                )
            if "schedule" in percent_of:
                schedule_node = percent_of["schedule"][1]
                name = reader.text(schedule_node, "percent_of.schedule", max_length=MAX_PATH)
                if name is not None:
                    result["schedule"] = name
                    percent = _read_schedule_file(
                        reader, schedule_node, name, "percent_of schedule", resolve
                    )
            values["percent_of"] = result
    return fee, percent


def _read_schedule_file(
    reader: _Reader, node: Node, name: str, what: str, resolve: Resolver
) -> _CsvRead | None:
    display, data = resolve(reader.file, name)
    if data is None:
        reader.problem(_line(node), f"{what} file '{name}' not found")
        return None
    return read_fee_csv(display, data)


# ---------------------------------------------------------------------- CSV files


def read_fee_csv(file: str, data: bytes) -> tuple[list[FeeRate], list[Problem]]:
    """Read a fee schedule CSV (contracts.md "Fee schedule CSV"): header required,
    ``modifier`` blank = any modifier without its own row, blank ``facility`` falls
    back to ``non_facility``. Every bad row is reported; valid rows are returned."""
    problems: list[Problem] = []

    def problem(line: int, message: str) -> None:
        problems.append(Problem(file, line, message))

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problem(1, "not a UTF-8 text file")
        return [], problems
    rows = csv.reader(io.StringIO(text, newline=""))
    expected = ",".join(CSV_COLUMNS)
    header: list[str] | None = None
    for raw in rows:
        if any(cell.strip() for cell in raw):
            header = [cell.strip().lower() for cell in raw]
            break
    if header is None:
        problem(1, f"the file is empty: a header line {expected} is required")
        return [], problems
    header_line = rows.line_num
    if "code" not in header and header and _CODE.match(header[0].upper()):
        problem(header_line, f"no header line: the first line must be {expected}")
        return [], problems
    allowed = (*CSV_COLUMNS, *CSV_IGNORED_COLUMNS)
    for name in header:
        if name not in allowed:
            problem(header_line, f"unknown column '{name}'{_suggest(name, CSV_COLUMNS)}")
    for name in ("code", "non_facility"):
        if name not in header:
            problem(header_line, f"the header has no '{name}' column (expected {expected})")
    if problems:
        return [], problems

    index = {name: position for position, name in enumerate(header)}
    fees: list[FeeRate] = []
    seen: dict[tuple[str, str], int] = {}
    for raw in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) > len(header):
            problem(line, f"has {len(raw)} fields, the header has {len(header)}")
            continue

        def cell(name: str, raw: list[str] = raw) -> str:
            position = index.get(name)
            return raw[position].strip() if position is not None and position < len(raw) else ""

        before = len(problems)
        code = cell("code").upper()
        if not code:
            problem(line, "missing code")
        elif not _CODE.match(code):
            problem(line, f"code '{cell('code')}' is not 5 characters (CPT or HCPCS)")
        modifier = cell("modifier").upper()
        if modifier and not _MODIFIER.match(modifier):
            problem(line, f"modifier '{cell('modifier')}' is not 2 characters")
        non_facility = _rate(cell("non_facility"), "non_facility", line, problem, required=True)
        facility = _rate(cell("facility"), "facility", line, problem, required=False)
        if len(problems) > before or non_facility is None:
            continue
        key = (code, modifier)
        if key in seen:
            which = f"{code}-{modifier}" if modifier else f"{code} with no modifier"
            problem(line, f"duplicate row for {which} (first on line {seen[key]})")
            continue
        seen[key] = line
        fees.append(FeeRate(code, modifier, non_facility, facility))
    return fees, problems


def _rate(
    value: str, column: str, line: int, problem: Callable[[int, str], None], *, required: bool
) -> Decimal | None:
    if not value:
        if required:
            problem(line, f"missing {column} rate")
        return None
    try:
        if not _NUMBER.match(value):
            raise InvalidOperation(value)
        amount = Decimal(value)
    except InvalidOperation:
        problem(line, f"{column} rate '{value}' is not a number")
        return None
    if amount < 0:
        problem(line, f"{column} rate {value} is negative")
        return None
    if _too_long(value) or amount > MAX_MONEY:
        problem(line, f"{column} rate {value} is more than {MAX_MONEY:,}")
        return None
    if amount != amount.quantize(CENTS):
        problem(line, f"{column} rate {value} has more than two decimals")
        return None
    return amount.quantize(CENTS)


# ------------------------------------------------------------------ content hashes


def _rows_document(rows: list[FeeRate] | None) -> list[list[str | None]] | None:
    if rows is None:
        return None
    return sorted(
        [
            row.code,
            row.modifier,
            str(row.non_facility.quantize(CENTS)),
            None if row.facility is None else str(row.facility.quantize(CENTS)),
        ]
        for row in rows
    )


def content_hash(contract: Contract, fee_rows: list[FeeRate], percent: list[FeeRate] | None) -> str:
    """SHA-256 over the normalised contract and its rows: the same terms written
    differently (key order, comments, 412 vs 412.00, row order) hash the same, so
    reloading them changes nothing (contracts.md "Validation")."""
    document = {
        "contract": contract.model_dump(mode="json"),
        "fee_schedule": _rows_document(fee_rows),
        "percent_of": _rows_document(percent),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -------------------------------------------------------------------- batches


def ambiguity_problems(
    batch: list[ContractKey], stored: Iterable[ContractKey] = ()
) -> list[Problem]:
    """Two different contract ids sharing a payer id, the same practice and the same
    effective_from: which applies would be ambiguous (contracts.md "Validation").
    A stored contract whose id is in the batch is replaced by it, so not compared."""
    batch_ids = {key.contract_id for key in batch}
    others = [key for key in stored if key.contract_id not in batch_ids]
    problems: list[Problem] = []
    for position, key in enumerate(batch):
        for other in [*batch[:position], *others]:
            if other.contract_id == key.contract_id:
                continue
            if other.effective_from != key.effective_from or (
                other.practice_npi,
                other.practice_tin,
            ) != (key.practice_npi, key.practice_tin):
                continue
            shared = sorted(key.payer_ids & other.payer_ids)
            if not shared:
                continue
            where = f"in {other.file}" if other.file else "already stored"
            practice = "practice" if key.practice_npi or key.practice_tin else "no practice"
            problems.append(
                Problem(
                    key.file or "",
                    key.line,
                    f"contract '{key.contract_id}' has the same payer id {shared[0]}, "
                    f"{practice} and effective_from {key.effective_from} as "
                    f"'{other.contract_id}' ({where}): which one applies would be ambiguous",
                )
            )
    return problems


def _check_batch(result: ParseResult) -> None:
    """Problems between the files of one batch: duplicate ids, ambiguous precedence."""
    first_file: dict[str, LoadedContract] = {}
    unique: list[LoadedContract] = []
    for loaded in result.contracts:
        earlier = first_file.get(loaded.contract.id)
        if earlier is not None:
            result.problems.append(
                Problem(
                    loaded.source_path,
                    loaded.key_lines.get("id", 1),
                    f"contract id '{loaded.contract.id}' is also defined in {earlier.source_path}",
                )
            )
            continue
        first_file[loaded.contract.id] = loaded
        unique.append(loaded)
    result.problems.extend(ambiguity_problems([ContractKey.of(loaded) for loaded in unique]))


def _finish(result: ParseResult) -> ParseResult:
    _check_batch(result)
    result.problems.sort(key=lambda problem: (problem.file, problem.line))
    return result


def _disk_resolver(yaml_file: str, relative: str) -> tuple[str, bytes | None]:
    path = Path(yaml_file).parent / relative
    display = str(path)
    if not path.is_file():
        return display, None
    return display, path.read_bytes()


def _expand(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path], list[Problem]]:
    contracts: list[Path] = []
    practices: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if not child.is_file() or child.suffix.lower() not in YAML_SUFFIXES:
                    continue
                (practices if child.name == PRACTICES_FILE else contracts).append(child)
        elif path.is_file():
            if path.name == PRACTICES_FILE:
                practices.append(path)
            elif path.suffix.lower() in YAML_SUFFIXES:
                contracts.append(path)
            elif path.suffix.lower() != ".csv":  # CSVs are read through their contract
                problems.append(
                    Problem(str(path), 0, "not a contract file: expected .yaml or .yml")
                )
        else:
            problems.append(Problem(str(path), 0, "no such file or folder"))
    return contracts, practices, problems


def parse_paths(paths: Iterable[str | Path]) -> ParseResult:
    """Read and validate contract files and folders (every ``*.yaml``/``*.yml`` in a
    folder, not its subfolders; ``practices.yaml`` is read as letterheads)."""
    contract_files, practice_files, problems = _expand(paths)
    result = ParseResult(problems=problems)
    for path in contract_files:
        loaded, found = _read_contract(str(path), path.read_bytes(), _disk_resolver)
        result.problems.extend(found)
        if loaded is not None:
            result.contracts.append(loaded)
    for path in practice_files:
        letterheads, found = read_practices(str(path), path.read_bytes())
        result.problems.extend(found)
        result.practices.update(letterheads)
    return _finish(result)


def parse_documents(files: Mapping[str, bytes]) -> ParseResult:
    """Validate uploaded files by name (the API's upload): YAML files are contracts,
    the CSVs they name are looked up among the other files (relative to the YAML's
    name)."""
    names = {posixpath.normpath(name.replace("\\", "/")): data for name, data in files.items()}

    def resolve(yaml_file: str, relative: str) -> tuple[str, bytes | None]:
        display = posixpath.normpath(posixpath.join(posixpath.dirname(yaml_file), relative))
        return display, names.get(display)

    result = ParseResult()
    yamls = sorted(name for name in names if name.lower().endswith(YAML_SUFFIXES))
    if not yamls:
        result.problems.append(
            Problem("(upload)", 0, "no contract file (.yaml or .yml) among the uploaded files")
        )
    for name in yamls:
        if posixpath.basename(name) == PRACTICES_FILE:
            letterheads, found = read_practices(name, names[name])
            result.problems.extend(found)
            result.practices.update(letterheads)
            continue
        loaded, found = _read_contract(name, names[name], resolve)
        result.problems.extend(found)
        if loaded is not None:
            result.contracts.append(loaded)
    return _finish(result)


# ------------------------------------------------------------------- letterheads


def read_practices(file: str, data: bytes) -> tuple[dict[str, Letterhead], list[Problem]]:
    """Read ``practices.yaml``: per practice NPI, ``name``, ``address`` (text, one
    line per line, or a list of lines), ``phone`` and ``signer`` (``name``, ``title``)."""
    reader = _Reader(file)
    root = _compose(reader, data)
    if root is None:
        return {}, reader.problems
    if not isinstance(root, MappingNode):
        reader.problem(_line(root), "practices.yaml must map each practice NPI to its letterhead")
        return {}, reader.problems
    letterheads: dict[str, Letterhead] = {}
    seen: dict[str, int] = {}
    for key_node, value_node in root.value:
        npi = str(key_node.value).strip() if isinstance(key_node, ScalarNode) else ""
        line = _line(key_node)
        if len(npi) != 10 or not npi.isdigit():
            reader.problem(line, f"practice key '{npi}' must be an NPI of 10 digits")
            continue
        if npi in seen:
            reader.problem(line, f"duplicate key '{npi}' (first on line {seen[npi]})")
            continue
        seen[npi] = line
        before = len(reader.problems)
        entry = reader.mapping(
            value_node,
            npi,
            allowed=("name", "address", "phone", "signer"),
            required=("name", "address"),
            anchor_line=line,
            prefix=f"{npi}.",
        )
        if entry is None:
            continue
        name = reader.text(entry["name"][1], f"{npi}.name") if "name" in entry else None
        lines: tuple[str, ...] = ()
        if "address" in entry:
            lines = _address_lines(reader, entry["address"][1], f"{npi}.address")
        phone = reader.text(entry["phone"][1], f"{npi}.phone") if "phone" in entry else None
        signer_name = signer_title = None
        if "signer" in entry:
            signer_line, signer_node = entry["signer"]
            signer = reader.mapping(
                signer_node,
                f"{npi}.signer",
                allowed=("name", "title"),
                required=("name",),
                anchor_line=signer_line,
                prefix=f"{npi}.signer.",
            )
            if signer is not None:
                if "name" in signer:
                    signer_name = reader.text(signer["name"][1], f"{npi}.signer.name")
                if "title" in signer:
                    signer_title = reader.text(signer["title"][1], f"{npi}.signer.title")
        if len(reader.problems) == before and name is not None and lines:
            letterheads[npi] = Letterhead(npi, name, lines, phone, signer_name, signer_title)
    return letterheads, reader.problems


def _address_lines(reader: _Reader, node: Node, label: str) -> tuple[str, ...]:
    if isinstance(node, SequenceNode):
        items = [reader.text(item, label) for item in node.value]
        return tuple(item for item in items if item)
    value = reader.text(node, label)
    if value is None:
        return ()
    return tuple(line.strip() for line in value.splitlines() if line.strip())


def load_practices(folder: str | Path) -> dict[str, Letterhead]:
    """The letterheads of ``practices.yaml`` in ``folder`` (or that file itself), by
    practice NPI; {} when there is none. Raises ``ContractInvalid`` (file:line
    problems) when the file is invalid."""
    path = Path(folder)
    if path.is_dir():
        path = path / PRACTICES_FILE
    if not path.is_file():
        return {}
    letterheads, problems = read_practices(str(path), path.read_bytes())
    if problems:
        raise ContractInvalid(problems)
    return letterheads
