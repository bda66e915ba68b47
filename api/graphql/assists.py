"""Friend assists (助力): start a campaign, share it, friends help, thresholds pay the owner."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import (BadUserInput, UserError, may_see_private, require_member, require_signed_in,
                                require_staff, user_errors)
from api.graphql.members import MemberType, fresh_member
from api.graphql.relay import Node, int_key, to_global_id
from domain import assists
from domain.errors import DomainError, InvalidInput


@strawberry.type
class AssistThreshold:
    helpers: int
    points: int


@strawberry.type(name="AssistCampaign", description="Share its id; each friend's help counts once.")
class AssistCampaignType(Node):
    _campaign: strawberry.Private[assists.AssistCampaign]
    _rule: strawberry.Private[assists.AssistRule]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("AssistCampaign", self._campaign.id)

    @strawberry.field
    def title(self) -> str:
        return self._campaign.title

    @strawberry.field
    def helpers(self) -> int:
        return self._campaign.helpers

    @strawberry.field(description="Helpers needed for the last reward.")
    def target(self) -> int:
        return self._thresholds()[-1][0]

    @strawberry.field
    def thresholds(self) -> list[AssistThreshold]:
        return [AssistThreshold(helpers=n, points=p) for n, p in self._thresholds()]

    def _thresholds(self) -> tuple[tuple[int, int], ...]:
        return self._campaign.thresholds or self._rule.thresholds

    @strawberry.field(description="Points the campaign has paid its owner: the owner and staff only (friends who "
                                  "help see the campaign, not its earnings).")
    def points_paid(self, info: Info) -> int | None:
        return self._campaign.points_paid if may_see_private(info, self._campaign.owner_id) else None

    @strawberry.field
    def started_at(self) -> datetime:
        return self._campaign.started_at

    @strawberry.field
    def ends_at(self) -> datetime:
        return self._campaign.ends_at

    @strawberry.field
    def running(self, info: Info) -> bool:
        return self._campaign.running(info.context.services.clock.now())


async def campaign_type(info: Info, campaign: assists.AssistCampaign | None) -> AssistCampaignType | None:
    if campaign is None:
        return None
    return AssistCampaignType(_campaign=campaign, _rule=await info.context.services.assists.rule())


def campaign_key(global_id: str) -> int:
    try:
        return int_key(global_id, "AssistCampaign")
    except BadUserInput as error:
        raise InvalidInput(error.message, ("campaignId",)) from None


@strawberry.input
class StartAssistCampaignInput:
    title: str | None = strawberry.field(default=None, description="What friends see, e.g. 帮我助力领积分.")


@strawberry.input
class AssistInput:
    campaign_id: strawberry.ID
    idempotency_key: str


@strawberry.type
class AssistCampaignPayload:
    campaign: AssistCampaignType | None
    member: MemberType | None = strawberry.field(description="You, the caller (the owner's points move).")
    user_errors: list[UserError]


@strawberry.input
class AssistThresholdInput:
    helpers: int
    points: int


@strawberry.input
class UpdateAssistRuleInput:
    thresholds: list[AssistThresholdInput]
    duration_hours: int
    one_help_per_device: bool = True
    helper_daily_cap: int = 5
    max_helpers: int = 20


@strawberry.type(description="How assist campaigns pay; running campaigns keep the thresholds they started with.")
class AssistRule:
    thresholds: list[AssistThreshold]
    duration_hours: int
    one_help_per_device: bool = strawberry.field(description="One help per device or phone per campaign, the "
                                                             "owner's own included (DEVICE_ALREADY_COUNTED).")
    helper_daily_cap: int = strawberry.field(description="Campaigns one member may help per local day; 0: no cap.")
    max_helpers: int = strawberry.field(description="Helpers one campaign takes (ASSIST_FULL after); 0: no cap.")


@strawberry.type
class UpdateAssistRulePayload:
    rule: AssistRule | None
    user_errors: list[UserError]


def rule_type(rule: assists.AssistRule) -> AssistRule:
    return AssistRule(thresholds=[AssistThreshold(helpers=n, points=p) for n, p in rule.thresholds],
                      duration_hours=rule.duration_hours, one_help_per_device=rule.one_help_per_device,
                      helper_daily_cap=rule.helper_daily_cap, max_helpers=rule.max_helpers)


@strawberry.type
class AssistQueries:
    @strawberry.field
    async def assist_rule(self, info: Info) -> AssistRule:
        return rule_type(await info.context.services.assists.rule())

    @strawberry.field(description="A campaign a friend shared (any signed-in caller).")
    async def assist_campaign(self, info: Info, id: strawberry.ID) -> AssistCampaignType | None:
        require_signed_in(info)
        return await campaign_type(info, await info.context.services.assists.get(int_key(id, "AssistCampaign")))


@strawberry.type
class AssistMutations:
    @strawberry.mutation(description="Staff: the helper thresholds and points, and how long a campaign runs.")
    async def update_assist_rule(self, info: Info, input: UpdateAssistRuleInput) -> UpdateAssistRulePayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.assists.update_rule(staff.actor, assists.AssistRule(
                tuple((t.helpers, t.points) for t in input.thresholds[:11]), input.duration_hours,
                input.one_help_per_device, input.helper_daily_cap, input.max_helpers))
        except DomainError as error:
            return UpdateAssistRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateAssistRulePayload(rule=rule_type(rule), user_errors=[])

    @strawberry.mutation(description="Member: start an assist campaign (one running at a time).")
    async def start_assist_campaign(self, info: Info, input: StartAssistCampaignInput) -> AssistCampaignPayload:
        member = require_member(info)
        try:
            campaign = await info.context.services.assists.start(member.member_id, input.title)
        except DomainError as error:
            return AssistCampaignPayload(campaign=None, member=None, user_errors=user_errors(error))
        return AssistCampaignPayload(campaign=await campaign_type(info, campaign),
                                     member=fresh_member(info, member.member_id), user_errors=[])

    @strawberry.mutation(description="Member: help a friend's campaign (once each, never your own).")
    async def assist(self, info: Info, input: AssistInput) -> AssistCampaignPayload:
        member = require_member(info)
        service = info.context.services.assists
        try:
            campaign_id = campaign_key(input.campaign_id)
            outcome = await service.assist(member.actor, member.member_id, campaign_id, input.idempotency_key,
                                           member.signals)
        except DomainError as error:
            return AssistCampaignPayload(campaign=None, member=None, user_errors=user_errors(error))
        return AssistCampaignPayload(campaign=await campaign_type(info, await service.get(campaign_id)),
                                     member=fresh_member(info, member.member_id),
                                     user_errors=user_errors(outcome.error))
