"""``dispute_totals`` (kept by triggers on ``pricing_results``) equals the live
aggregate after every change of a result: ingest, re-pricing, reversals and
re-payments, filing, line and packet outcomes, deleting a file, and any other UPDATE
of the counted columns; and the dashboard's summary built on it equals the one summed
from the results themselves.

Each seed plays a different random sequence of those steps; after every step the
stored totals are compared, key by key, with the results read back and summed in
Python (the oracle), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from app.access.schemas import CLI_ACTOR, Actor, Role
from app.contracts.service import load_paths
from app.db.models import DisputeTotals, EraFile, PricingResult
from app.disputes import repository as repo
from app.disputes import service
from app.disputes.schemas import DISPUTABLE_CATEGORIES
from app.errors import ReconError
from app.reconciliation.service import delete_file, ingest_file, reprice
from tests.disputes.builders import FINANCE, OTHER_PRACTICE
from tests.reconciliation.builders import PRACTICE_NPI, Claim, Line, era, write_contract
from tests.support import shared_path

ADMIN = Actor(name="admin", role=Role.ADMIN)
# codes of the example fee schedule with their rate (prairie-fees.csv)
RATES = {"64483": Decimal("412.00"), "64484": Decimal("198.00"), "99214": Decimal("148.90")}
# deadlines fall on the 15th (payment on the 15th + 12 months): before any, on a
# month's first day, and mid-month (some of that month's deadlines passed, some not)
AS_OFS = (date(2026, 11, 27), date(2027, 3, 1), date(2027, 6, 20), date(2027, 8, 1))
ZERO = Decimal("0.00")


def oracle(session: Session) -> repo.Totals:
    """The disputable results read back and summed per key in Python."""
    session.flush()
    rows = session.execute(
        select(
            PricingResult.practice_key,
            PricingResult.packet_payer_id,
            PricingResult.packet_payer_name,
            PricingResult.category,
            PricingResult.payment_date,
            PricingResult.status,
            PricingResult.variance_amount,
            PricingResult.recovered_amount,
            PricingResult.disputable,
            PricingResult.dispute_deadline,
        )
    ).all()
    out: repo.Totals = {}
    for practice, payer, name, category, paid_on, status, variance, recovered, flag, due in rows:
        if not flag or category not in DISPUTABLE_CATEGORIES or practice is None or not payer:
            continue
        month = paid_on and paid_on.replace(day=1)
        due_month = due.replace(day=1) if due is not None and status == "open" else None
        key = (practice, payer, name, category, month, status, due_month)
        n, v, r = out.get(key, (0, ZERO, ZERO))
        out[key] = (n + 1, v + (variance or ZERO), r + (recovered or ZERO))
    return out


def expected_summary(
    session: Session, *, as_of: date, scope: frozenset[str] | None
) -> tuple[dict[str, tuple[int, Decimal, Decimal]], dict[str, dict[object, tuple[int, Decimal]]]]:
    """Stages and the three "underpaid by" roll-ups straight from the results."""
    rows = session.execute(
        select(PricingResult).where(
            PricingResult.disputable.is_(True),
            PricingResult.category.in_(DISPUTABLE_CATEGORIES),
            PricingResult.practice_key.is_not(None),
            PricingResult.packet_payer_id.is_not(None),
        )
    ).scalars()
    stages: dict[str, tuple[int, Decimal, Decimal]] = {}
    by: dict[str, dict[object, tuple[int, Decimal]]] = {"payer": {}, "category": {}, "month": {}}
    for r in rows:
        if scope is not None and r.practice_key not in scope:
            continue
        past = r.status == "open" and r.dispute_deadline is not None and r.dispute_deadline < as_of
        stage = "expired" if past else r.status
        variance = r.variance_amount or ZERO
        n, v, rec = stages.get(stage, (0, ZERO, ZERO))
        stages[stage] = (n + 1, v + variance, rec + (r.recovered_amount or ZERO))
        month = r.payment_date and r.payment_date.replace(day=1)
        for dimension, key in (("payer", r.packet_payer_id), ("category", r.category)):
            n2, v2 = by[dimension].get(key, (0, ZERO))
            by[dimension][key] = (n2 + 1, v2 + variance)
        n3, v3 = by["month"].get(month, (0, ZERO))
        by["month"][month] = (n3 + 1, v3 + variance)
    return stages, by


def payer_names(session: Session, scope: frozenset[str] | None) -> dict[str, str | None]:
    """The greatest payer name of each packet payer's disputable results."""
    out: dict[str, str | None] = {}
    for r in session.scalars(
        select(PricingResult).where(
            PricingResult.disputable.is_(True),
            PricingResult.category.in_(DISPUTABLE_CATEGORIES),
            PricingResult.practice_key.is_not(None),
            PricingResult.packet_payer_id.is_not(None),
        )
    ):
        if scope is not None and r.practice_key not in scope:
            continue
        payer = str(r.packet_payer_id)
        name = r.packet_payer_name
        seen = out.get(payer)
        out[payer] = name if seen is None or (name is not None and name > seen) else seen
    return out


