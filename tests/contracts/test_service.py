"""Storing contracts (real database): versions, identical reloads, all-or-nothing
batches, ambiguity against stored contracts, the audit entry, the list."""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR, Actor, Role
from app.contracts import service
from app.contracts.errors import ContractInvalid
from app.contracts.index import ContractIndex
from app.contracts.schemas import Problem
from app.db.models import AuditEntry, ContractVersion, FeeScheduleRow
from tests.support import ROOT, shared_path

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
FEES = "code,modifier,non_facility,facility\n64483,,412.00,236.50\n77003,26,45.10,\n"
ADMIN = Actor(name="contract admin", role=Role.ADMIN)


def _folder(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(textwrap.dedent(text))
    return folder


def _stored(session: Session) -> list[tuple[str, int, bool, str]]:
    rows = session.execute(
        select(
            ContractVersion.contract_id,
            ContractVersion.version,
            ContractVersion.is_current,
            ContractVersion.content_hash,
        ).order_by(ContractVersion.contract_id, ContractVersion.version)
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def _row_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(FeeScheduleRow)) or 0)


def test_load_stores_the_contract_and_its_rows(session: Session, tmp_path: Path) -> None:
    folder = _folder(tmp_path, "a", {"acme.yaml": VALID, "fees.csv": FEES})
    report = service.load_paths(session, paths=[folder], actor=ADMIN)
    assert [(i.contract_id, i.version, i.status) for i in report.items] == [
        ("acme-ppo-2026", 1, "loaded")
    ]
    [row] = session.scalars(select(ContractVersion)).all()
    assert row.payer_ids == ["60054"]
    assert row.effective_from == date(2026, 1, 1)
    assert row.document["id"] == "acme-ppo-2026"
    assert row.source_path == str(folder / "acme.yaml")
    rows = session.scalars(select(FeeScheduleRow).order_by(FeeScheduleRow.code)).all()
    assert [
        (r.schedule, r.code, r.modifier, r.non_facility_amount, r.facility_amount) for r in rows
    ] == [
        ("fee_schedule", "64483", "", Decimal("412.00"), Decimal("236.50")),
        ("fee_schedule", "77003", "26", Decimal("45.10"), None),
    ]
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "contracts.load"))
    assert entry.actor_name == "contract admin"
    assert entry.object_id == "acme-ppo-2026"
    assert entry.details["stored"] == [{"contract_id": "acme-ppo-2026", "version": 1}]


