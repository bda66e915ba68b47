"""Notifications kept per member (the notifications issue later also delivers them by webhook).

The expiry reminder: a job records, once per member and expiring lot, a reminder for points that
expire within the brand's reminder window (default 30 days).
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
    from domain.ports import Transactions, UnitOfWork

REMINDERS_KEY = "reminders"
REMINDER_CURSOR_KEY = "reminders.expiry_cursor"
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
        """Record a reminder for each lot entering the window; safe to run often and from many processes."""
        async def work(uow: "UnitOfWork") -> int:
            now = self.clock.now()
            until = now + timedelta(days=(await reminder_rule(uow)).expiry_days)
            # Only lots that entered the window since the last run: each run reads a day's worth, not a month's.
            cursor = await uow.settings.get(REMINDER_CURSOR_KEY)
            after = max(now, datetime.fromisoformat(cursor)) if cursor else now
            if until <= after:
                return 0
            zone = (await brand_settings(uow)).zone
            drafts = [expiry_reminder(member_id, expires_at, points, zone)
                      for member_id, expires_at, points in await uow.notifications.expiring_lots(after, until)]
            await uow.settings.put(REMINDER_CURSOR_KEY, until.isoformat(), "system:reminders", now)
            return await uow.notifications.add_once(drafts, now)

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
