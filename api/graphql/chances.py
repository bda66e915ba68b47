"""Lottery chances (抽奖机会): sharing a poster, what earns chances, a member's chances, staff grants."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_member, require_staff, user_errors
from api.graphql.members import MemberType, fresh_member, resolve_member_id
from domain import chances
from domain.errors import DomainError, InvalidInput
from domain.invitations import invitation_code

ShareChannel = strawberry.enum(chances.ShareChannel)
ChanceSource = strawberry.enum(chances.ChanceSource, description="What earned a lottery chance.")


@strawberry.type(description="A free lottery draw: spent first-expiring-first by drawLottery(useChance: true).")
class LotteryChance:
    source: ChanceSource  # type: ignore[valid-type]
    granted_at: datetime
    expires_at: datetime


@strawberry.type
class LotteryChances:
    available: int = strawberry.field(description="Chances usable now.")
    chances: list[LotteryChance] = strawberry.field(description="The first of them, first-expiring first.")


def chances_type(count: int, found: list[chances.LotteryChance]) -> LotteryChances:
    return LotteryChances(available=count, chances=[LotteryChance(source=c.source, granted_at=c.granted_at,
                                                                  expires_at=c.expires_at) for c in found])


@strawberry.type(description="What a page draws as the member's share poster.")
class Poster:
    title: str
    image_url: str | None
    invitation_code: str
    deep_link: str = strawberry.field(description="The brand's link with the member's invitation code.")


@strawberry.input
class SharePosterInput:
    channel: ShareChannel  # type: ignore[valid-type]
    idempotency_key: str


@strawberry.type
class SharePosterPayload:
    member: MemberType | None
    poster: Poster | None
    chances_granted: int = strawberry.field(description="Chances this share paid (0 past the day's cap).")
    user_errors: list[UserError]


@strawberry.input
class GrantLotteryChancesInput:
    member_id: strawberry.ID
    count: int
    memo: str
    idempotency_key: str


@strawberry.type
class GrantLotteryChancesPayload:
    member: MemberType | None
    user_errors: list[UserError]


@strawberry.type(description="What earns lottery chances, how long they live, and the share poster.")
class ChanceRule:
    share_chances: int = strawberry.field(description="Per share.")
    share_daily_cap: int = strawberry.field(description="Chances from sharing a day (the brand's day).")
    task_chances: int = strawberry.field(description="Per task completed.")
    order_chances: int = strawberry.field(description="Per order.")
    order_fen_per_chance: int = strawberry.field(description="One more per this much of an order; 0: none.")
    streak_days: list[int] = strawberry.field(description="Check-in streak days that pay chances ...")
    streak_chances: list[int] = strawberry.field(description="... this many, day by day.")
    valid_days: int
    poster_title: str
    poster_image_url: str | None
    poster_link: str = strawberry.field(description="An https URL or a path; the invitation code is appended.")

    @classmethod
    def of(cls, rule: chances.ChanceRule) -> "ChanceRule":
        return cls(share_chances=rule.share_chances, share_daily_cap=rule.share_daily_cap,
                   task_chances=rule.task_chances, order_chances=rule.order_chances,
                   order_fen_per_chance=rule.order_fen_per_chance,
                   streak_days=[d for d, _ in rule.streak_chances], streak_chances=[n for _, n in rule.streak_chances],
                   valid_days=rule.valid_days, poster_title=rule.poster_title,
                   poster_image_url=rule.poster_image_url, poster_link=rule.poster_link)


@strawberry.input(description="Left out, a field takes a new brand's default.")
class UpdateChanceRuleInput:
    share_chances: int = 1
    share_daily_cap: int = 3
    task_chances: int = 0
    order_chances: int = 0
    order_fen_per_chance: int = 0
    streak_days: list[int] = strawberry.field(default_factory=list)
    streak_chances: list[int] = strawberry.field(default_factory=list)
    valid_days: int = 7
    poster_title: str = "邀请你一起来赚积分"
    poster_image_url: str | None = None
    poster_link: str = "/h5/?invite="

    def to_domain(self) -> chances.ChanceRule:
        if len(self.streak_days) != len(self.streak_chances):
            raise InvalidInput("streakDays and streakChances pair up", ("streakChances",))
        return chances.ChanceRule(self.share_chances, self.share_daily_cap, self.task_chances, self.order_chances,
                                  self.order_fen_per_chance,
                                  tuple(sorted(zip(self.streak_days[:11], self.streak_chances[:11]))),
                                  self.valid_days, self.poster_title.strip(), self.poster_image_url, self.poster_link)


@strawberry.type
class UpdateChanceRulePayload:
    rule: ChanceRule | None
    user_errors: list[UserError]


@strawberry.type
class ChanceQueries:
    @strawberry.field(description="What earns lottery chances (public: pages show it).")
    async def chance_rule(self, info: Info) -> ChanceRule:
        return ChanceRule.of(await info.context.services.chances.rule())


@strawberry.type
class ChanceMutations:
    @strawberry.mutation(description="Member: you shared your poster; it pays lottery chances while the day's "
                                     "cap allows, and returns the poster to show.")
    async def share_poster(self, info: Info, input: SharePosterInput) -> SharePosterPayload:
        member = require_member(info)
        service = info.context.services.chances
        try:
            outcome = await service.share(member.actor, member.member_id, chances.ShareChannel(input.channel.value),
                                          input.idempotency_key)
        except DomainError as error:
            return SharePosterPayload(member=None, poster=None, chances_granted=0, user_errors=user_errors(error))
        share = await service.share_of(outcome.subject_id) if outcome.subject_id else None
        rule = await service.rule()
        code = invitation_code(member.member_id)
        poster = Poster(title=rule.poster_title, image_url=rule.poster_image_url, invitation_code=code,
                        deep_link=rule.poster_link + code)
        return SharePosterPayload(member=fresh_member(info, member.member_id), poster=poster if share else None,
                                  chances_granted=share.chances if share else 0,
                                  user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Staff: give a member lottery chances (audited).")
    async def grant_lottery_chances(self, info: Info, input: GrantLotteryChancesInput) -> GrantLotteryChancesPayload:
        staff = require_staff(info)
        try:
            member_id = await resolve_member_id(info, input.member_id)
            outcome = await info.context.services.chances.grant(staff.actor, member_id, input.count, input.memo,
                                                                input.idempotency_key)
        except DomainError as error:
            return GrantLotteryChancesPayload(member=None, user_errors=user_errors(error))
        return GrantLotteryChancesPayload(member=fresh_member(info, member_id), user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Staff: what earns lottery chances, how long they live, the poster.")
    async def update_chance_rule(self, info: Info, input: UpdateChanceRuleInput) -> UpdateChanceRulePayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.chances.update_rule(staff.actor, input.to_domain())
        except DomainError as error:
            return UpdateChanceRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateChanceRulePayload(rule=ChanceRule.of(rule), user_errors=[])
