"""The README stays true: every setting is in its configuration table."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field: str) -> None:
    alias = Settings.model_fields[field].alias
    assert alias, f"setting {field} has no environment variable name"
    assert f"`{alias}`" in README, f"{alias} is missing from the README's configuration table"
