"""Use cases that move points: the idempotent operation runner, staff adjustments and holds.

Every operation follows one order inside one write transaction:
lock the member, look up the idempotency key, expire due lots, apply the
rule, refresh the tier, save, remember the result under the key.
Locking the member before reading the key is what makes a key sent 100
times at once produce one effect: the losers wait for the lock, then find
the winner's result.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.brand import BrandSettings, brand_settings
from domain.clock import Clock
from domain.configuration import Actor
from domain.errors import DomainError, InvalidInput, NotFound, Refusal
from domain.idempotency import IdempotencyRecord, check_replay, fingerprint, validate_key
from domain.leaderboards import record_scores
from domain.ledger import Hold, LedgerEntry, LedgerReason, require_positive_points
from domain.members import Member
from domain.notifications import on_tier_refreshed
from domain.expiry import settle_due
from domain.ports import Transactions, UnitOfWork
from domain.text import checked_text
from domain.tiers import tier_table

MAX_MEMO = 500
MAX_ADJUSTMENT = 10_000_000
MAX_HOLD_DURATION = timedelta(days=7)


@dataclass
class PointsOutcome:
    """What a points mutation returns, first time or on replay."""

    member_id: int
    entries: list[LedgerEntry] = field(default_factory=list)
    hold: Hold | None = None
    error: DomainError | None = None
    replayed: bool = False
    subject_id: int | None = None  # what the rule made (a redemption, an order ...), found again on replay
    unwritten: bool = False  # refused before any write: the member is as the request found them

    @property
    def entry(self) -> LedgerEntry | None:
        return self.entries[0] if self.entries else None


@dataclass(frozen=True)
class OperationContext:
    """What a rule sees while it runs: the locked member(s), the time, the brand and the unit of work."""

    uow: UnitOfWork
    member: Member
    now: datetime
    brand: BrandSettings
    others: dict[int, Member] = field(default_factory=dict)  # further members locked for this operation


# A rule may return what it made (a hold, a redemption): its id is kept with the idempotency result.
Rule = Callable[[OperationContext], Awaitable[object | None]]


def validate_memo(memo: str | None, *, required: bool) -> str | None:
    return checked_text(memo, "memo", max_length=MAX_MEMO, required=required, multiline=True) or None


class PointsOperations:
    """Runs a rule that changes one member's points, exactly once per (caller, key)."""

    def __init__(self, transactions: Transactions, clock: Clock) -> None:
        self.transactions = transactions
        self.clock = clock

    async def run(self, *, actor: Actor, key: str, operation: str, payload: dict,
                  member_id: int, rule: Rule, also_lock: tuple[int, ...] = ()) -> PointsOutcome:
        """Run ``rule`` for ``member_id``; ``also_lock`` names further members whose points it moves."""
        validate_key(key)
        expected = fingerprint(operation, {**payload, "member": member_id})

        async def work(uow: UnitOfWork) -> PointsOutcome:
            locked = await self._lock(uow, {member_id, *also_lock})
            record = await uow.idempotency.get(actor.label, key)
            if record is not None:
                return await self._replay(uow, member_id, record, expected)
            member = locked.pop(member_id)
            return await self._apply(uow, member, locked, actor, key, expected, rule)

        return await self.transactions.write(work)

    async def refused_without_a_write(self, actor: Actor, member_id: int, key: str,
                                      refusal: Refusal) -> PointsOutcome | None:
        """The refusal as the answer, if the key was never used (it keeps nothing, so the key may be sent
        again); None for a used key, whose first answer only `run` gives back."""
        if await self.transactions.read(lambda uow: uow.idempotency.used(actor.label, key)):
            return None
        return PointsOutcome(member_id, error=refusal, unwritten=True)

    @staticmethod
    async def _lock(uow: UnitOfWork, member_ids: set[int]) -> dict[int, Member]:
        """Lock in ascending id order, so two operations over the same members never deadlock."""
        locked = {}
        for member_id in sorted(member_ids):
            member = await uow.members.lock(member_id)
            if member is None:
                raise NotFound("no such member", ("memberId",))
            locked[member_id] = member
        return locked

    async def _apply(self, uow: UnitOfWork, member: Member, others: dict[int, Member], actor: Actor, key: str,
                     expected: str, rule: Rule) -> PointsOutcome:
        now = self.clock.now()
        brand = await brand_settings(uow)
        everyone = [member, *others.values()]
        for each in everyone:
            await settle_due(uow, each, now, brand)
        first_new = len(member.account.new_entries)
        checkpoints = [each.account.checkpoint() for each in everyone]
        activity_mark, badges_mark = len(uow.activity), len(uow.badge_awards)
        made, error = None, None
        try:
            made = await rule(OperationContext(uow, member, now, brand, others))
        except Refusal as refusal:
            # Kept without its traceback: the traceback holds this frame, which holds the refusal, a
            # cycle that only the cyclic collector would free (the answer needs the code, not where).
            error = refusal.with_traceback(None)
            for each, checkpoint in zip(everyone, checkpoints):
                each.account.restore(checkpoint)
            del uow.activity[activity_mark:]
            del uow.badge_awards[badges_mark:]
        tiers = await tier_table(uow)
        for each in everyone:
            each.refresh_tier(tiers, now)
            await on_tier_refreshed(uow, each, now)
            await record_scores(uow, each, brand)
        saved = (await uow.members.save(member))[first_new:]
        for other in others.values():
            await uow.members.save(other)
        hold = made if isinstance(made, Hold) else None
        subject_id = getattr(made, "id", None)
        result = {"entryIds": [e.id for e in saved], "holdId": hold.id if hold else None, "subjectId": subject_id,
                  "error": error.as_record() if error else None}
        await uow.idempotency.add(IdempotencyRecord(actor.label, key, expected, result, now))
        return PointsOutcome(member.id, saved, hold, error, subject_id=subject_id)

    async def _replay(self, uow: UnitOfWork, member_id: int, record: IdempotencyRecord,
                      expected: str) -> PointsOutcome:
        try:
            result = check_replay(record, expected)
        except Refusal as refusal:
            return PointsOutcome(member_id, error=refusal)
        entries = await uow.ledger.entries_by_id(result["entryIds"])
        hold = await uow.ledger.hold(result["holdId"]) if result.get("holdId") else None
        error = DomainError.from_record(result["error"]) if result.get("error") else None
        return PointsOutcome(member_id, entries, hold, error, replayed=True, subject_id=result.get("subjectId"))


