"""Daily check-in (签到) and its rule."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.checkin_types import CheckInRule, CheckInTotalReward, StreakBonus
from api.graphql.errors import UserError, require_member, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member
from domain import checkin
from domain.errors import DomainError


def rule_type(rule: checkin.CheckInRule) -> CheckInRule:
    return CheckInRule(base_points=rule.base_points,
                       streak_bonuses=[StreakBonus(day=d, points=p) for d, p in rule.streak_bonuses],
                       monthly_rewards=[CheckInTotalReward(days=d, points=p) for d, p in rule.monthly_rewards],
                       lifetime_rewards=[CheckInTotalReward(days=d, points=p) for d, p in rule.lifetime_rewards])


@strawberry.input
class CheckInInput:
    idempotency_key: str


@strawberry.type
class CheckInPayload:
    member: MemberType | None
    entry: LedgerEntry | None = strawberry.field(description="The CHECK_IN entry.")
    entries: list[LedgerEntry] = strawberry.field(description="Every entry written: check-in and any streak bonus.")
    user_errors: list[UserError]


@strawberry.input
class StreakBonusInput:
    day: int
    points: int


@strawberry.input
class CheckInTotalRewardInput:
    days: int
    points: int


@strawberry.input
class UpdateCheckInRuleInput:
    base_points: int
    streak_bonuses: list[StreakBonusInput]
    monthly_rewards: list[CheckInTotalRewardInput] = strawberry.field(default_factory=list, description=(
        "e.g. 15 days in a month: 100 points (days 1-31; at most 10)."))
    lifetime_rewards: list[CheckInTotalRewardInput] = strawberry.field(default_factory=list, description=(
        "e.g. 100 days all told: 500 points (at most 10)."))


@strawberry.type
class UpdateCheckInRulePayload:
    rule: CheckInRule | None
    user_errors: list[UserError]


@strawberry.type
class CheckInQueries:
    @strawberry.field
    async def check_in_rule(self, info: Info) -> CheckInRule:
        return rule_type(await info.context.services.transactions.read(checkin.check_in_rule))


@strawberry.type
class CheckInMutations:
    @strawberry.mutation(description="Check in for today (brand's time zone). Once per day; streak bonuses on set days.")
    async def check_in(self, info: Info, input: CheckInInput) -> CheckInPayload:
        member = require_member(info)
        try:
            outcome = await info.context.services.check_in.check_in(
                member.actor, member.member_id, input.idempotency_key)
        except DomainError as error:
            return CheckInPayload(member=None, entry=None, entries=[], user_errors=user_errors(error))
        return CheckInPayload(member=fresh_member(info, member.member_id), entry=entry_type(outcome.entry),
                              entries=[entry_type(e) for e in outcome.entries], user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Staff: set base points and streak bonuses.")
    async def update_check_in_rule(self, info: Info, input: UpdateCheckInRuleInput) -> UpdateCheckInRulePayload:
        staff = require_staff(info)
        try:
            bonuses = tuple(sorted((b.day, b.points) for b in input.streak_bonuses[:checkin.MAX_STREAK_BONUSES + 1]))
            monthly, lifetime = (tuple(sorted((r.days, r.points) for r in rewards[:checkin.MAX_TOTAL_REWARDS + 1]))
                                 for rewards in (input.monthly_rewards, input.lifetime_rewards))
            rule = await info.context.services.check_in.update_rule(
                staff.actor, checkin.CheckInRule(input.base_points, bonuses, monthly, lifetime))
        except DomainError as error:
            return UpdateCheckInRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateCheckInRulePayload(rule=rule_type(rule), user_errors=[])
