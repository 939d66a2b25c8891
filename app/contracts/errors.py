"""Errors of the contracts domain (spec/contracts.md "Validation").

``ContractInvalid`` carries every problem found in a batch of contract files, each
located by file and line; ``details`` is the same list as ``{"file", "line",
"message"}`` for the API's error answer. Nothing of an invalid batch is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.contracts.schemas import Problem
from app.errors import ReconError


class ContractInvalid(ReconError):
    code = "contract_invalid"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        first = f": {self.problems[0]}" if self.problems else ""
        super().__init__(
            f"contract files not loaded, {count} {noun}{first}",
            details=[problem.as_dict() for problem in self.problems],
        )
