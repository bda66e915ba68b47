"""Idle points turned into a better benefit (积分增值): points a member has left untouched, or that are
about to expire, offered as something worth more than what they would take off a bill.

Rules, decided here:
- The brand's ``ConversionRule`` names the offer: ``points`` for a benefit, either a mall item (a
  coupon lands in the wallet; goods go through the mall's fulfilment; stock is not taken, as for
  every benefit the brand gives) or ``tier_days`` more before upkeep judges the member's tier. Its
  ``worth_fen`` must be above the points' deduction value (otherwise it is no better than
  spending them on an order), and pages show both.
- A member is offered it when they hold ``points`` available and either did nothing themselves
  (earn or spend) for ``idle_months``, or at least ``points`` expire within ``expiring_days``:
  reason ``IDLE`` or ``EXPIRING``. A tier-day benefit needs a tier that upkeep judges.
- One conversion per member a brand month, kept by a unique row: accepting twice, or the sweep and
  the member at once, converts once. The points leave as a ``CONVERSION`` entry, first-expiring
  lots first; analytics count them as burned and as ``converted``.
- Once a brand day the sweep (scheduler or `jifen expire`) notifies the members offered it
  (once a month each), or converts for them when the brand chose ``auto_convert``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain import configuration
from domain.brand import brand_settings, first_run_today
from domain.configuration import SYSTEM, Actor
from domain.coupons import CouponSource
from domain.deductions import deduction_rule
from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.ledger import LedgerReason
from domain.mall import Redemption, record_redemption
from domain.notifications import NotificationDraft, notify
from domain.perks import month_of
from domain.progress import Progress, unreported
from domain.text import checked_text
from domain.tiers import months_after

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.members import Member
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

CONVERSIONS_KEY = "conversions"
LAST_SWEEP_KEY = "conversions:last-sweep"
CONVERSION_OFFERED = "CONVERSION_OFFERED"
SWEEP_BATCH = 500


class ConversionReason(str, Enum):
    IDLE = "IDLE"  # nothing earned or spent for idle_months
    EXPIRING = "EXPIRING"  # at least `points` expire within expiring_days


@dataclass(frozen=True)
class ConversionRule:
    enabled: bool = False
    name: str = "积分升值礼"
    points: int = 500
    worth_fen: int = 1000  # what the benefit is worth; above the points' deduction value
    item_id: int | None = None  # the benefit: a mall item ...
    tier_days: int = 0  # ... or days more before upkeep judges the tier
    idle_months: int = 6  # 0: idleness makes no offer
    expiring_days: int = 30  # 0: expiring points make no offer
    auto_convert: bool = False

    def __post_init__(self) -> None:
        checked_text(self.name, "name", max_length=40)
        if not 1 <= self.points <= 10_000_000:
            raise InvalidInput("points must be 1-10000000", ("points",))
        if (self.item_id is not None and self.tier_days) or (self.enabled and self.item_id is None
                                                               and not self.tier_days):
            raise InvalidInput("the benefit is an item or tier days, one of them", ("itemId",))
        if not 0 <= self.tier_days <= 366:
            raise InvalidInput("tierDays must be 0-366", ("tierDays",))
        if not 0 <= self.idle_months <= 60 or not 0 <= self.expiring_days <= 365:
            raise InvalidInput("idleMonths is 0-60 and expiringDays 0-365", ("idleMonths",))
        if self.enabled and not (self.idle_months or self.expiring_days):
            raise InvalidInput("an enabled rule offers on idleness, expiring points or both", ("idleMonths",))
        if not 1 <= self.worth_fen <= 100_000_000:
            raise InvalidInput("worthFen must be 1-100000000", ("worthFen",))

    def reason_for(self, member: "Member", now: datetime) -> ConversionReason | None:
        """Why the member is offered the conversion now, or None."""
        account = member.account
        if not self.enabled or account.available < self.points:
            return None
        if self.tier_days and member.keep_until is None:
            return None
        if self.idle_months and (account.last_active_at is None or
                                 months_after(account.last_active_at, self.idle_months) <= now):
            return ConversionReason.IDLE
        if self.expiring_days and account.expiring_between(now, now + timedelta(days=self.expiring_days)) \
                >= self.points:
            return ConversionReason.EXPIRING
        return None

    def to_record(self) -> dict:
        return configuration.record_of(self)

    @classmethod
    def from_record(cls, record: dict) -> "ConversionRule":
        return cls(**configuration.fields_in(cls, record))


async def conversion_rule(uow: "UnitOfWork") -> ConversionRule:
    return await configuration.load(uow, CONVERSIONS_KEY, ConversionRule.from_record, ConversionRule())


@dataclass(frozen=True)
class ConversionOffer:
    rule: ConversionRule
    reason: ConversionReason
    deduction_value_fen: int  # what the points would take off an order


@dataclass
class Conversion:
    member_id: int
    period: str
    reason: ConversionReason
    points: int
    created_at: datetime
    automatic: bool
    item_id: int | None = None
    tier_days: int = 0
    redemption_id: int | None = None
    id: int | None = None


async def check_rule(uow: "UnitOfWork", rule: ConversionRule) -> None:
    """The benefit is worth more than the points would take off a bill, and its item exists."""
    deductions = await deduction_rule(uow)
    if rule.worth_fen <= deductions.fen_for(rule.points):
        raise InvalidInput(f"{rule.points} points already take {deductions.fen_for(rule.points)} fen off an order: "
                           "the benefit must be worth more", ("worthFen",))
    if rule.item_id is not None and await uow.mall.get(rule.item_id) is None:
        raise InvalidInput("no such item", ("itemId",))


async def member_with_lots(uow: "UnitOfWork", member_id: int) -> "Member":
    """The member as a read sees them, with the lots a plain read leaves out (the offer looks at expiry)."""
    member = await uow.members.get(member_id)
    member.account.lots = await uow.ledger.open_lots(member_id)
    return member


def offered_notice(member_id: int, rule: ConversionRule, period: str) -> NotificationDraft:
    return NotificationDraft(member_id, CONVERSION_OFFERED, "积分升值提醒",
                             f"{rule.points} 积分可兑换「{rule.name}」，价值 {rule.worth_fen / 100:.2f} 元",
                             f"conversion:{period}")


class ConversionService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def offers(self, member_id: int) -> list[ConversionOffer]:
        """What the member is offered now: the rule's conversion, unless taken this brand month."""
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> list[ConversionOffer]:
            rule, member = await conversion_rule(uow), await member_with_lots(uow, member_id)
            reason = rule.reason_for(member, now)
            if reason is None:
                return []
            period = month_of((await brand_settings(uow)).local_date(now))
            if await uow.conversions.taken(member_id, period):
                return []
            return [ConversionOffer(rule, reason, (await deduction_rule(uow)).fen_for(rule.points))]

        return await self.transactions.read(work)

    async def accept(self, actor: Actor, member_id: int, key: str, automatic: bool = False) -> "PointsOutcome":
        async def rule(ctx: "OperationContext") -> Conversion:
            return await self._convert(ctx, actor, automatic)

        return await self.operations.run(actor=actor, key=key, operation="acceptConversion", member_id=member_id,
                                         payload={"automatic": automatic}, rule=rule)

    @staticmethod
    async def _convert(ctx: "OperationContext", actor: Actor, automatic: bool) -> Conversion:
        uow, member, now = ctx.uow, ctx.member, ctx.now
        rule = await conversion_rule(uow)
        reason = rule.reason_for(member, now)
        if reason is None:
            raise Refusal(ErrorCode.NO_OFFER, "no conversion is offered to you now", ())
        period = month_of(ctx.brand.local_date(now))
        if await uow.conversions.taken(member.id, period):
            raise Refusal(ErrorCode.ALREADY_CLAIMED, "you converted points this month already", ())
        member.account.debit(rule.points, LedgerReason.CONVERSION, now, actor.label, f"积分升值 {rule.name}",
                             f"conversion:{period}")
        conversion = Conversion(member.id, period, reason, rule.points, now, automatic, rule.item_id, rule.tier_days)
        if rule.item_id is not None:
            item = await uow.mall.get(rule.item_id)
            redemption = Redemption(member.id, item.id, item.name, 1, 0, now, note=f"积分升值 {rule.name}")
            await record_redemption(uow, redemption, item, now, CouponSource.CONVERSION)
            conversion.redemption_id = redemption.id
        else:
            member.keep_until = member.keep_until + timedelta(days=rule.tier_days)
        await uow.conversions.add(conversion)
        return conversion

    async def get(self, conversion_id: int) -> Conversion | None:
        return await self.transactions.read(lambda uow: uow.conversions.get(conversion_id))

    async def rule(self) -> ConversionRule:
        return await self.transactions.read(conversion_rule)

    async def update_rule(self, staff: Actor, rule: ConversionRule) -> ConversionRule:
        async def work(uow: "UnitOfWork") -> ConversionRule:
            await check_rule(uow, rule)
            await configuration.store(uow, CONVERSIONS_KEY, rule.to_record(), staff, self.clock.now())
            return rule

        return await self.transactions.write(work)

    # --- the daily sweep ------------------------------------------------------------------------

    async def sweep_if_due(self, progress: Progress = unreported) -> int:
        """Once a brand day: notify (or convert for) the members offered the conversion; how many."""
        now = self.clock.now()

        async def claim(uow: "UnitOfWork") -> str | None:
            if not (await conversion_rule(uow)).enabled:
                return None
            today = await first_run_today(uow, LAST_SWEEP_KEY, now)
            return month_of(today) if today else None

        period = await self.transactions.write(claim)
        return 0 if period is None else await self._sweep(period, now, progress)

    async def _sweep(self, period: str, now: datetime, progress: Progress) -> int:
        rule = await self.transactions.read(conversion_rule)
        done, after = 0, 0
        while True:
            async def candidates(uow: "UnitOfWork") -> list["Member"]:
                # A superset, by a few days, of whom the rule offers it: reason_for decides.
                idle_before = months_after(now, -rule.idle_months) + timedelta(days=3) if rule.idle_months else None
                expiring_until = now + timedelta(days=rule.expiring_days) if rule.expiring_days else None
                ids = await uow.conversions.candidates(rule.points, idle_before, expiring_until, now, period, after,
                                                       SWEEP_BATCH)
                return [await member_with_lots(uow, i) for i in ids]

            found = await self.transactions.read(candidates)
            if not found:
                return done
            after = found[-1].id
            offered = [m.id for m in found if rule.reason_for(m, now) is not None]
            if rule.auto_convert:
                for member_id in offered:
                    outcome = await self.accept(SYSTEM, member_id, f"conversion:{member_id}:{period}", automatic=True)
                    done += int(outcome.error is None and not outcome.replayed)
            else:
                done += await self.transactions.write(lambda uow: notify(
                    uow, [offered_notice(m, rule, period) for m in offered], now))
            progress(done, None)
