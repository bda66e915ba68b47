"""Notifications kept per member, and delivered to the brand's messaging service by webhook.

Kinds: ``POINTS_EXPIRING`` (the expiry reminder), ``TIER_CHANGED``, ``REDEMPTION_SHIPPED``,
``ASSIST_COMPLETED`` and ``CAMPAIGN`` (staff push one message to a segment). ``notify`` stores
them (a member never gets two with the same ref) and queues their webhook deliveries in the same
transaction.

The expiry reminder: a daily job records, once per member and expiring lot, a reminder for points
that expire within the brand's reminder window (default 30 days). Each run looks at the whole window
(a lot earned since the last run may expire sooner than lots already reminded of, when points live
shorter than the window is long); a lot already reminded of is not reminded again.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from domain import configuration
from domain.badges import award_tier_badges
from domain.brand import brand_settings
from domain.errors import InvalidInput, NotFound
from domain.progress import Progress, unreported
from domain.text import checked_text
from domain.webhooks import queue_notifications

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.configuration import Actor
    from domain.members import Member
    from domain.segments import Segment
    from domain.tiers import TierChange
    from domain.ports import Transactions, UnitOfWork

REMINDERS_KEY = "reminders"
REMINDED_ON_KEY = "reminders.expiry_last_day"
EXPIRY_REMINDER = "POINTS_EXPIRING"
TIER_CHANGED = "TIER_CHANGED"
REDEMPTION_SHIPPED = "REDEMPTION_SHIPPED"
ASSIST_COMPLETED = "ASSIST_COMPLETED"
CAMPAIGN_PUSH = "CAMPAIGN"
REF_PATTERN = re.compile(r"^[A-Za-z0-9_.:@-]{1,100}\Z")
PUSH_BATCH = 500
REMINDER_BATCH = 1000
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
    ref: str = ""


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


async def reminder_window(uow: "UnitOfWork", now: datetime) -> tuple[datetime, tzinfo]:
    """Until when what expires is reminded of (the brand's reminder rule), and the brand's zone."""
    return now + timedelta(days=(await reminder_rule(uow)).expiry_days), (await brand_settings(uow)).zone


def last_local_day(expires_at: datetime, zone: tzinfo) -> date:
    """The last day something expiring at ``expires_at`` can still be used, in the brand's zone."""
    return (expires_at.astimezone(zone) - timedelta(microseconds=1)).date()


def expiry_reminder(member_id: int, expires_at: datetime, points: int, zone: tzinfo) -> NotificationDraft:
    last_day = last_local_day(expires_at, zone)
    return NotificationDraft(member_id, EXPIRY_REMINDER, "积分即将过期",
                             f"您有 {points} 积分将于 {last_day:%Y-%m-%d} 到期，快去积分商城兑换吧",
                             f"expiry:{expires_at.isoformat()}")


async def notify(uow: "UnitOfWork", drafts: Sequence[NotificationDraft], now: datetime) -> int:
    """Store the drafts a member has not had yet and queue their webhook deliveries; how many were new."""
    stored = await uow.notifications.add_once(drafts, now)
    await queue_notifications(uow, stored, now)
    return len(stored)


async def on_tier_refreshed(uow: "UnitOfWork", member: "Member", now: datetime) -> None:
    """After a tier refresh: the badge for reaching V3, and a notification of each change."""
    await award_tier_badges(uow, member, now)
    if member.new_tier_changes:
        await notify(uow, [tier_changed(change) for change in member.new_tier_changes], now)


def tier_changed(change: "TierChange") -> NotificationDraft:
    up = change.to_level > change.from_level
    return NotificationDraft(change.member_id, TIER_CHANGED, "会员等级提升" if up else "会员等级变更",
                             f"您的会员等级已{'升' if up else '调整'}至 V{change.to_level}",
                             f"tier:{change.to_level}:{change.changed_at.isoformat()}")


def redemption_shipped(member_id: int, redemption_id: int, item_name: str, note: str | None) -> NotificationDraft:
    return NotificationDraft(member_id, REDEMPTION_SHIPPED, "兑换商品已发货",
                             f"您兑换的「{item_name}」已发货" + (f"：{note}" if note else ""),
                             f"redemption:{redemption_id}:shipped")


def assist_completed(member_id: int, campaign_id: int, title: str, helpers: int) -> NotificationDraft:
    return NotificationDraft(member_id, ASSIST_COMPLETED, "助力完成",
                             f"「{title}」已有 {helpers} 位好友助力，奖励已发放", f"assist:{campaign_id}:completed")


@dataclass(frozen=True)
class Push:
    """A message staff send to every member of a segment once (the ref makes a resend a no-op)."""

    segment: "Segment | None"
    title: str
    body: str
    ref: str
    tag: str | None = None  # or every member holding this tag

    def __post_init__(self) -> None:
        if (self.segment is None) == (self.tag is None):
            raise InvalidInput("a push goes to a segment or to a tag, one of them", ("segment",))
        object.__setattr__(self, "title", checked_text(self.title, "title", max_length=100, required=True))
        object.__setattr__(self, "body", checked_text(self.body, "body", max_length=500, required=True,
                                                      multiline=True))
        if not REF_PATTERN.match(self.ref):
            raise InvalidInput("ref is 1-100 letters, digits or _.:@-", ("ref",))

    def draft(self, member_id: int) -> NotificationDraft:
        return NotificationDraft(member_id, CAMPAIGN_PUSH, self.title, self.body, f"push:{self.ref}")


class NotificationService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def remind_expiring(self, batch: int = REMINDER_BATCH, progress: Progress = unreported) -> int:
        """Record a reminder for each open lot in the window that has none, ``batch`` lots a transaction
        (a writer waiting behind a batch waits for that batch only); safe to run from many processes,
        and to run again after a crash: a lot already reminded of is skipped."""
        now = self.clock.now()
        until, zone = await self.transactions.read(lambda uow: reminder_window(uow, now))
        reminded, after = 0, None
        while lots := await self.transactions.read(
                lambda uow: uow.notifications.expiring_lots(now, until, after, batch)):
            drafts = [expiry_reminder(member_id, expires_at, points, zone) for member_id, expires_at, points in lots]
            reminded += await self.transactions.write(lambda uow, d=drafts: notify(uow, d, now))
            after = (lots[-1][1], lots[-1][0])
            progress(reminded, None)
        return reminded

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

    async def push(self, staff: "Actor", push: Push) -> int:
        """Notify every member of the segment, a batch per transaction; how many were new."""
        now = self.clock.now()
        if push.tag is not None and await self.transactions.read(lambda uow: uow.tags.get(push.tag)) is None:
            raise NotFound(f"no tag {push.tag[:40]}", ("tag",))
        sent, before = 0, None
        while member_ids := await self.transactions.read(
                lambda uow: uow.segments.members_in(push.segment, before, PUSH_BATCH) if push.segment is not None
                else uow.tags.members_with(push.tag, before, PUSH_BATCH)):
            sent += await self.transactions.write(
                lambda uow, ids=member_ids: notify(uow, [push.draft(i) for i in ids], now))
            before = member_ids[-1]

        async def audit(uow: "UnitOfWork") -> None:
            await uow.audit.record(staff.label, "notification.push",
                                   push.segment.value if push.segment is not None else f"tag:{push.tag}",
                                   {"title": push.title, "ref": push.ref, "sent": sent}, now)

        await self.transactions.write(audit)
        return sent

    async def page(self, member_id: int, before_id: int | None, limit: int) -> list[Notification]:
        return await self.transactions.read(lambda uow: uow.notifications.page(member_id, before_id, limit))

    async def unread(self, member_id: int) -> int:
        return await self.transactions.read(lambda uow: uow.notifications.unread_count(member_id))

    async def mark_read(self, member_id: int, ids: list[int] | None) -> int:
        if ids is not None and len(ids) > MAX_MARK:
            raise InvalidInput(f"at most {MAX_MARK} ids at once", ("ids",))
        return await self.transactions.write(
            lambda uow: uow.notifications.mark_read(member_id, ids, self.clock.now()))