def test_identical_reload_changes_nothing(session: Session, tmp_path: Path) -> None:
    folder = _folder(tmp_path, "a", {"acme.yaml": VALID, "fees.csv": FEES})
    service.load_paths(session, paths=[folder], actor=ADMIN)
    before = (_stored(session), _row_count(session))
    # the same terms, written differently (comment, 412 instead of 412.00, row order)
    again = _folder(
        tmp_path,
        "b",
        {
            "acme.yaml": "# reformatted\n" + VALID,
            "fees.csv": "code,modifier,non_facility,facility\n77003,26,45.1,\n64483,,412,236.5\n",
        },
    )
    report = service.load_paths(session, paths=[again], actor=ADMIN)
    assert [(i.contract_id, i.version, i.status) for i in report.items] == [
        ("acme-ppo-2026", 1, "unchanged")
    ]
    assert (_stored(session), _row_count(session)) == before
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_changed_content_makes_version_two_and_keeps_version_one(
    session: Session, tmp_path: Path
) -> None:
    first = _folder(tmp_path, "a", {"acme.yaml": VALID, "fees.csv": FEES})
    service.load_paths(session, paths=[first], actor=ADMIN)
    changed = _folder(tmp_path, "b", {"acme.yaml": VALID, "fees.csv": FEES.replace("412", "420")})
    report = service.load_paths(session, paths=[changed], actor=ADMIN)
    assert [(i.contract_id, i.version, i.status) for i in report.items] == [
        ("acme-ppo-2026", 2, "new_version")
    ]
    stored = _stored(session)
    assert [(cid, v, current) for cid, v, current, _ in stored] == [
        ("acme-ppo-2026", 1, False),
        ("acme-ppo-2026", 2, True),
    ]
    assert _row_count(session) == 4  # version 1's rows are kept
    [summary] = service.list_contracts(session)
    assert (summary.version, summary.versions, summary.fee_schedule_rows) == (2, 2, 2)
    terms = ContractIndex.load(session).match(
        payer_identifiers=["60054"], payee_npi=None, payee_tin=None, service_date=date(2026, 3, 1)
    )
    assert terms is not None
    assert terms.version == 2
    rate = terms.fee_schedule.rate("64483", ())
    assert rate is not None
    assert rate.non_facility == Decimal("420.00")
    # going back to the first content is a change too: version 3
    report = service.load_paths(session, paths=[first], actor=ADMIN)
    assert [(i.version, i.status) for i in report.items] == [(3, "new_version")]


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(
            {
                "b.yaml": VALID.replace("acme-ppo-2026", "beta").replace("60054", "7")
                + "bilateral_percent: 300\n"
            },
            id="one bad file in the batch",
        ),
        pytest.param(
            {
                "b.yaml": VALID.replace("acme-ppo-2026", "beta").replace("60054", "7"),
                "fees.csv": FEES + "64483,,1.00,\n",
            },
            id="bad shared CSV",
        ),
        pytest.param({"b.yaml": VALID.replace("acme-ppo-2026", "beta")}, id="ambiguous in batch"),
    ],
)
def test_a_broken_batch_never_changes_what_is_stored(
    session: Session, tmp_path: Path, broken: dict[str, str]
) -> None:
    service.load_paths(
        session,
        paths=[_folder(tmp_path, "ok", {"acme.yaml": VALID, "fees.csv": FEES})],
        actor=ADMIN,
    )
    before = (_stored(session), _row_count(session))
    files = {"acme.yaml": VALID, "fees.csv": FEES.replace("412", "999")} | broken
    folder = _folder(tmp_path, "batch", files)
    with pytest.raises(ContractInvalid) as caught:
        service.load_paths(session, paths=[folder], actor=ADMIN)
    assert caught.value.problems
    assert caught.value.code == "contract_invalid"
    assert all(set(d) == {"file", "line", "message"} for d in caught.value.details)
    assert (_stored(session), _row_count(session)) == before


def test_ambiguous_with_a_stored_contract_is_refused(session: Session, tmp_path: Path) -> None:
    service.load_paths(
        session, paths=[_folder(tmp_path, "a", {"acme.yaml": VALID, "fees.csv": FEES})], actor=ADMIN
    )
    other = VALID.replace("acme-ppo-2026", "acme-other").replace(
        '["60054"]', '["1060054000", "60054"]'
    )
    folder = _folder(tmp_path, "b", {"other.yaml": other, "fees.csv": FEES})
    expected = [
        Problem(
            str(folder / "other.yaml"),
            1,
            "contract 'acme-other' has the same payer id 60054, no practice and effective_from "
            "2026-01-01 as 'acme-ppo-2026' (already stored): which one applies would be ambiguous",
        )
    ]
    assert service.check_paths([folder], session=session) == expected
    assert service.check_paths([folder]) == []  # files alone are fine
    with pytest.raises(ContractInvalid) as caught:
        service.load_paths(session, paths=[folder], actor=ADMIN)
    assert caught.value.problems == expected
    assert [cid for cid, *_ in _stored(session)] == ["acme-ppo-2026"]
    # a new version of the stored id itself is not ambiguous with its old version
    same_id = VALID.replace("dispute_window_months: 18", "dispute_window_months: 12")
    report = service.load_paths(
        session,
        paths=[_folder(tmp_path, "c", {"acme.yaml": same_id, "fees.csv": FEES})],
        actor=ADMIN,
    )
    assert report.items[0].status == "new_version"


def test_load_documents_from_an_upload(session: Session) -> None:
    report = service.load_documents(
        session, files={"acme.yaml": VALID.encode(), "fees.csv": FEES.encode()}, actor=ADMIN
    )
    assert [(i.contract_id, i.status, i.source_path) for i in report.items] == [
        ("acme-ppo-2026", "loaded", "acme.yaml")
    ]
    with pytest.raises(ContractInvalid) as caught:
        service.load_documents(session, files={"acme.yaml": VALID.encode()}, actor=ADMIN)
    assert caught.value.details == [
        {"file": "acme.yaml", "line": 8, "message": "fee schedule file 'fees.csv' not found"}
    ]
    assert "fees.csv" in caught.value.message


