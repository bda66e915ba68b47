"""Subscriptions: a member's points toasts (`pointsChanged`) and the public pulse (`activityFeed`)."""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import LimitExceeded, require_member
from api.graphql.ledger import LedgerEntry, Points, entry_type
from api.http.client_address import client_address
from api.adapters.realtime import ACTIVITY_PER_SECOND, TooManySubscriptions, decode_change, points_channel
from domain import realtime


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
    # Nothing of it depends on who reads it: each document's result is made once and sent to every
    # feed (api/execution/execution.py, FastLeaves).
    same_for_every_subscriber: strawberry.Private[dict] = dataclasses.field(default_factory=dict)


@functools.lru_cache(maxsize=32)
def activity_event(activity: realtime.Activity) -> ActivityEvent:
    """One event object per activity, shared by every feed of the process."""
    return ActivityEvent(kind=activity.kind, member_name=activity.member_name, text=activity.text, at=activity.at)


@strawberry.type
class ActivitySubscriptions:
    @strawberry.subscription(description=f"Anyone: check-ins, wins and redemptions as they happen, at most "
                                         f"{ACTIVITY_PER_SECOND} a second (the rest are skipped). Anonymous "
                                         f"callers may hold a limited number of feeds per address.")
    async def activity_feed(self, info: Info) -> AsyncGenerator[ActivityEvent, None]:
        anonymous = client_address(info.context.request) if info.context.caller.kind == "anonymous" else None
        try:
            async with info.context.services.activity.listen(anonymous) as feed:
                async for activity in feed:
                    yield activity_event(activity)
        except TooManySubscriptions:  # raised before the first event, by `listen` only
            raise LimitExceeded("this address holds as many anonymous activity feeds as it may: sign in, or "
                                "close one") from None
