"""Subscriptions: a member's points toasts (`pointsChanged`) and the public pulse (`activityFeed`)."""
from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import require_member
from api.graphql.ledger import LedgerEntry, Points, entry_type
from api.realtime import ACTIVITY_CHANNEL, RateLimited, decode_activity, decode_change, points_channel
from domain import realtime

ACTIVITY_PER_SECOND = 2
ACTIVITY_BURST = 5


@strawberry.type(description="A change of your points, sent after it committed.")
class PointsChange:
    entry: LedgerEntry | None = strawberry.field(description="Null when only held or pending points moved.")
    points: Points
    toast: str = strawberry.field(description="Short text for a toast: '+10 积分 · 每日签到'.")


@strawberry.type
class RealtimeSubscriptions:
    @strawberry.subscription(description="Member: every change of your points, on every connection you have open.")
    async def points_changed(self, info: Info) -> AsyncGenerator[PointsChange, None]:
        member = require_member(info)
        async with info.context.services.broker.subscribe(points_channel(member.member_id)) as messages:
            async for message in messages:
                member_id, entry, points, toast = decode_change(message)
                yield PointsChange(entry=entry_type(entry), toast=toast, points=Points(
                    available=points.available, pending=points.pending, held=points.held,
                    lifetime_earned=points.lifetime_earned, debt=points.debt, _member_id=member_id))


ActivityKind = strawberry.enum(realtime.ActivityKind)


@strawberry.type(description="One line of the brand's public pulse; member names are masked.")
class ActivityEvent:
    kind: ActivityKind  # type: ignore[valid-type]
    member_name: str = strawberry.field(description="The first character and two stars: 刘**.")
    text: str = strawberry.field(description="What happened: 抽中了 保温杯.")
    at: datetime


@strawberry.type
class ActivitySubscriptions:
    @strawberry.subscription(description=f"Anyone: check-ins, wins and redemptions as they happen, at most "
                                         f"{ACTIVITY_PER_SECOND} a second per subscriber (the rest are skipped).")
    async def activity_feed(self, info: Info) -> AsyncGenerator[ActivityEvent, None]:
        limit = RateLimited(ACTIVITY_PER_SECOND, ACTIVITY_BURST)
        async with info.context.services.broker.subscribe(ACTIVITY_CHANNEL) as messages:
            async for message in messages:
                if limit.allow():
                    activity = decode_activity(message)
                    yield ActivityEvent(kind=activity.kind, member_name=activity.member_name, text=activity.text,
                                        at=activity.at)
