"""``serve`` loads the contracts folder at every start: new contracts are stored,
unchanged ones stay, and a folder with problems stores nothing and says where."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from app.cli.server import load_contracts_folder
from app.config import get_settings
from app.db.models import ContractVersion

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def contracts_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connection: Connection
) -> Iterator[Path]:
    folder = tmp_path / "contracts"
    shutil.copytree(ROOT / "contracts", folder)
    monkeypatch.setenv("ERA_RECON_CONTRACTS", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def _versions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ContractVersion)) or 0


def test_start_loads_the_folder_once(
    contracts_dir: Path, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    load_contracts_folder()
    assert "contracts loaded from" in capsys.readouterr().out
    stored = _versions(session)
    assert stored == len(list(contracts_dir.glob("*.yaml"))) - 1  # practices.yaml is not one

    load_contracts_folder()  # the next start: identical content changes nothing
    assert "contracts loaded from" not in capsys.readouterr().out
    assert _versions(session) == stored


def test_start_with_a_broken_contract_stores_nothing(
    contracts_dir: Path, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = contracts_dir / "summit-ppo.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "surprise_key: 1\n", encoding="utf-8")
    load_contracts_folder()
    err = capsys.readouterr().err
    assert "not loaded" in err
    assert "summit-ppo.yaml:" in err
    assert "surprise_key" in err
    assert _versions(session) == 0


def test_start_without_the_folder_says_so(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    session: Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ERA_RECON_CONTRACTS", str(tmp_path / "absent"))
    get_settings.cache_clear()
    try:
        load_contracts_folder()
    finally:
        get_settings.cache_clear()
    assert "not found" in capsys.readouterr().err
    assert _versions(session) == 0
