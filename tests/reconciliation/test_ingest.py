"""Ingest of one file: all or nothing, duplicates (repricing.md §7), practice scope,
inline or pending validation, bounded SQL, and the worked example end to end."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.access.schemas import Actor, Role
from app.db import models
from app.errors import Forbidden
from app.reconciliation import repository, service
from app.reconciliation.service import validate_pending
from app.x12.errors import X12Rejected
from benchmarks.gen835 import generate_835
from tests.reconciliation.builders import Claim, Line, e2, era
from tests.reconciliation.conftest import Ingest, money, results_by_lcn, row_counts

EXAMPLE_FILES = ("prairie-2026-06-15.835", "prairie-2026-07-20-reversal.835")


def expected_lines(examples: Path) -> dict[str, dict[str, str | None]]:
    document = json.loads((examples / "expected.json").read_text())
    return document["lines_by_line_control_number"]


# ------------------------------------------------------------------ worked example


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["in-order", "reversal-first"])
def test_worked_example_prices_every_line_as_expected_in_either_order(
    session: Session, contract: None, examples: Path, ingest: Ingest, order: tuple[int, int]
) -> None:
    answers = [ingest((examples / EXAMPLE_FILES[i]).read_bytes()) for i in order]

    assert [a.status for a in answers] == ["processed", "processed"]
    results = results_by_lcn(session)
    expected = expected_lines(examples)
    assert set(results) == set(expected)  # the reversal's own lines (R2A, R2B) are not priced
    for lcn, want in expected.items():
        got = results[lcn]
        assert (
            money(got.expected_amount),
            money(got.actual_amount),
            money(got.variance_amount),
            got.category,
        ) == (
            want["expected_allowed"],
            want["actual_allowed"],
            want["variance"],
            want["category"],
        ), lcn
    assert not results["E2B"].disputable
    reversal, original = (
        session.execute(
            select(models.ClaimPayment)
            .where(
                models.ClaimPayment.payer_claim_number == "PH0002",
            )
            .order_by(models.ClaimPayment.status_code.desc())
        )
        .scalars()
        .all()
    )
    assert reversal.status_code == "22"
    assert reversal.reverses_id == original.id
    assert original.reversed_by_id == reversal.id


def test_first_example_file_answers_its_summary(
    session: Session, contract: None, examples: Path, ingest: Ingest
) -> None:
    answer = ingest((examples / EXAMPLE_FILES[0]).read_bytes(), filename="june.835")

    assert answer.status == "processed"
    assert (answer.file, answer.claims, answer.duplicates, answer.lines) == ("june.835", 8, 0, 13)
    # 22.00 + 31.00 + 198.00 + 155.00: the disputable variances before the reversal
    assert answer.underpaid_total == "406.00"
    summary = answer.summary
    assert summary is not None
    assert summary.categories == {
        "bilateral_underpaid": "155.00",
        "exempt_reduced": "198.00",
        "fee_schedule_underpaid": "22.00",
        "mpr_overapplied": "31.00",
    }
    (remittance,) = summary.remittances
    assert remittance.payer.model_dump() == {"id": "55123", "name": "PRAIRIE HEALTH PLAN"}
    assert remittance.payee.npi == "1326048597"
    assert (remittance.payment.amount, str(remittance.payment.date), remittance.payment.trace) == (
        "3171.90",
        "2026-06-15",
        "PHP0615",
    )
    assert answer.remittance_ids == [remittance.id]
    stored = session.get(models.EraFile, uuid.UUID(summary.id))
    assert stored is not None
    assert stored.validation_status == "done"


def test_results_carry_packet_payer_deadline_and_codes(
    session: Session, contract: None, examples: Path, ingest: Ingest
) -> None:
    ingest((examples / EXAMPLE_FILES[0]).read_bytes())

    e2b = results_by_lcn(session)["E2B"]
    assert (e2b.packet_payer_id, e2b.packet_payer_name) == ("55123", "PRAIRIE HEALTH PLAN")
    assert (e2b.practice_key, str(e2b.payment_date)) == ("1326048597", "2026-06-15")
    assert str(e2b.dispute_deadline) == "2027-06-15"  # 12 months from BPR16
    assert e2b.carc == ["CO-45", "CO-59"]
    assert (e2b.status, e2b.disputable, e2b.contract_id) == ("open", True, "prairie-ppo-2026")
    assert e2b.contract_version_id is not None
    assert e2b.clause == "Section 5.1"
    assert money(e2b.payer_reduction_percent) == "60.00"


def test_no_contract_lines_are_stored_not_errors(session: Session, ingest: Ingest) -> None:
    answer = ingest(era([e2()]))

    assert answer.status == "processed"
    results = results_by_lcn(session)
    assert {r.category for r in results.values()} == {"no_contract"}
    assert results["E2B"].expected_amount is None
    assert money(results["E2B"].actual_amount) == "124.00"
    assert results["E2B"].packet_payer_id == "55123"  # the remittance's payer id
    assert results["E2B"].dispute_deadline is None


def test_claim_without_lines_is_stored_without_results(session: Session, ingest: Ingest) -> None:
    answer = ingest(era([Claim("NOLINES", [], charge="100.00", paid="40.00")]))

    assert (answer.status, answer.claims, answer.lines) == ("processed", 1, 0)
    counts = row_counts(session)
    assert (counts["claim_payments"], counts["pricing_results"]) == (1, 0)


# ------------------------------------------------------------------- all or nothing


def _corrupt_claim_amount(data: bytes, claim_number: int) -> bytes:
    """Put a non-number in CLP04 of the ``claim_number``-th claim."""
    text = data.decode()
    marker = f"CLP*PA{claim_number:06d}*" if f"CLP*PA{claim_number:06d}*" in text else None
    segments = text.split("~\n")
    seen = 0
    for index, segment in enumerate(segments):
        if segment.startswith("CLP*"):
            seen += 1
            if seen == claim_number or (marker and segment.startswith(marker)):
                elements = segment.split("*")
                elements[4] = "12X.00"
                segments[index] = "*".join(elements)
                break
    return "~\n".join(segments).encode()


@pytest.mark.parametrize(
    "breakage",
    ["bad amount after the first batch", "missing trailers"],
)
def test_a_rejected_file_stores_nothing(
    session: Session, contract: None, ingest: Ingest, breakage: str
) -> None:
    data = generate_835(service.BATCH_CLAIMS + 100, 1, trace_number="BROKEN")
    if breakage == "missing trailers":
        data = data[: data.rindex(b"SE*")]
    else:
        data = _corrupt_claim_amount(data, service.BATCH_CLAIMS + 50)
    before = row_counts(session)

    with pytest.raises(X12Rejected) as caught:
        ingest(data)

    assert caught.value.findings
    assert any(f.segment_number or f.message for f in caught.value.findings)
    assert row_counts(session) == before


@pytest.mark.parametrize("batch_claims", [500, 1], ids=["one batch", "a batch per claim"])
def test_each_stored_file_is_audited_once_with_its_counts(
    session: Session,
    contract: None,
    ingest: Ingest,
    monkeypatch: pytest.MonkeyPatch,
    batch_claims: int,
) -> None:
    # a one-batch file writes its audit entry with its rows (one round trip), a
    # larger one through the session at the end: the same entry either way
    monkeypatch.setattr(service, "BATCH_CLAIMS", batch_claims)
    actor = Actor(name="clearinghouse", role=Role.CLEARINGHOUSE, key_id=uuid.uuid4())
    data = era([e2(), e2(claim_id="E3"), e2()], trace="T-AUDIT")

    answer = ingest(data, actor=actor)

    entries = session.scalars(
        select(models.AuditEntry).where(models.AuditEntry.action == "files.ingest")
    ).all()
    assert [
        (e.actor_key_id, e.actor_name, e.object_type, e.object_id, e.details) for e in entries
    ] == [
        (
            actor.key_id,
            "clearinghouse",
            "era_file",
            answer.file_id,
            {"claims": 3, "duplicates": 1, "lines": 6, "remittances": 1},
        )
    ]
    assert entries[0].at is not None
    assert entries[0].id is not None


def test_rejection_inside_a_session_keeps_earlier_files(
    session: Session, contract: None, examples: Path, ingest: Ingest
) -> None:
    ingest((examples / EXAMPLE_FILES[0]).read_bytes())
    before = row_counts(session)

    with pytest.raises(X12Rejected):
        ingest(b"this is not an 835 file")

    assert row_counts(session) == before
    assert before["claim_payments"] == 8


# ------------------------------------------------------------------- duplicates


def test_same_bytes_twice_is_a_duplicate_with_the_original_summary(
    session: Session, contract: None, examples: Path, ingest: Ingest
) -> None:
    data = (examples / EXAMPLE_FILES[0]).read_bytes()
    first = ingest(data)
    before = row_counts(session)

    again = ingest(data)

    assert again.status == "duplicate"
    assert again.file_id == first.file_id
    assert again.summary is not None
    assert again.summary.duplicate is True
    assert again.summary.id == first.file_id
    assert again.underpaid_total == first.underpaid_total
    assert row_counts(session) == {**before, "era_files": before["era_files"]}


def test_same_claims_re_encoded_is_a_duplicate_and_stores_nothing(
    session: Session, ingest: Ingest
) -> None:
    first = ingest(generate_835(20, trace_number="REENC"))
    before = row_counts(session)

    again = ingest(
        generate_835(20, trace_number="REENC", element_separator="|", segment_terminator="~\r\n")
    )

    assert again.status == "duplicate"
    assert (again.claims, again.duplicates) == (20, 20)
    assert again.file_id == first.file_id
    assert row_counts(session) == before


def test_a_claim_repeated_inside_a_file_is_skipped_with_a_warning(
    session: Session, ingest: Ingest
) -> None:
    claim = e2()
    answer = ingest(era([claim, Claim("E9", [Line("64483", "412.00", lcn="E9A")]), claim]))

    assert answer.status == "processed"
    assert (answer.claims, answer.duplicates, answer.lines) == (3, 1, 5)
    repeated = [w for w in answer.warnings if w["code"] == "duplicate"]
    assert len(repeated) == 1
    assert repeated[0]["segment"] == "CLP"
    assert repeated[0]["segment_number"]
    counts = row_counts(session)
    assert (counts["claim_payments"], counts["service_lines"]) == (2, 3)


def test_a_file_with_some_stored_claims_stores_only_the_new_ones(
    session: Session, ingest: Ingest
) -> None:
    ingest(era([e2()]))

    answer = ingest(era([e2(), Claim("E9", [Line("64483", "412.00", lcn="E9A")])], control="7"))

    assert (answer.status, answer.claims, answer.duplicates) == ("processed", 2, 1)
    assert any("already stored" in w["message"] for w in answer.warnings)
    assert row_counts(session)["claim_payments"] == 2


def test_same_claim_paid_again_under_another_trace_is_new(session: Session, ingest: Ingest) -> None:
    ingest(era([e2()]))

    answer = ingest(era([e2()], trace="OTHERTRACE"))

    assert (answer.status, answer.duplicates) == ("processed", 0)


@pytest.mark.parametrize(
    ("trace", "status"),
    [("PLBTRACE", "duplicate"), ("NEWTRACE", "processed")],
)
def test_plb_only_file_is_a_duplicate_by_payer_and_trace(
    session: Session, ingest: Ingest, trace: str, status: str
) -> None:
    first = ingest(era([], trace="PLBTRACE", plb=[("WO", "25.00")]))
    assert (first.status, first.claims) == ("processed", 0)
    before = row_counts(session)

    # other bytes (another interchange number), same payer
    again = ingest(era([], trace=trace, plb=[("WO", "25.00")], control="000000777"))

    assert again.status == status
    if status == "duplicate":
        assert again.file_id == first.file_id
        assert row_counts(session) == before
    else:
        assert row_counts(session)["provider_adjustments"] == 2


def test_the_stored_claims_look_up(session: Session, contract: None, ingest: Ingest) -> None:
    # per identity the file that holds it; and the CLP01s with a reversal stored
    # (a CLP02 22, or a payment reversed since)
    plain = ingest(era([e2(claim_id="PLAIN")], trace="T-PLAIN"))
    ingest(era([e2(claim_id="REV")], trace="T-REV1"))
    ingest(era([e2(claim_id="REV", status="22", sign=-1)], trace="T-REV2", payment_date="20260620"))
    identities = dict(
        session.execute(
            select(models.ClaimPayment.claim_id, models.ClaimPayment.identity).where(
                models.ClaimPayment.claim_id == "PLAIN"
            )
        ).all()
    )

    found, reversed_ids = repository.stored_claims(
        session, [identities["PLAIN"], "no|such|claim"], ["PLAIN", "REV", "OTHER"]
    )

    assert {key: str(value) for key, value in found.items()} == {identities["PLAIN"]: plain.file_id}
    assert reversed_ids == {"REV"}


def test_the_stored_claims_look_up_takes_any_claim_id(
    session: Session, contract: None, ingest: Ingest
) -> None:
    # the lists reach PostgreSQL as JSON texts: quotes, backslashes, commas and braces
    # in a CLP01 come back as they were sent
    odd = 'Q"B\\C,{D} E'
    ingest(era([e2(claim_id=odd)], trace="T-ODD1"))
    ingest(era([e2(claim_id=odd, status="22", sign=-1)], trace="T-ODD2", payment_date="20260620"))
    stored = session.execute(
        select(models.ClaimPayment.claim_id, models.ClaimPayment.identity)
    ).all()
    assert {claim_id for claim_id, _ in stored} == {odd}

    found, reversed_ids = repository.stored_claims(
        session, [identity for _, identity in stored], [odd, "OTHER"]
    )

    assert set(found) == {identity for _, identity in stored}
    assert reversed_ids == {odd}


@pytest.mark.parametrize("streamed", [False, True], ids=["file row inserted", "file row COPYed"])
@pytest.mark.parametrize("same_bytes", [True, False], ids=["same bytes", "same claims"])
def test_a_lost_race_answers_duplicate(
    session: Session,
    ingest: Ingest,
    monkeypatch: pytest.MonkeyPatch,
    same_bytes: bool,
    streamed: bool,
) -> None:
    if streamed:
        # on PostgreSQL the file's row goes by COPY, as a large file's does: its
        # unique hash fails there instead of in an INSERT
        monkeypatch.setattr(repository, "STREAM_BYTES", 0)
    data = era([e2()])
    first = ingest(data)
    if not same_bytes:  # another file paying the same claim payment
        data = era([e2()], control="000000778")
    # the other upload's rows appear between our look-ups (its bytes, its claims) and
    # our insert: the insert fails on the unique hash or claim identity, and the second
    # look sees them
    real_start = repository.begin_ingest
    real = repository.file_by_hash
    real_claims = repository.stored_claims
    calls: list[str] = []

    def racing_start(session: Session, keys, content_hash: str, claims):  # type: ignore[no-untyped-def]
        calls.append(content_hash)
        start = real_start(session, keys, content_hash, claims)
        assert (start.stored is not None) == same_bytes  # stored: the race hides it
        # (on PostgreSQL with the savepoint it set, which the lost attempt rolls back
        # to, and its claims' look-up, which the race hides too: the second attempt
        # must ask again)
        hidden = None
        if start.claims is not None:
            hidden = dataclasses.replace(start.claims, found={}, reversed_ids=set())
        return repository.IngestStart(None, start.contract_versions, start.savepoint, hidden)

    def racing(session: Session, content_hash: str):  # type: ignore[no-untyped-def]
        calls.append(content_hash)
        return real(session, content_hash)

    def racing_claims(session: Session, *args):  # type: ignore[no-untyped-def]
        return ({}, set()) if len(calls) == 1 else real_claims(session, *args)

    monkeypatch.setattr(repository, "begin_ingest", racing_start)
    monkeypatch.setattr(repository, "file_by_hash", racing)
    monkeypatch.setattr(repository, "stored_claims", racing_claims)
    before = row_counts(session)

    again = ingest(data)

    assert len(calls) == 2
    assert (again.status, again.file_id) == ("duplicate", first.file_id)
    assert row_counts(session) == before
    # the lost attempt's audit entry went with its rows: undone with them
    audited = session.scalars(
        select(models.AuditEntry.action).where(models.AuditEntry.action.like("files.ingest%"))
    ).all()
    assert sorted(audited) == ["files.ingest", "files.ingest_duplicate"]


def test_a_small_files_claims_are_looked_up_with_its_first_statements(
    session: Session, ingest: Ingest, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not is_postgres:
        pytest.skip("the first statements go in one round trip on PostgreSQL only")
    claims = [e2(), e2(claim_id="E3"), e2(claim_id="R1", status="22", sign=-1)]
    first = ingest(era(claims, trace="T-FIRST"))
    asked: list[int] = []
    real = repository.stored_claims

    def counted(session: Session, *args):  # type: ignore[no-untyped-def]
        asked.append(1)
        return real(session, *args)

    monkeypatch.setattr(repository, "stored_claims", counted)
    # the same claim payments again, with one more: found stored without asking apart
    again = ingest(era([*claims, e2(claim_id="E4")], trace="T-FIRST", control="000000778"))
    assert asked == []
    assert (first.status, again.status) == ("processed", "processed")
    assert (again.claims, again.duplicates) == (4, 3)
    # a file of more than one batch asks batch by batch
    big = generate_835(service.BATCH_CLAIMS + 1, 1, trace_number="T-BIG")
    assert ingest(big).status == "processed"
    assert len(asked) == 2


# ----------------------------------------------------------------- practice scope


def test_a_practice_limited_key_uploads_only_its_practice(session: Session, ingest: Ingest) -> None:
    own = Actor(name="poster", role=Role.POSTER, practices=frozenset({"1326048597"}))
    other = Actor(name="other poster", role=Role.POSTER, practices=frozenset({"1999999999"}))
    before = row_counts(session)

    with pytest.raises(Forbidden):
        ingest(era([e2()]), actor=other)
    assert row_counts(session) == before

    assert ingest(era([e2()]), actor=own).status == "processed"
    with pytest.raises(Forbidden):  # not even the duplicate answer leaks
        ingest(era([e2()]), actor=other)


# ------------------------------------------------------------------- validation


def test_small_files_are_validated_inline_large_ones_wait(session: Session, ingest: Ingest) -> None:
    small = ingest(era([e2()]), validate_inline_lines=2)
    large = ingest(era([e2()], trace="LARGE"), validate_inline_lines=1)
    session.expire_all()

    files = {f.id: f for f in session.scalars(select(models.EraFile))}
    assert small.summary
    assert large.summary
    small_file = files[uuid.UUID(small.summary.id)]
    large_file = files[uuid.UUID(large.summary.id)]
    assert small_file.validation_status == "done"
    assert small_file.validated_at is not None
    assert large_file.validation_status == "pending"
    assert large_file.validated_at is None

    assert validate_pending(session, limit=10) == 1
    session.expire_all()
    assert large_file.validation_status == "done"
    assert validate_pending(session, limit=10) == 0


def test_pyx12_findings_are_stored_as_warnings(session: Session, ingest: Ingest) -> None:
    data = era([e2()]).replace(b"SE*", b"SE*9")  # a wrong SE count: warned, not rejected

    answer = ingest(data)

    assert answer.status == "processed"
    assert any(w["segment"] == "SE" for w in answer.warnings)
    session.expire_all()
    stored = session.scalars(select(models.EraFile)).one()
    assert any(f["segment"] == "SE" for f in stored.validation_findings)


# --------------------------------------------------------------------- bulk SQL


def test_a_2000_claim_file_takes_a_bounded_number_of_statements(
    session: Session, contract: None, ingest: Ingest
) -> None:
    data = generate_835(2000, 3, trace_number="BULK")
    statements: list[str] = []
    connection = session.connection()

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        answer = ingest(data)
    finally:
        event.remove(connection, "before_cursor_execute", count)

    assert (answer.status, answer.claims, answer.lines) == ("processed", 2000, 6000)
    assert len(statements) < 120, len(statements)
    counts = row_counts(session)
    assert (counts["claim_payments"], counts["pricing_results"]) == (2000, 6000)


# ---------------------------------------------------------------------- logging


def test_no_patient_name_or_member_id_in_logs(
    session: Session,
    contract: None,
    examples: Path,
    ingest: Ingest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in EXAMPLE_FILES:
        ingest((examples / name).read_bytes())
    ingest(era([e2(patient=("ZZTOPSECRET", "QQHIDDEN"), member_id="MBR777XY")], trace="PHI"))

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records  # ingest does log
    for secret in ("ZZTOPSECRET", "QQHIDDEN", "MBR777XY", "DOE, JANE", "ME1", "ME2"):
        assert secret not in text
