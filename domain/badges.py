"""Badges (徽章): awarded by rules as members play, each once, with the date; an award toasts.

The rules sit where the deed happens (the check-in that makes a 7-day streak, the first
redemption, the 5th invited friend, the tier change to V3), inside that deed's transaction, so a
badge is never awarded for something that rolled back. The award is an insert that does nothing
when the badge is already there, which is what makes "once" hold under concurrency.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from domain.realtime import Activity, ActivityKind, BadgeAwarded, PointsSnapshot

if TYPE_CHECKING:
    from domain.members import Member
    from domain.ports import UnitOfWork


class BadgeCode(str, Enum):
    FIRST_CHECK_IN = "FIRST_CHECK_IN"
    STREAK_7 = "STREAK_7"
    STREAK_30 = "STREAK_30"
    FIRST_REDEMPTION = "FIRST_REDEMPTION"
    INVITED_5 = "INVITED_5"
    REACHED_V3 = "REACHED_V3"


@dataclass(frozen=True)
class BadgeDefinition:
    code: BadgeCode
    name: str
    description: str


CATALOGUE = {b.code: b for b in (
    BadgeDefinition(BadgeCode.FIRST_CHECK_IN, "初来乍到", "第一次签到"),
    BadgeDefinition(BadgeCode.STREAK_7, "七日之约", "连续签到 7 天"),
    BadgeDefinition(BadgeCode.STREAK_30, "月度坚持", "连续签到 30 天"),
    BadgeDefinition(BadgeCode.FIRST_REDEMPTION, "首次兑换", "第一次用积分兑换"),
    BadgeDefinition(BadgeCode.INVITED_5, "人气王", "成功邀请 5 位好友"),
    BadgeDefinition(BadgeCode.REACHED_V3, "进阶会员", "升级到 V3"),
)}
STREAK_BADGES = {7: BadgeCode.STREAK_7, 30: BadgeCode.STREAK_30}
INVITED_BADGE_AT = 5


@dataclass(frozen=True)
class Badge:
    member_id: int
    code: BadgeCode
    awarded_at: datetime

    @property
    def definition(self) -> BadgeDefinition:
        return CATALOGUE[self.code]


async def award_tier_badges(uow: "UnitOfWork", member: "Member", now: datetime) -> None:
    """After a tier refresh: a member who just rose to V3 or above gets the badge."""
    if member.new_tier_changes and member.tier_level >= 3:
        await award(uow, member, BadgeCode.REACHED_V3, now)


async def award(uow: "UnitOfWork", member: "Member", code: BadgeCode, now: datetime) -> bool:
    """Give ``member`` the badge unless they have it; True when this call gave it."""
    if not await uow.badges.add(Badge(member.id, code, now)):
        return False
    name = CATALOGUE[code].name
    uow.badge_awards.append(BadgeAwarded(member.id, code.value, name, PointsSnapshot.of(member.account)))
    uow.activity.append(Activity.of(ActivityKind.BADGE, member.nickname, f"获得徽章「{name}」", now))
    return True
