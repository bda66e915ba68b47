"""Invitations (邀请有礼): accepting a friend's code, what each side earns and when, the brand's
farming controls, and staff review of rewards held back."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_member, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member, member_type, resolve_member_id
from api.graphql.relay import Connection, Node, check_first, connection, decode_cursor, int_key, to_global_id
from domain import invitations
from domain.errors import DomainError
from domain.members import MemberSignals

RewardWhen = strawberry.enum(invitations.RewardWhen, description=(
    "When the inviter is paid: AT_ONCE as the friend accepts, or QUALIFIED once the friend becomes real "
    "(a paid order, or enough check-ins, within qualifyDays)."))
InviterReward = strawberry.enum(invitations.InviterReward, description=(
    "PAID; PENDING (REWARD_PENDING: waits for the friend to qualify); HELD (HELD_FOR_REVIEW: neither side is "
    "paid until staff decide); REJECTED by staff; LAPSED (the friend did not qualify in time); NOT_PAID (a cap, "
    "or a device or phone rewarded before: see note)."))
ReviewStatus = strawberry.enum(invitations.ReviewStatus)


@strawberry.type(description="How invitations pay, and the controls against farming them.")
class InvitationRule:
    invitee_points: int
    inviter_tiers: list["InviterTier"]
    new_member_days: int
    inviter_reward_when: RewardWhen  # type: ignore[valid-type]
    qualify_check_ins: int = strawberry.field(description="Check-ins within qualifyDays that make a friend real.")
    qualify_days: int
    first_order_points: int = strawberry.field(description="More for the inviter when the friend's first order "
                                                           "is released; 0: none.")
    inviter_daily_cap: int = strawberry.field(description="Friends an inviter is paid for per local day; 0: no cap.")
    inviter_lifetime_cap: int = strawberry.field(description="... and ever; 0: no cap.")
    velocity_per_hour: int = strawberry.field(description="More friends than this in an hour hold the rewards for "
                                                          "review; 0: off.")
    one_reward_per_device: bool = strawberry.field(description="A device or phone earns one invitation reward.")
    hold_shared_devices: bool = strawberry.field(description="A friend sharing a device or phone with the inviter "
                                                             "or another of their friends holds the rewards for "
                                                             "review.")


@strawberry.type
class InviterTier:
    from_friend: int
    points: int


@strawberry.input
class InviterTierInput:
    from_friend: int
    points: int


@strawberry.input(description="Left out, a control takes its protective default.")
class UpdateInvitationRuleInput:
    invitee_points: int
    inviter_tiers: list[InviterTierInput]
    new_member_days: int
    inviter_reward_when: RewardWhen = invitations.RewardWhen.QUALIFIED  # type: ignore[valid-type]
    qualify_check_ins: int = 3
    qualify_days: int = 14
    first_order_points: int = 0
    inviter_daily_cap: int = 10
    inviter_lifetime_cap: int = 200
    velocity_per_hour: int = 5
    one_reward_per_device: bool = True
    hold_shared_devices: bool = True


@strawberry.type
class UpdateInvitationRulePayload:
    rule: InvitationRule | None
    user_errors: list[UserError]


def invitation_rule_type(rule: invitations.InvitationRule) -> InvitationRule:
    return InvitationRule(
        invitee_points=rule.invitee_points, new_member_days=rule.new_member_days,
        inviter_tiers=[InviterTier(from_friend=n, points=p) for n, p in rule.inviter_tiers],
        inviter_reward_when=rule.inviter_reward_when, qualify_check_ins=rule.qualify_check_ins,
        qualify_days=rule.qualify_days, first_order_points=rule.first_order_points,
        inviter_daily_cap=rule.inviter_daily_cap, inviter_lifetime_cap=rule.inviter_lifetime_cap,
        velocity_per_hour=rule.velocity_per_hour, one_reward_per_device=rule.one_reward_per_device,
        hold_shared_devices=rule.hold_shared_devices)


@strawberry.type(name="Invitation", description="A friend who accepted an invitation, and what it paid.")
class InvitationType:
    _invitation: strawberry.Private[invitations.Invitation]
    friend_nickname: str
    accepted_at: datetime
    inviter_reward: InviterReward  # type: ignore[valid-type]
    inviter_points: int = strawberry.field(description="What the inviter earns (or earned) for this friend.")
    invitee_points: int
    invitee_paid: bool
    note: str | None = strawberry.field(description="Why a reward waits or was not paid.")


async def invitation_types(info: Info, found: list[invitations.Invitation]) -> list[InvitationType]:
    friends = await info.context.loaders.members.load_many([i.invitee_id for i in found])
    return [InvitationType(_invitation=i, friend_nickname=f.nickname if f else "", accepted_at=i.accepted_at,
                           inviter_reward=i.inviter_reward, inviter_points=i.inviter_points,
                           invitee_points=i.invitee_points, invitee_paid=i.invitee_paid, note=i.note)
            for i, f in zip(found, friends)]


@strawberry.input
class AcceptInvitationInput:
    invitation_code: str
    idempotency_key: str


@strawberry.type
class AcceptInvitationPayload:
    member: MemberType | None
    entry: LedgerEntry | None = strawberry.field(description="The invitee's INVITE entry.")
    invitation: InvitationType | None = strawberry.field(description="The invitation as accepted (with a "
                                                                     "HELD_FOR_REVIEW error when held).")
    user_errors: list[UserError]


@strawberry.type(name="RiskReview", description="Rewards held back for staff to approve or reject.")
class RiskReviewType(Node):
    _review: strawberry.Private[invitations.RiskReview]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("RiskReview", self._review.id)

    @strawberry.field(description="INVITATION.")
    def kind(self) -> str:
        return self._review.kind

    @strawberry.field
    def reason(self) -> str:
        return self._review.reason

    @strawberry.field
    def status(self) -> ReviewStatus:  # type: ignore[valid-type]
        return self._review.status

    @strawberry.field
    def created_at(self) -> datetime:
        return self._review.created_at

    @strawberry.field
    def resolved_at(self) -> datetime | None:
        return self._review.resolved_at

    @strawberry.field(description="The staff user who decided.")
    def resolved_by(self) -> str | None:
        return self._review.resolved_by

    @strawberry.field(description="The inviter.")
    async def member(self, info: Info) -> MemberType | None:
        return member_type(await info.context.loaders.members.load(self._review.member_id))

    @strawberry.field(description="The friend whose invitation is held.")
    async def friend(self, info: Info) -> MemberType | None:
        return member_type(await info.context.loaders.members.load(self._review.subject_id))


@strawberry.input
class ResolveRiskReviewInput:
    review_id: strawberry.ID
    idempotency_key: str


@strawberry.type
class ResolveRiskReviewPayload:
    review: RiskReviewType | None
    user_errors: list[UserError]


@strawberry.input(description="What the brand's server knows of a member's device and phone (hashed).")
class SetMemberSignalsInput:
    member_id: strawberry.ID
    device_id: str | None = None
    phone_hash: str | None = None


@strawberry.type
class SetMemberSignalsPayload:
    member: MemberType | None
    user_errors: list[UserError]


@strawberry.type
class InvitationQueries:
    @strawberry.field
    async def invitation_rule(self, info: Info) -> InvitationRule:
        return invitation_rule_type(await info.context.services.transactions.read(invitations.invitation_rule))

    @strawberry.field(description="Staff: rewards held for review, newest first.")
    async def risk_reviews(self, info: Info, first: int, after: str | None = None,
                           status: ReviewStatus | None = None  # type: ignore[valid-type]
                           ) -> Connection[RiskReviewType]:
        require_staff(info)
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.invitations.reviews(
            invitations.ReviewStatus(status.value) if status else None, before, first + 1)
        return connection([RiskReviewType(_review=r) for r in found[:first]], [r.id for r in found], first,
                          before is not None)


@strawberry.type
class InvitationMutations:
    @strawberry.mutation(description="Member: accept a friend's invitation code (only while new; what each side "
                                     "earns, and when, is the brand's invitation rule).")
    async def accept_invitation(self, info: Info, input: AcceptInvitationInput) -> AcceptInvitationPayload:
        member = require_member(info)
        service = info.context.services.invitations
        try:
            outcome = await service.accept(member.actor, member.member_id, input.invitation_code,
                                           input.idempotency_key, member.signals)
        except DomainError as error:
            return AcceptInvitationPayload(member=None, entry=None, invitation=None, user_errors=user_errors(error))
        accepted = None if outcome.error else await service.of_invitee(member.member_id)
        errors = user_errors(outcome.error)
        if accepted is not None and accepted.inviter_reward is invitations.InviterReward.HELD:
            errors = user_errors(invitations.held_for_review(accepted.note or ""))
        return AcceptInvitationPayload(
            member=fresh_member(info, member.member_id), entry=entry_type(outcome.entry),
            invitation=(await invitation_types(info, [accepted]))[0] if accepted else None, user_errors=errors)

    @strawberry.mutation(description="Staff: what invitees and inviters earn, when, and the farming controls.")
    async def update_invitation_rule(self, info: Info, input: UpdateInvitationRuleInput
                                     ) -> UpdateInvitationRulePayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.invitations.update_rule(staff.actor, invitations.InvitationRule(
                input.invitee_points, tuple((t.from_friend, t.points) for t in input.inviter_tiers[:11]),
                input.new_member_days, invitations.RewardWhen(input.inviter_reward_when.value),
                input.qualify_check_ins, input.qualify_days, input.first_order_points, input.inviter_daily_cap,
                input.inviter_lifetime_cap, input.velocity_per_hour, input.one_reward_per_device,
                input.hold_shared_devices))
        except DomainError as error:
            return UpdateInvitationRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateInvitationRulePayload(rule=invitation_rule_type(rule), user_errors=[])

    @strawberry.mutation(description="Staff: the held rewards are real: pay them as the rules would have.")
    async def approve_risk_review(self, info: Info, input: ResolveRiskReviewInput) -> ResolveRiskReviewPayload:
        return await resolve(info, input, approve=True)

    @strawberry.mutation(description="Staff: the held rewards are farmed: nobody is paid.")
    async def reject_risk_review(self, info: Info, input: ResolveRiskReviewInput) -> ResolveRiskReviewPayload:
        return await resolve(info, input, approve=False)

    @strawberry.mutation(description="Staff or the brand's server (a staff token): a member's device id and "
                                     "hashed phone, for the farming controls.")
    async def set_member_signals(self, info: Info, input: SetMemberSignalsInput) -> SetMemberSignalsPayload:
        staff = require_staff(info)
        try:
            member_id = await resolve_member_id(info, input.member_id)
            await info.context.services.members.set_signals(staff.actor, member_id,
                                                            MemberSignals(input.device_id, input.phone_hash))
        except DomainError as error:
            return SetMemberSignalsPayload(member=None, user_errors=user_errors(error))
        return SetMemberSignalsPayload(member=fresh_member(info, member_id), user_errors=[])


async def resolve(info: Info, input: ResolveRiskReviewInput, *, approve: bool) -> ResolveRiskReviewPayload:
    staff = require_staff(info)
    service = info.context.services.invitations
    try:
        review_id = int_key(input.review_id, "RiskReview")
        act = service.approve if approve else service.reject
        outcome = await act(staff.actor, review_id, input.idempotency_key)
    except DomainError as error:
        return ResolveRiskReviewPayload(review=None, user_errors=user_errors(error))
    found = await service.review(review_id)
    return ResolveRiskReviewPayload(review=RiskReviewType(_review=found) if found else None,
                                    user_errors=user_errors(outcome.error))