@dataclass
class Scenario:
    session: Session
    rng: random.Random
    folder: Path
    examples: Path
    count: int = 0
    # claims stored and not reversed yet: (claim, trace)
    claims: list[Claim] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def _next(self) -> int:
        self.count += 1
        return self.count

    def _ingest(self, claims: list[Claim], *, month: int) -> None:
        n = self._next()
        answer = ingest_file(
            self.session,
            data=era(
                claims,
                trace=f"T{n:05d}",
                payment_date=f"2026{month:02d}15",
                control=f"{n:09d}",
            ),
            actor=CLI_ACTOR,
            filename=f"f{n}.835",
        )
        assert answer.status == "processed", answer

    def _line(self) -> Line:
        code = self.rng.choice(sorted(RATES))
        short = self.rng.choice((Decimal(0), Decimal("0.50"), Decimal(17), Decimal("61.37")))
        paid = RATES[code] - short if self.rng.random() < 0.8 else RATES[code] + Decimal(9)
        return Line(code, f"{paid:.2f}", lcn=f"L{self._next()}")

    def ingest(self) -> None:
        claims = [
            Claim(f"C{self._next()}", [self._line() for _ in range(self.rng.randint(1, 3))])
            for _ in range(self.rng.randint(1, 4))
        ]
        self._ingest(claims, month=self.rng.randint(1, 12))
        self.claims.extend(claims)

    def reverse(self) -> None:
        if not self.claims:
            return
        original = self.claims.pop(self.rng.randrange(len(self.claims)))
        reversal = Claim(original.claim_id, original.lines, status="22", sign=-1)
        repaid = [
            Line(ln.code, f"{Decimal(ln.paid) + Decimal(20):.2f}", lcn=f"L{self._next()}")
            for ln in original.lines
        ]
        extra = [Claim(original.claim_id, repaid, payer_claim_number="PH0002R")]
        self._ingest([reversal, *(extra if self.rng.random() < 0.5 else [])], month=12)

    def reprice(self) -> None:
        rate = self.rng.choice(("400.00", "412.00", "430.00"))
        fees = (self.examples / "prairie-fees.csv").read_text()
        path = write_contract(self.folder, self.examples)
        (self.folder / "prairie-fees.csv").write_text(
            fees.replace("64483,,412.00", f"64483,,{rate}")
        )
        load_paths(self.session, paths=[path], actor=CLI_ACTOR)
        reprice(self.session, contract_id="prairie-ppo-2026", since=None, actor=CLI_ACTOR)

    def file_packet(self) -> None:
        as_of = self.rng.choice(AS_OFS)
        packets = service.list_packets(self.session, actor=FINANCE, as_of=as_of).packets
        candidates = [p for p in packets if p.status == "open" and p.lines > 0]
        if candidates:
            packet = self.rng.choice(candidates)
            service.file_packet(self.session, packet_id=packet.id, actor=FINANCE, as_of=as_of)

    def line_outcome(self) -> None:
        rows = self.session.execute(
            select(PricingResult.id, PricingResult.status, PricingResult.variance_amount).where(
                PricingResult.disputable.is_(True),
                PricingResult.category.in_(DISPUTABLE_CATEGORIES),
                PricingResult.status.in_(("open", "disputed")),
            )
        ).all()
        if not rows:
            return
        result_id, status, variance = self.rng.choice(rows)
        outcome = "written_off"
        amount = None
        if status == "disputed":
            outcome = self.rng.choice(("recovered", "upheld", "written_off"))
            if outcome == "recovered":
                amount = max(Decimal("0.01"), (variance or ZERO) / 2).quantize(Decimal("0.01"))
        service.record_result_outcome(
            self.session, result_id=result_id, outcome=outcome, amount=amount, actor=FINANCE
        )

    def packet_outcome(self) -> None:
        packets = service.list_packets(self.session, actor=FINANCE, as_of=AS_OFS[0]).packets
        filed = [p for p in packets if p.status == "filed" and p.disputed_lines > 0]
        if filed:
            packet = self.rng.choice(filed)
            outcome = self.rng.choice(("recovered", "upheld"))
            amount = Decimal("0.03") if outcome == "recovered" else None
            service.record_packet_outcome(
                self.session, packet_id=packet.id, outcome=outcome, amount=amount, actor=FINANCE
            )

    def delete(self) -> None:
        files = self.session.scalars(select(EraFile.id).where(EraFile.status == "processed"))
        ids = list(files)
        if ids:
            # refused (Conflict) when a filed packet holds one of its results
            delete_file(self.session, file_id=self.rng.choice(ids), actor=ADMIN)

    def rewrite(self) -> None:
        """An UPDATE of the counted columns no service makes: the triggers see every
        statement, whoever writes it (names and dates missing, another practice, a
        result no longer disputable)."""
        ids = list(self.session.scalars(select(PricingResult.id)))
        if not ids:
            return
        chosen = self.rng.sample(ids, k=max(1, len(ids) // 4))
        values: dict[str, object] = self.rng.choice(
            (
                {"practice_key": OTHER_PRACTICE},
                {"packet_payer_name": None},
                {"packet_payer_name": "PRAIRIE HEALTH"},
                {"payment_date": None},
                {"payment_date": date(2025, 12, 31)},
                {"dispute_deadline": None},
                {"dispute_deadline": date(2027, 6, 2)},
                {"disputable": False},
                {"disputable": True},
                {"variance_amount": None},
                {"packet_payer_id": None},
            )
        )
        self.session.execute(
            update(PricingResult).where(PricingResult.id.in_(chosen)).values(**values)
        )

    def rename(self) -> None:
        """Every result's payer name changed and changed back: the passing name has no
        line left (on PostgreSQL its deltas net to zero) and must not be shown."""
        for name in ("ZZ PASSING NAME", "PRAIRIE HEALTH PLAN"):
            self.session.execute(update(PricingResult).values(packet_payer_name=name))

    def compact(self) -> None:
        rows_before = self.session.execute(select(func.count()).select_from(DisputeTotals))
        before = rows_before.scalar_one()
        gone = repo.compact_totals(self.session)
        after = self.session.execute(select(func.count()).select_from(DisputeTotals)).scalar_one()
        assert before - after == gone

    def run(self, name: str) -> None:
        """One step as one unit of work: a refused step (a service's ``ReconError``,
        e.g. an outcome for a line a ``rewrite`` made not disputable) rolls back."""
        savepoint = self.session.begin_nested()
        try:
            self.steps()[name][1]()
        except ReconError:
            savepoint.rollback()
            self.log.append(f"{name} refused")
        else:
            savepoint.commit()
            self.log.append(name)

    def steps(self) -> dict[str, tuple[int, Callable[[], None]]]:
        return {
            "ingest": (6, self.ingest),
            "reverse": (2, self.reverse),
            "reprice": (1, self.reprice),
            "file_packet": (2, self.file_packet),
            "line_outcome": (3, self.line_outcome),
            "packet_outcome": (1, self.packet_outcome),
            "delete": (1, self.delete),
            "rewrite": (1, self.rewrite),
            "rename": (1, self.rename),
            "compact": (1, self.compact),
        }


@pytest.fixture
def scenario_parts(session: Session, tmp_path: Path) -> tuple[Session, Path, Path]:
    examples = shared_path("spec", "examples")
    load_paths(session, paths=[examples / "prairie-ppo-2026.yaml"], actor=CLI_ACTOR)
    return session, tmp_path, examples


@pytest.mark.parametrize("seed", range(6))
def test_totals_equal_the_live_aggregate_after_every_step(
    scenario_parts: tuple[Session, Path, Path], seed: int
) -> None:
    session, folder, examples = scenario_parts
    play = Scenario(session, random.Random(seed), folder, examples)
    steps = play.steps()
    names = sorted(steps)
    weights = [steps[n][0] for n in names]
    # every kind of step at least once, in a random order, then a random tail
    sequence = ["ingest", "ingest", *play.rng.sample(names, k=len(names))]
    sequence += play.rng.choices(names, weights=weights, k=16)
    for number, name in enumerate(sequence):
        play.run(name)
        assert repo.kept_totals(session) == oracle(session), f"after step {number}: {play.log}"
    assert {key[5] for key in oracle(session)} - {"open"}, "the lifecycle ran"

    for as_of in AS_OFS:
        for scope in (None, frozenset({PRACTICE_NPI}), frozenset({OTHER_PRACTICE})):
            summary = repo.disputable_summary(session, as_of=as_of, scope=scope)
            stages, by = expected_summary(session, as_of=as_of, scope=scope)
            got = {name: (t.lines, t.variance, t.recovered) for name, t in summary.stages().items()}
            assert got == stages
            for dimension, expected in by.items():
                rolled = summary.underpaid_by(dimension if dimension != "month" else "payment_date")
                assert {key: (n, total) for key, _, n, total in rolled} == expected
            names = {key: name for key, name, _, _ in summary.underpaid_by("payer")}
            assert names == payer_names(session, scope)


def _migration() -> ModuleType:
    path = next(
        Path(__file__).parents[2].glob("migrations/versions/*_keep_dispute_totals_by_trigger.py")
    )
    spec = importlib.util.spec_from_file_location("keep_dispute_totals", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migrations_fill_of_stored_results_equals_the_live_aggregate(
    scenario_parts: tuple[Session, Path, Path],
) -> None:
    """The revision fills the totals of results stored before it, by one INSERT …
    SELECT per dialect: replayed here on results a scenario left."""
    session, folder, examples = scenario_parts
    play = Scenario(session, random.Random(99), folder, examples)
    for step in ("ingest", "ingest", "ingest", "file_packet", "line_outcome", "rewrite"):
        play.run(step)
    expected = oracle(session)
    assert expected
    session.execute(delete(DisputeTotals))
    assert repo.kept_totals(session) == {}
    migration = _migration()
    postgres = session.get_bind().dialect.name == "postgresql"
    session.execute(text(migration.PG_FILL if postgres else migration.LITE_FILL))
    assert repo.kept_totals(session) == expected
