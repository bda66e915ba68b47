"""Staff: member segments (分层), their rule, a refresh, and the members in each."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_staff, user_errors
from api.graphql.members import MemberType, member_type
from api.graphql.relay import Connection, check_first, connection, decode_cursor
from domain import segments
from domain.errors import DomainError

Segment = strawberry.enum(segments.Segment, description="NEW, DORMANT (inactive, points about to expire), "
                                                        "PRICE_SENSITIVE (spends on deals), LOYAL (orders often, "
                                                        "high tier).")


@strawberry.type(description="How members are sorted into segments; a change applies at the next refresh.")
class SegmentRule:
    new_days: int
    dormant_days: int
    expiring_within_days: int
    window_days: int
    price_sensitive_min_points: int
    price_sensitive_percent: int
    low_price_points: int
    loyal_orders: int
    loyal_min_tier: int

    @classmethod
    def of(cls, rule: segments.SegmentRule) -> "SegmentRule":
        return cls(**vars(rule))


@strawberry.input(description="The fields to change; those left out keep their value.")
class SegmentRuleInput:
    new_days: int | None = None
    dormant_days: int | None = None
    expiring_within_days: int | None = None
    window_days: int | None = None
    price_sensitive_min_points: int | None = None
    price_sensitive_percent: int | None = None
    low_price_points: int | None = None
    loyal_orders: int | None = None
    loyal_min_tier: int | None = None


@strawberry.type
class SegmentCount:
    segment: Segment  # type: ignore[valid-type]
    members: int


@strawberry.type
class SegmentSummary:
    refreshed_at: datetime | None
    counts: list[SegmentCount]


@strawberry.type
class UpdateSegmentRulePayload:
    rule: SegmentRule | None
    user_errors: list[UserError]


@strawberry.type
class RefreshSegmentsPayload:
    summary: SegmentSummary
    user_errors: list[UserError]


def summary(refreshed_at: datetime | None, counts: dict) -> SegmentSummary:
    return SegmentSummary(refreshed_at=refreshed_at,
                          counts=[SegmentCount(segment=s, members=counts.get(s, 0)) for s in segments.Segment])


@strawberry.type
class SegmentQueries:
    @strawberry.field(description="Staff: how many members each segment holds, as of the last refresh.")
    async def segments(self, info: Info) -> SegmentSummary:
        require_staff(info)
        service = info.context.services.segments
        return summary(await service.last_refreshed_at(), await service.counts())

    @strawberry.field(description="Staff: the members of a segment, the latest joined first.")
    async def segment_members(self, info: Info, segment: Segment, first: int,  # type: ignore[valid-type]
                              after: str | None = None
                              ) -> Connection[MemberType]:
        require_staff(info)
        check_first(first)
        before = decode_cursor(after)
        ids = await info.context.services.segments.members_in(segment, before, first + 1)
        found = await info.context.loaders.members.load_many(ids)
        return connection([member_type(m) for m in found], ids, first, before is not None)

    @strawberry.field(description="Staff: the segment rule.")
    async def segment_rule(self, info: Info) -> SegmentRule:
        require_staff(info)
        return SegmentRule.of(await info.context.services.segments.rule())


@strawberry.type
class SegmentMutations:
    @strawberry.mutation(description="Staff: change the segment rule (applies at the next refresh).")
    async def update_segment_rule(self, info: Info, input: SegmentRuleInput) -> UpdateSegmentRulePayload:
        staff = require_staff(info)
        try:
            changes = {name: value for name, value in vars(input).items() if value is not None}
            rule = await info.context.services.segments.update_rule(staff.actor, changes)
        except DomainError as error:
            return UpdateSegmentRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateSegmentRulePayload(rule=SegmentRule.of(rule), user_errors=[])

    @strawberry.mutation(description="Staff: recompute every member's segments now (the server does it daily).")
    async def refresh_segments(self, info: Info) -> RefreshSegmentsPayload:
        staff = require_staff(info)
        report = await info.context.services.segments.refresh(staff.actor)
        return RefreshSegmentsPayload(summary=summary(report.refreshed_at, report.counts), user_errors=[])