def test_samples_and_spec_example_load_together(session: Session) -> None:
    example = shared_path("spec", "examples", "prairie-ppo-2026.yaml")
    report = service.load_paths(session, paths=[ROOT / "contracts", example], actor=CLI_ACTOR)
    assert sorted((i.contract_id, i.status) for i in report.items) == [
        ("big-sky-hmo", "loaded"),
        ("plains-tpa", "loaded"),
        ("prairie-ppo-2026", "loaded"),
        ("summit-ppo", "loaded"),
    ]
    assert report.practices == ["1326048597", "1487652301"]
    summaries = {s.id: s for s in service.list_contracts(session)}
    assert summaries["summit-ppo"].percent_of_rows == 52
    assert summaries["summit-ppo"].fee_schedule_rows == 0
    assert summaries["plains-tpa"].practice_npi == "1487652301"
    # serve loads the folder at every start: the second time nothing changes
    again = service.load_paths(session, paths=[ROOT / "contracts"], actor=CLI_ACTOR)
    assert {i.status for i in again.items} == {"unchanged"}


def test_list_contracts_is_empty_without_contracts(session: Session) -> None:
    assert service.list_contracts(session) == []


def _contract(contract_id: str, payer_id: str, practice: str) -> bytes:
    return (
        VALID.replace("acme-ppo-2026", contract_id).replace('"60054"', f'"{payer_id}"') + practice
    ).encode()


SCOPED = {
    "for-a.yaml": _contract("for-a", "11111", 'practice:\n  npi: "1326048597"\n'),
    "for-b.yaml": _contract("for-b", "22222", 'practice:\n  tin: "987654321"\n'),
    "for-all.yaml": _contract("for-all", "33333", ""),
    "fees.csv": FEES.encode(),
}


@pytest.mark.parametrize(
    ("practices", "expected"),
    [
        (None, ["for-a", "for-all", "for-b"]),  # the command line: no actor
        ((), ["for-a", "for-all", "for-b"]),  # a key for every practice
        (("1326048597",), ["for-a", "for-all"]),  # by the contract's NPI
        (("987654321",), ["for-all", "for-b"]),  # by the contract's TIN
        (("1326048597", "987654321"), ["for-a", "for-all", "for-b"]),
        (("1999999999",), ["for-all"]),  # another practice: only the general contract
    ],
)
def test_a_practice_scoped_actor_lists_its_contracts_and_the_general_ones(
    session: Session, practices: tuple[str, ...] | None, expected: list[str]
) -> None:
    service.load_documents(session, files=SCOPED, actor=CLI_ACTOR)
    actor = None
    if practices is not None:
        actor = Actor(name="reader", role=Role.FINANCE, practices=frozenset(practices))
    listed = service.list_contracts(session, actor=actor)
    assert [summary.id for summary in listed] == expected
    # the counts stay those of each listed contract
    assert {summary.fee_schedule_rows for summary in listed} == {2}


@pytest.mark.parametrize(
    ("npi", "tin", "practices", "visible"),
    [
        (None, None, {"1326048597"}, True),
        ("1326048597", None, {"1326048597"}, True),
        ("1326048597", "987654321", {"987654321"}, True),
        ("1326048597", None, {"1487652301"}, False),
        (None, "987654321", {"1326048597"}, False),
        ("1326048597", "987654321", set(), True),
    ],
)
def test_visible_to(npi: str | None, tin: str | None, practices: set[str], visible: bool) -> None:
    actor = Actor(name="reader", role=Role.POSTER, practices=frozenset(practices))
    assert service.visible_to(actor, npi=npi, tin=tin) is visible


def test_the_current_index_is_reused_until_a_contract_changes(
    session: Session, tmp_path: Path
) -> None:
    from app.contracts.index import current_index

    first = _folder(tmp_path, "a", {"acme.yaml": VALID, "fees.csv": FEES})
    service.load_paths(session, paths=[first], actor=ADMIN)
    index = current_index(session)
    assert current_index(session) is index  # nothing changed: the same index

    changed = _folder(tmp_path, "b", {"acme.yaml": VALID, "fees.csv": FEES.replace("412", "420")})
    service.load_paths(session, paths=[changed], actor=ADMIN)
    fresh = current_index(session)
    assert fresh is not index
    terms = fresh.match(
        payer_identifiers=["60054"], payee_npi=None, payee_tin=None, service_date=date(2026, 3, 1)
    )
    assert terms is not None
    rate = terms.fee_schedule.rate("64483", ())
    assert rate is not None
    assert rate.non_facility == Decimal("420.00")
