"""Daily check-in (签到): one per member per local calendar day, with streak bonuses, and rewards at
totals of days (累计签到): days in the calendar month (15 days in a month), and days all told.

Each check-in row carries the member's running totals (all told, and in its month), taken from the
last row the check-in reads anyway, so counting costs no query."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from domain import configuration
from domain.chances import ChanceSource, chances_earned
from domain.badges import STREAK_BADGES, BadgeCode, award
from domain.brand import brand_settings
from domain.campaigns import boost_for
from domain.clock import Clock
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.ledger import LedgerReason
from domain.realtime import Activity, ActivityKind

if TYPE_CHECKING:
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

MAX_STREAK_BONUSES = 10
MAX_TOTAL_REWARDS = 10


@dataclass(frozen=True)
class CheckIn:
    member_id: int
    local_date: date
    streak: int
    checked_in_at: datetime
    total_days: int = 1  # check-in days all told, this one included
    month_days: int = 1  # check-in days in this one's calendar month, this one included

    def next_totals(self, today: date) -> tuple[int, int]:
        """The totals of a check-in on ``today`` that follows this one."""
        same_month = (self.local_date.year, self.local_date.month) == (today.year, today.month)
        return self.total_days + 1, self.month_days + 1 if same_month else 1


@dataclass(frozen=True)
class CheckInStatus:
    streak: int
    checked_in_today: bool
    total_days: int = 0
    days_this_month: int = 0


@dataclass(frozen=True)
class CheckInRule:
    """Base points every day, plus a bonus on the listed days of an unbroken run (day 7, day 30)."""

    base_points: int = 10
    streak_bonuses: tuple[tuple[int, int], ...] = ((7, 50), (30, 200))
    monthly_rewards: tuple[tuple[int, int], ...] = ()  # (check-in days in a calendar month, points)
    lifetime_rewards: tuple[tuple[int, int], ...] = ()  # (check-in days all told, points)

    def __post_init__(self) -> None:
        self._check_totals(self.monthly_rewards, 31, "monthlyRewards")
        self._check_totals(self.lifetime_rewards, 100_000, "lifetimeRewards")
        if not 1 <= self.base_points <= 100_000:
            raise InvalidInput("base points must be 1-100000", ("basePoints",))
        days = [day for day, _ in self.streak_bonuses]
        if len(days) > MAX_STREAK_BONUSES or len(set(days)) != len(days):
            raise InvalidInput(f"at most {MAX_STREAK_BONUSES} streak bonuses, one per day", ("streakBonuses",))
        for day, points in self.streak_bonuses:
            if not 2 <= day <= 366 or not 1 <= points <= 1_000_000:
                raise InvalidInput("a streak bonus needs a day of 2-366 and 1-1000000 points", ("streakBonuses",))

    @staticmethod
    def _check_totals(rewards: tuple[tuple[int, int], ...], most_days: int, field: str) -> None:
        days = [day for day, _ in rewards]
        if len(days) > MAX_TOTAL_REWARDS or len(set(days)) != len(days):
            raise InvalidInput(f"at most {MAX_TOTAL_REWARDS} rewards, one per total", (field,))
        for day, points in rewards:
            if not 1 <= day <= most_days or not 1 <= points <= 1_000_000:
                raise InvalidInput(f"a reward needs a total of 1-{most_days} days and 1-1000000 points", (field,))

    def bonus_for(self, streak: int) -> int:
        return sum(points for day, points in self.streak_bonuses if day == streak)

    def total_rewards_for(self, total_days: int, month_days: int) -> list[tuple[str, int]]:
        """(memo, points) of each reward these totals reach today."""
        return [(f"本月累计签到 {day} 天", points) for day, points in self.monthly_rewards if day == month_days] + \
            [(f"累计签到 {day} 天", points) for day, points in self.lifetime_rewards if day == total_days]

    def to_record(self) -> dict:
        return {"basePoints": self.base_points, "streakBonuses": [list(b) for b in self.streak_bonuses],
                "monthlyRewards": [list(r) for r in self.monthly_rewards],
                "lifetimeRewards": [list(r) for r in self.lifetime_rewards]}

    @classmethod
    def from_record(cls, r: dict) -> "CheckInRule":
        return cls(r["basePoints"], tuple(sorted((d, p) for d, p in r["streakBonuses"])),
                   tuple(sorted((d, p) for d, p in r.get("monthlyRewards", ()))),
                   tuple(sorted((d, p) for d, p in r.get("lifetimeRewards", ()))))


def status(latest: CheckIn | None, today: date) -> CheckInStatus:
    """A run survives until the end of the day after its last check-in; the month's days start again
    on the 1st."""
    if latest is None:
        return CheckInStatus(0, False)
    this_month = latest.month_days if (latest.local_date.year, latest.local_date.month) == (today.year,
                                                                                              today.month) else 0
    streak = latest.streak if latest.local_date >= today - timedelta(days=1) else 0
    return CheckInStatus(streak, latest.local_date == today, latest.total_days, this_month)


def next_streak(latest: CheckIn | None, today: date) -> int:
    if latest is not None and latest.local_date == today - timedelta(days=1):
        return latest.streak + 1
    return 1


CHECK_IN_KEY = "check_in"


async def check_in_rule(uow: "UnitOfWork") -> CheckInRule:
    return await configuration.load(uow, CHECK_IN_KEY, CheckInRule.from_record, CheckInRule())


class CheckInService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: Clock) -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def check_in(self, member: Actor, member_id: int, key: str) -> "PointsOutcome":
        async def rule(ctx: "OperationContext") -> None:
            today = ctx.brand.local_date(ctx.now)
            latest = (await ctx.uow.check_ins.latest([member_id])).get(member_id)
            # ">=": after the brand moves to a zone behind, "today" can be a date already checked in.
            if latest is not None and latest.local_date >= today:
                raise Refusal(ErrorCode.ALREADY_CHECKED_IN, "already checked in today")
            streak = next_streak(latest, today)
            rule_ = await check_in_rule(ctx.uow)
            account = ctx.member.account
            expires_at = ctx.brand.expiry_for(ctx.now)
            account.credit(rule_.base_points, LedgerReason.CHECK_IN, ctx.now, expires_at, member.label,
                           f"第 {streak} 天", f"checkin:{today.isoformat()}")
            boost = await boost_for(ctx.uow, rule_.base_points, ctx.now, LedgerReason.CHECK_IN, ctx.member)
            if boost:
                account.credit(boost.bonus_points, LedgerReason.CAMPAIGN_BONUS, ctx.now, expires_at, member.label,
                               f"活动 {boost.campaign.name} · 签到", f"checkin:{today.isoformat()}")
            await chances_earned(ctx.uow, member_id, ChanceSource.STREAK, f"checkin:{today.isoformat()}", ctx.now,
                                 lambda r: r.for_streak(streak))
            if bonus := rule_.bonus_for(streak):
                account.credit(bonus, LedgerReason.STREAK_BONUS, ctx.now, expires_at, member.label,
                               f"连续签到 {streak} 天", f"checkin:{today.isoformat()}")
            total_days, month_days = latest.next_totals(today) if latest is not None else (1, 1)
            for memo, points in rule_.total_rewards_for(total_days, month_days):
                account.credit(points, LedgerReason.CHECK_IN_TOTAL, ctx.now, expires_at, member.label, memo,
                               f"checkin:{today.isoformat()}")
            await ctx.uow.check_ins.add(CheckIn(member_id, today, streak, ctx.now, total_days, month_days))
            if latest is None:
                await award(ctx.uow, ctx.member, BadgeCode.FIRST_CHECK_IN, ctx.now)
            if streak in STREAK_BADGES:
                await award(ctx.uow, ctx.member, STREAK_BADGES[streak], ctx.now)
            text = f"连续签到 {streak} 天" if streak > 1 else "完成了今日签到"
            ctx.uow.activity.append(Activity.of(ActivityKind.CHECK_IN, ctx.member.nickname, text, ctx.now))

        return await self.operations.run(actor=member, key=key, operation="checkIn", member_id=member_id,
                                         payload={}, rule=rule)

    async def statuses(self, member_ids: list[int]) -> dict[int, CheckInStatus]:
        async def work(uow: "UnitOfWork") -> dict[int, CheckInStatus]:
            today = (await brand_settings(uow)).local_date(self.clock.now())
            latest = await uow.check_ins.latest(member_ids)
            return {m: status(latest.get(m), today) for m in member_ids}

        return await self.transactions.read(work)

    async def update_rule(self, staff: Actor, rule: CheckInRule) -> CheckInRule:
        async def work(uow: "UnitOfWork") -> CheckInRule:
            await configuration.store(uow, CHECK_IN_KEY, rule.to_record(), staff, self.clock.now())
            return rule

        return await self.transactions.write(work)
