"""Notifications kept per member (the notifications issue later also delivers them by webhook).

The expiry reminder: a daily job records, once per member and expiring lot, a reminder for points
that expire within the brand's reminder window (default 30 days). Each run looks at the whole window
(a lot earned since the last run may expire sooner than lots already reminded of, when points live
shorter than the window is long); a lot already reminded of is not reminded again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from domain import configuration
from domain.brand import brand_settings
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.configuration import Actor
    from domain.ports import Transactions, UnitOfWork

REMINDERS_KEY = "reminders"
REMINDED_ON_KEY = "reminders.expiry_last_day"
EXPIRY_REMINDER = "POINTS_EXPIRING"
MAX_MARK = 100


@dataclass(frozen=True)
class Notification:
    id: int
    member_id: int
    kind: str
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class NotificationDraft:
    member_id: int
    kind: str
    title: str
    body: str
    ref: str  # a member never gets two notifications with the same ref


@dataclass(frozen=True)
class ReminderRule:
    expiry_days: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.expiry_days <= 180:
            raise InvalidInput("the reminder window is 1-180 days", ("expiryDays",))


async def reminder_rule(uow: "UnitOfWork") -> ReminderRule:
    return await configuration.load(uow, REMINDERS_KEY, lambda r: ReminderRule(r["expiryDays"]), ReminderRule())


def expiry_reminder(member_id: int, expires_at: datetime, points: int, zone: tzinfo) -> NotificationDraft:
    last_day = (expires_at.astimezone(zone) - timedelta(microseconds=1)).date()
    return NotificationDraft(member_id, EXPIRY_REMINDER, "积分即将过期",
                             f"您有 {points} 积分将于 {last_day:%Y-%m-%d} 到期，快去积分商城兑换吧",
                             f"expiry:{expires_at.isoformat()}")


class NotificationService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def remind_expiring(self) -> int:
        """Record a reminder for each open lot in the window that has none; safe to run from many processes."""
        async def work(uow: "UnitOfWork") -> int:
            now = self.clock.now()
            until = now + timedelta(days=(await reminder_rule(uow)).expiry_days)
            zone = (await brand_settings(uow)).zone
            drafts = [expiry_reminder(member_id, expires_at, points, zone)
                      for member_id, expires_at, points in await uow.notifications.expiring_lots(now, until)]
            return await uow.notifications.add_once(drafts, now)

        return await self.transactions.write(work)

    async def remind_if_due(self) -> int:
        """The scheduler's daily run: the first sweep of each of the brand's days sends the reminders."""
        async def today(uow: "UnitOfWork") -> tuple[str, bool]:
            day = (await brand_settings(uow)).local_date(self.clock.now()).isoformat()
            return day, await uow.settings.get(REMINDED_ON_KEY) == day

        day, done = await self.transactions.read(today)
        if done:
            return 0
        reminded = await self.remind_expiring()
        await self.transactions.write(lambda uow: uow.settings.put(REMINDED_ON_KEY, day, "system:reminders",
                                                                   self.clock.now()))
        return reminded

    async def rule(self) -> ReminderRule:
        return await self.transactions.read(reminder_rule)

    async def update_rule(self, staff: "Actor", rule: ReminderRule) -> ReminderRule:
        async def work(uow: "UnitOfWork") -> ReminderRule:
            await configuration.store(uow, REMINDERS_KEY, {"expiryDays": rule.expiry_days}, staff, self.clock.now())
            return rule

        return await self.transactions.write(work)

    async def page(self, member_id: int, before_id: int | None, limit: int) -> list[Notification]:
        return await self.transactions.read(lambda uow: uow.notifications.page(member_id, before_id, limit))

    async def unread(self, member_id: int) -> int:
        return await self.transactions.read(lambda uow: uow.notifications.unread_count(member_id))

    async def mark_read(self, member_id: int, ids: list[int] | None) -> int:
        if ids is not None and len(ids) > MAX_MARK:
            raise InvalidInput(f"at most {MAX_MARK} ids at once", ("ids",))
        return await self.transactions.write(
            lambda uow: uow.notifications.mark_read(member_id, ids, self.clock.now()))
