"""``era-recon serve --demo``'s loading step: it loads the samples once and prints a
fresh key with a sign-in link; the key of an earlier run stops working."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from app.access import service as access_service
from app.access.keys import key_pepper
from app.cli.demo import run_demo
from app.config import get_settings
from app.db.models import ClaimPayment

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"er_[0-9a-f]{12}_[A-Za-z0-9_-]{43,}")


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, connection: Connection) -> Iterator[None]:
    monkeypatch.setenv("ERA_RECON_CONTRACTS", str(ROOT / "contracts"))
    monkeypatch.setenv("ERA_RECON_SECRET_KEY", "demo-cli-test")
    monkeypatch.setenv("ERA_RECON_VALIDATE_INLINE_LINES", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_run_demo_twice(
    demo_env: None, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_demo(host="127.0.0.1", port=8123)
    out = capsys.readouterr().out
    assert "summit-mutual-835-a.835: processed (9 claims, $512.76 underpaid)" in out
    assert "contracts loaded: big-sky-hmo, plains-tpa, summit-ppo" in out
    assert f"http://127.0.0.1:8123/signin#key={first}" in out
    claims = session.scalar(select(func.count()).select_from(ClaimPayment))

    second = run_demo(host="0.0.0.0", port=9000)
    out = capsys.readouterr().out
    assert "summit-mutual-835-a.835: duplicate" in out
    assert "contracts already loaded" in out
    assert f"http://127.0.0.1:9000/signin#key={second}" in out
    assert KEY.findall(out) == [second, second]
    assert session.scalar(select(func.count()).select_from(ClaimPayment)) == claims

    pepper = key_pepper("demo-cli-test")
    assert access_service.authenticate(session, secret=first, pepper=pepper) is None
    assert access_service.authenticate(session, secret=second, pepper=pepper) is not None
