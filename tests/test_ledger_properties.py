"""Model-based test: random earns, spends, holds and clock jumps on a real database, against a naive model.

The model keeps every credit separately (no lots merged by month) and answers
what a member should have; the ledger, stored and reloaded on SQLite or
PostgreSQL, must agree after every step.
"""
import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.ops.services import Services
from domain.brand import BrandSettings
from domain.clock import ManualClock
from domain.configuration import Actor
from domain.ledger import NEVER, LedgerReason, audit_account
from tests.conftest import START

STAFF = Actor("staff", "model")
BRAND = BrandSettings()  # the default the database starts with: Asia/Shanghai, 12 months


@dataclass
class Model:
    credits: list = field(default_factory=list)  # [remaining, expires_at], in earning order
    holds: dict = field(default_factory=dict)  # index -> [amount, expires_at, active]
    expired: int = 0

    @property
    def balance(self):
        return sum(c[0] for c in self.credits)

    @property
    def held(self):
        return sum(h[0] for h in self.holds.values() if h[2])

    def tick(self, now):
        for hold in self.holds.values():
            if hold[2] and hold[1] <= now:
                hold[2] = False
        expirable = self.balance - self.held
        for credit in sorted((c for c in self.credits if c[1] <= now), key=lambda c: c[1]):
            taken = min(credit[0], expirable)
            credit[0] -= taken
            expirable -= taken
            self.expired += taken

    def consume(self, points):
        for credit in sorted(self.credits, key=lambda c: c[1]):
            taken = min(credit[0], points)
            credit[0] -= taken
            points -= taken

    def lots(self):
        grouped = defaultdict(int)
        for remaining, expires_at in self.credits:
            if remaining:
                grouped[expires_at] += remaining
        return dict(grouped)


operations = st.lists(st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 500)),
    st.tuples(st.just("spend"), st.integers(1, 700)),
    st.tuples(st.just("hold"), st.integers(1, 400), st.integers(1, 60 * 24 * 5)),
    st.tuples(st.just("settle"), st.integers(0, 9)),
    st.tuples(st.just("release"), st.integers(0, 9)),
    # Jumps that cross month ends, so credits land in different lots and lots come due.
    st.tuples(st.just("jump"), st.sampled_from([0, 1, 12, 31, 62, 95, 200, 370])),
    st.tuples(st.just("sweep"),),
), min_size=1, max_size=25)


async def run_scenario(database_url, steps):
    clock = ManualClock(START)
    services = Services.build(database_url, clock)
    try:
        member = await services.members.ensure(f"p-{uuid.uuid4().hex[:10]}")
        run = uuid.uuid4().hex[:8]
        model, hold_ids, keys = Model(), {}, (f"{run}-{i}" for i in range(1000))
        for step in steps:
            await apply(services, clock, member.id, model, hold_ids, keys, step)
            await compare(services, member.id, model)
    finally:
        await services.close()


async def apply(services, clock, member_id, model, hold_ids, keys, step):
    kind, *args = step
    now = clock.now()
    if kind == "jump":
        clock.advance(timedelta(days=args[0], hours=7))
        return
    if kind == "sweep":
        await services.expiry.run()
        model.tick(now)
        return
    if kind in ("settle", "release") and args[0] not in hold_ids:
        return
    model.tick(now)
    affordable = kind == "earn" or args[0] <= model.balance - model.held
    if kind == "earn":
        outcome = await services.points.adjust(STAFF, member_id, args[0], "earn", next(keys))
        model.credits.append([args[0], BRAND.expiry_for(now) or NEVER])
    elif kind == "spend":
        outcome = await services.points.adjust(STAFF, member_id, -args[0], "spend", next(keys))
        if affordable:
            model.consume(args[0])
    elif kind == "hold":
        outcome = await services.points.place_hold(STAFF, member_id, args[0], LedgerReason.CHECKOUT,
                                                   timedelta(minutes=args[1]), next(keys))
        if affordable:
            index = len(hold_ids)
            hold_ids[index] = outcome.hold.id
            model.holds[index] = [args[0], now + timedelta(minutes=args[1]), True]
    else:
        hold = model.holds[args[0]]
        if kind == "settle":
            outcome = await services.points.settle_hold(STAFF, member_id, hold_ids[args[0]], next(keys))
        else:
            outcome = await services.points.release_hold(STAFF, member_id, hold_ids[args[0]], next(keys))
        was_active = hold[2]
        hold[2] = False
        if was_active and kind == "settle":
            model.consume(hold[0])
        assert (outcome.error is None) == was_active, (step, outcome.error)
        return
    assert (outcome.error is None) == affordable, (step, outcome.error)


async def compare(services, member_id, model):
    async def state(uow):
        member = await uow.members.get(member_id)
        lots = await uow.ledger.open_lots(member_id)
        entries = await uow.ledger.entries_page(member_id, None, 1000, [LedgerReason.EXPIRY])
        return member.account, lots, -sum(e.delta for e in entries)

    account, lots, expired = await services.transactions.read(state)
    assert (account.balance, account.held) == (model.balance, model.held)
    assert account.available >= 0
    assert lots == model.lots()
    assert expired == model.expired
    snapshot = await services.transactions.read(lambda uow: uow.ledger.audit_snapshot(member_id))
    assert audit_account(snapshot) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_ledger_agrees_with_a_naive_model(database_url, steps):
    asyncio.run(run_scenario(database_url, steps))
