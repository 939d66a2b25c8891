"""The worked example end to end (spec/examples): its contract loaded, both ERA files
ingested (in either order), the packets and expired lines as of 2026-11-27 as
``expected.json`` gives them; then the packet filed and its letter cites the
contract's clauses and every claim."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR
from app.contracts import service as contracts
from app.disputes import service
from app.reconciliation.service import ingest_file
from tests.disputes.builders import FINANCE
from tests.support import shared_path

FILES = ("prairie-2026-06-15.835", "prairie-2026-07-20-reversal.835")


@pytest.fixture
def example(session: Session) -> dict[str, object]:
    folder = shared_path("spec", "examples")
    contracts.load_paths(session, paths=[folder / "prairie-ppo-2026.yaml"], actor=CLI_ACTOR)
    return json.loads((folder / "expected.json").read_text())


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["in-order", "reversal-first"])
def test_packets_as_of_the_example_date(
    session: Session, example: dict[str, object], order: tuple[int, int]
) -> None:
    folder: Path = shared_path("spec", "examples")
    for index in order:
        ingest_file(
            session,
            data=(folder / FILES[index]).read_bytes(),
            filename=FILES[index],
            actor=CLI_ACTOR,
        )
    as_of = date.fromisoformat(str(example["as_of"]))
    listed = service.list_packets(session, actor=FINANCE, as_of=as_of)
    fields = ("payer_id", "practice_npi", "lines", "total", "earliest_deadline", "urgent")
    got = [
        {k: v for k, v in p.model_dump(mode="json").items() if k in fields} for p in listed.packets
    ]
    assert got == example["packets"]
    expired = service.list_expired(session, actor=FINANCE, as_of=as_of)
    assert [i.model_dump(mode="json") for i in expired.items] == example["expired"]

    packet = listed.packets[0]
    detail = service.get_packet(session, packet_id=packet.id, actor=FINANCE, as_of=as_of)
    assert detail.items is not None
    deadlines = [i.dispute_deadline for i in detail.items]
    assert deadlines == sorted(deadlines)  # type: ignore[type-var]

    filed = service.file_packet(session, packet_id=packet.id, actor=FINANCE, as_of=as_of)
    pdf = service.export_packet(
        session, packet_id=filed.id, actor=FINANCE, as_of=as_of, format="pdf"
    ).content
    text = re.sub(
        r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    )
    assert "Prairie Health Plan PPO agreement (example)" in text
    assert "prairie-ppo-2026" in text
    assert "Section 11" in text
    for item in detail.items:
        assert item.claim_id in text
        if item.payer_claim_number:
            assert item.payer_claim_number in text
    assert f"${packet.total}" in text