class PointsService:
    """Staff adjustments and two-phase holds (reserve, then settle or release)."""

    def __init__(self, operations: PointsOperations) -> None:
        self.operations = operations

    async def adjust(self, staff: Actor, member_id: int, delta: int, memo: str | None,
                     key: str) -> PointsOutcome:
        if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
            raise InvalidInput(f"delta must be non-zero and at most {MAX_ADJUSTMENT} either way", ("delta",))
        memo = validate_memo(memo, required=True)

        async def rule(ctx: OperationContext) -> None:
            account = ctx.member.account
            if delta > 0:
                account.credit(delta, LedgerReason.ADJUSTMENT, ctx.now, ctx.brand.expiry_for(ctx.now),
                               staff.label, memo)
            else:
                try:
                    account.debit(-delta, LedgerReason.ADJUSTMENT, ctx.now, staff.label, memo)
                except Refusal as refusal:
                    raise Refusal(refusal.code, refusal.message, ("delta",)) from None
            await ctx.uow.audit.record(staff.label, "points.adjust", ctx.member.external_id,
                                       {"delta": delta, "memo": memo}, ctx.now)

        return await self.operations.run(actor=staff, key=key, operation="adjustPoints",
                                         payload={"delta": delta, "memo": memo}, member_id=member_id, rule=rule)

    async def place_hold(self, actor: Actor, member_id: int, points: int, reason: LedgerReason,
                         duration: timedelta, key: str, ref: str | None = None) -> PointsOutcome:
        require_positive_points(points, ("points",))
        if not timedelta(0) < duration <= MAX_HOLD_DURATION:
            raise InvalidInput("a hold lasts between a second and 7 days", ("duration",))

        async def rule(ctx: OperationContext) -> Hold:
            return ctx.member.account.place_hold(points, reason, ctx.now, ctx.now + duration, ref)

        return await self.operations.run(
            actor=actor, key=key, operation="placeHold", member_id=member_id, rule=rule,
            payload={"points": points, "reason": reason.value, "seconds": duration.total_seconds(), "ref": ref})

    async def settle_hold(self, actor: Actor, member_id: int, hold_id: int, key: str,
                          memo: str | None = None) -> PointsOutcome:
        async def rule(ctx: OperationContext) -> Hold:
            hold = await self._hold_of(ctx, hold_id)
            ctx.member.account.settle_hold(hold, ctx.now, actor.label, memo)
            return hold

        return await self.operations.run(actor=actor, key=key, operation="settleHold", member_id=member_id,
                                         payload={"hold": hold_id, "memo": memo}, rule=rule)

    async def release_hold(self, actor: Actor, member_id: int, hold_id: int, key: str) -> PointsOutcome:
        async def rule(ctx: OperationContext) -> Hold:
            hold = await self._hold_of(ctx, hold_id)
            ctx.member.account.release_hold(hold, ctx.now)
            return hold

        return await self.operations.run(actor=actor, key=key, operation="releaseHold", member_id=member_id,
                                         payload={"hold": hold_id}, rule=rule)

    @staticmethod
    async def _hold_of(ctx: OperationContext, hold_id: int) -> Hold:
        """The hold as this transaction sees it: one that just timed out is already resolved."""
        for touched in ctx.member.account.changed_holds:
            if touched.id == hold_id:
                return touched
        hold = await ctx.uow.ledger.hold(hold_id)
        if hold is None or hold.member_id != ctx.member.id:
            raise NotFound("no such hold", ("holdId",))
        return hold
