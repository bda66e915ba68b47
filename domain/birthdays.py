"""Birthday gift (生日礼): a member claims a bonus once a year, in the days from their birthday on.

Rules, decided here:
- A member sets their birthday once (``setBirthday``); changing it later is refused, so nobody
  moves a birthday around to claim twice.
- The gift is claimable from the birthday (local calendar, brand time zone) for ``window_days``
  days; a 29 February birthday counts as 28 February in other years.
- Once per calendar year of the birthday, a ``CAMPAIGN_BONUS`` entry of ``points`` x the tier
  multiplier (so higher tiers get a bigger gift).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from domain import configuration
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.ledger import LedgerReason
from domain.tiers import tier_table

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

BIRTHDAY_KEY = "birthday"


@dataclass(frozen=True)
class BirthdayRule:
    points: int = 100
    window_days: int = 7

    def __post_init__(self) -> None:
        if not 1 <= self.points <= 100_000:
            raise InvalidInput("points must be 1-100000", ("points",))
        if not 1 <= self.window_days <= 31:
            raise InvalidInput("the claim window is 1-31 days", ("windowDays",))


async def birthday_rule(uow: "UnitOfWork") -> BirthdayRule:
    return await configuration.load(uow, BIRTHDAY_KEY, lambda r: BirthdayRule(r["points"], r["windowDays"]),
                                    BirthdayRule())


def birthday_in(year: int, birthday: date) -> date:
    if birthday.month == 2 and birthday.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return birthday.replace(year=year)


def claim_year(birthday: date, today: date, window_days: int) -> int | None:
    """The birthday year whose window contains ``today`` (a late-December birthday reaches into January)."""
    for year in (today.year, today.year - 1):
        start = birthday_in(year, birthday)
        if start <= today < start + timedelta(days=window_days):
            return year
    return None


class BirthdayService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def set_birthday(self, member_id: int, birthday: date) -> date:
        today = self.clock.now().date()
        if not date(1900, 1, 1) <= birthday <= today:
            raise InvalidInput("a birthday is a past date", ("birthday",))

        async def work(uow: "UnitOfWork") -> date:
            await uow.members.lock(member_id)
            current = await uow.birthdays.birthday_of(member_id)
            if current is not None and current != birthday:
                raise Refusal(ErrorCode.BIRTHDAY_LOCKED, "a birthday can be set only once", ("birthday",))
            await uow.birthdays.set_birthday(member_id, birthday)
            return birthday

        return await self.transactions.write(work)

    async def birthday_of(self, member_id: int) -> date | None:
        return await self.transactions.read(lambda uow: uow.birthdays.birthday_of(member_id))

    async def claim(self, member: Actor, member_id: int, key: str) -> "PointsOutcome":
        async def rule(ctx: "OperationContext") -> None:
            birthday = await ctx.uow.birthdays.birthday_of(member_id)
            if birthday is None:
                raise Refusal(ErrorCode.NO_BIRTHDAY, "set your birthday first")
            rule_ = await birthday_rule(ctx.uow)
            year = claim_year(birthday, ctx.brand.local_date(ctx.now), rule_.window_days)
            if year is None:
                raise Refusal(ErrorCode.NOT_BIRTHDAY, f"the gift can be claimed in the {rule_.window_days} days "
                                                      "from your birthday")
            if await ctx.uow.birthdays.claimed(member_id, year):
                raise Refusal(ErrorCode.ALREADY_CLAIMED, f"the {year} birthday gift was already claimed")
            tier = (await tier_table(ctx.uow)).get(ctx.member.tier_level)
            points = rule_.points * tier.earn_multiplier_permille // 1000
            ctx.member.account.credit(points, LedgerReason.CAMPAIGN_BONUS, ctx.now, ctx.brand.expiry_for(ctx.now),
                                      member.label, f"{year} 生日礼", f"birthday:{year}")
            await ctx.uow.birthdays.record_claim(member_id, year, ctx.now)

        return await self.operations.run(actor=member, key=key, operation="claimBirthdayGift", member_id=member_id,
                                         payload={}, rule=rule)

    async def update_rule(self, staff: Actor, rule: BirthdayRule) -> BirthdayRule:
        async def work(uow: "UnitOfWork") -> BirthdayRule:
            await configuration.store(uow, BIRTHDAY_KEY, {"points": rule.points, "windowDays": rule.window_days},
                                      staff, self.clock.now())
            return rule

        return await self.transactions.write(work)
