"""The values the bulk writer hands the driver: JSON texts of short code lists come
from a per-process cache and must read exactly as ``json.dumps`` writes them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.reconciliation import repository

SCALARS = st.one_of(
    st.text(max_size=6), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False)
)


@pytest.mark.parametrize(
    "value",
    [
        [],
        ["25"],
        ["25", "59"],
        [1],
        [True],
        [1.0],
        ["1"],
        [{"a": 1}],
        {"x": []},
        None,
        ["é"],
        ['a"b\\'],
        [str(n) for n in range(12)],
    ],
)
def test_json_text_is_json_dumps(value: Any) -> None:
    assert repository._dump_json(value) == json.dumps(value)
    assert repository._dump_json(value) == json.dumps(value)  # from the cache


@given(st.lists(st.lists(SCALARS, max_size=9), max_size=20))
def test_json_text_is_json_dumps_whatever_came_before(values: list[list[Any]]) -> None:
    for value in values:
        assert repository._dump_json(value) == json.dumps(value)
