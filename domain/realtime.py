"""What a member's front end is told when their points change: the entry, the new points, a toast.

A change is announced only after its transaction commits (the storage layer collects changes
while a write runs and hands them over after the commit), so a rolled-back write never toasts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from domain.ledger import LedgerEntry, LedgerReason, PointsAccount

REASON_LABELS = {
    LedgerReason.CHECK_IN: "每日签到", LedgerReason.TASK: "任务奖励", LedgerReason.ORDER: "订单积分",
    LedgerReason.REVIEW: "评价奖励", LedgerReason.INVITE: "邀请好友", LedgerReason.ASSIST: "好友助力",
    LedgerReason.CAMPAIGN_BONUS: "活动奖励", LedgerReason.STREAK_BONUS: "连续签到奖励",
    LedgerReason.CHECK_IN_TOTAL: "累计签到奖励",
    LedgerReason.OPENING: "期初积分",
    LedgerReason.REDEMPTION: "积分兑换", LedgerReason.CHECKOUT: "积分+现金", LedgerReason.DEDUCTION: "积分抵现",
    LedgerReason.LOTTERY_ENTRY: "抽奖", LedgerReason.LOTTERY_PRIZE: "抽奖中奖", LedgerReason.EXPIRY: "积分过期",
    LedgerReason.REVERSAL: "积分退回", LedgerReason.EXCHANGE_OUT: "转出至合作品牌",
    LedgerReason.EXCHANGE_IN: "合作品牌转入", LedgerReason.ADJUSTMENT: "客服调整",
    LedgerReason.LEADERBOARD_PRIZE: "排行榜奖励", LedgerReason.GIFT_OUT: "积分转赠",
    LedgerReason.GIFT_IN: "好友赠送", LedgerReason.CONVERSION: "积分升值",
}
# For these the memo names the thing ("兑换 保温杯 x1"), which says more than the reason.
MEMO_REASONS = frozenset({LedgerReason.REDEMPTION, LedgerReason.CHECKOUT, LedgerReason.LOTTERY_PRIZE,
                          LedgerReason.REVERSAL})
SINGLE = re.compile(r" x1$")
MAX_TOAST_TEXT = 40
MAX_ACTIVITY_TEXT = 60


@dataclass(frozen=True)
class PointsSnapshot:
    available: int
    pending: int
    held: int
    lifetime_earned: int
    debt: int

    @classmethod
    def of(cls, account: PointsAccount) -> "PointsSnapshot":
        return cls(account.available, account.pending, account.held, account.lifetime_earned, account.debt)


@dataclass(frozen=True)
class PointsChanged:
    member_id: int
    entry: LedgerEntry | None  # None when only holds or pending points moved
    points: PointsSnapshot
    held_delta: int = 0
    pending_delta: int = 0

    @property
    def toast(self) -> str:
        if self.entry is not None:
            return entry_toast(self.entry)
        if self.held_delta:
            verb = "冻结" if self.held_delta > 0 else "释放"
            return f"{verb} {abs(self.held_delta)} 积分"
        return f"{self.pending_delta:+d} 积分待到账" if self.pending_delta > 0 else f"{self.pending_delta:+d} 待到账积分"


def entry_toast(entry: LedgerEntry) -> str:
    label = REASON_LABELS.get(entry.reason, entry.reason.value)
    if entry.reason in MEMO_REASONS and entry.memo:
        label = SINGLE.sub("", entry.memo.splitlines()[0])[:MAX_TOAST_TEXT]
    return f"{entry.delta:+d} 积分 · {label}"


class ActivityKind(str, Enum):
    CHECK_IN = "CHECK_IN"
    LOTTERY_WIN = "LOTTERY_WIN"
    REDEMPTION = "REDEMPTION"
    GROUP_FILLED = "GROUP_FILLED"
    BADGE = "BADGE"


@dataclass(frozen=True)
class Activity:
    """One line of the brand's public pulse ("刘** 抽中了 保温杯"): never a full name, never an amount."""

    kind: ActivityKind
    member_name: str
    text: str
    at: datetime

    @classmethod
    def of(cls, kind: ActivityKind, nickname: str, text: str, at: datetime) -> "Activity":
        return cls(kind, masked(nickname), text[:MAX_ACTIVITY_TEXT], at)


def masked(nickname: str) -> str:
    """The first character and two stars, whatever the length, so the length gives nothing away."""
    return (nickname.strip()[:1] or "*") + "**"


@dataclass(frozen=True)
class BadgeAwarded:
    member_id: int
    code: str
    name: str
    points: PointsSnapshot  # the member's points as they stand, so the toast carries a full PointsChange

    @property
    def toast(self) -> str:
        return f"获得徽章 · {self.name}"


@dataclass
class Outbox:
    """What a write transaction will announce once it has committed."""

    points: list[PointsChanged] = field(default_factory=list)
    activity: list[Activity] = field(default_factory=list)
    scores: list = field(default_factory=list)  # leaderboard ScoreChanges, for the sorted sets
    badges: list[BadgeAwarded] = field(default_factory=list)
    restocked: list[str] = field(default_factory=list)  # admission scopes whose stock rose (domain/admission.py)

    def __bool__(self) -> bool:
        return bool(self.points or self.activity or self.scores or self.badges or self.restocked)
