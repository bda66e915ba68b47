"""Invitations (邀请有礼): a new member accepts a friend's code and both are rewarded.

Rules, decided here:
- A member accepts at most one invitation, only while new (joined within ``new_member_days``),
  never their own code, and never one that would close a cycle (A invited B, so B's code
  cannot later bring in A, however long the chain).
- The invitee gets ``invitee_points``; the inviter gets the points of the tier their count of
  accepted friends has reached (demo: 1st-3rd friend 10 each, 4th-5th 15, from the 6th 20).
- Credits are ``INVITE`` entries, both members locked in id order.

Farming controls (each a brand rule that can be switched off):
- The inviter is paid when the invitee becomes real (``QUALIFIED``: a paid order, or
  ``qualify_check_ins`` check-ins, within ``qualify_days`` of accepting); until then the reward is
  ``PENDING``, and if the invitee never qualifies it ``LAPSED``. The sweep pays the qualified.
- ``first_order_points``: the inviter earns more when the invitee's first order is released.
- Per-inviter daily and lifetime caps: past them the inviter is not paid (``NOT_PAID``).
- One reward per device or phone: an invitee whose device or phone an earlier invitation
  already rewarded earns nothing, nor does their inviter.
- An invitee sharing a device or phone with their inviter or with another of the inviter's
  invitees, or an inviter gaining more than ``velocity_per_hour`` invitees in an hour, holds both
  rewards for staff review (``HELD``): approved, they are paid as the rules would have; rejected,
  nobody is.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain import configuration
from domain.badges import INVITED_BADGE_AT, BadgeCode, award
from domain.configuration import SYSTEM, Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import LedgerReason
from domain.members import NO_SIGNALS, MemberSignals

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.members import Member
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

INVITATIONS_KEY = "invitations"
MAX_CHAIN = 1000
# Codes are the member id run through an invertible multiplication modulo 2**40 and written in
# Crockford base32: short, case-insensitive, free of look-alike letters, with no lookup table.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MODULUS = 2 ** 40
SCRAMBLE = 0x9E3779B97  # odd, hence invertible modulo 2**40
UNSCRAMBLE = pow(SCRAMBLE, -1, MODULUS)
CODE_LENGTH = 8


def invitation_code(member_id: int) -> str:
    value = member_id * SCRAMBLE % MODULUS
    return "".join(ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))


def member_id_of(code: str) -> int | None:
    code = code.strip().upper().replace("O", "0").replace("I", "1").replace("L", "1")
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    value = 0
    for char in code:
        value = value << 5 | ALPHABET.index(char)
    member_id = value * UNSCRAMBLE % MODULUS
    return member_id if 0 < member_id < 2 ** 39 else None


class RewardWhen(str, Enum):
    AT_ONCE = "AT_ONCE"  # the inviter is paid as the friend accepts
    QUALIFIED = "QUALIFIED"  # ... when the friend becomes real: a paid order or enough check-ins


class InviterReward(str, Enum):
    PAID = "PAID"
    PENDING = "PENDING"  # waiting for the friend to qualify
    HELD = "HELD"  # held for staff review: neither side is paid yet
    REJECTED = "REJECTED"  # staff rejected it: nobody is paid
    LAPSED = "LAPSED"  # the friend did not qualify in time
    NOT_PAID = "NOT_PAID"  # a cap was reached, or the device or phone was rewarded before (see the note)


@dataclass(frozen=True)
class InvitationRule:
    invitee_points: int = 20
    # (from the nth accepted friend, points for each such friend), ascending
    inviter_tiers: tuple[tuple[int, int], ...] = ((1, 10), (4, 15), (6, 20))
    new_member_days: int = 7
    inviter_reward_when: RewardWhen = RewardWhen.QUALIFIED
    qualify_check_ins: int = 3
    qualify_days: int = 14
    first_order_points: int = 0
    inviter_daily_cap: int = 10  # 0: none
    inviter_lifetime_cap: int = 200  # 0: none
    velocity_per_hour: int = 5  # 0: off
    one_reward_per_device: bool = True
    hold_shared_devices: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.invitee_points <= 100_000:
            raise InvalidInput("invitee points must be 0-100000", ("inviteePoints",))
        froms = [n for n, _ in self.inviter_tiers]
        if not froms or froms[0] != 1 or froms != sorted(set(froms)) or len(froms) > 10:
            raise InvalidInput("inviter tiers start at friend 1 and rise, at most 10", ("inviterTiers",))
        if any(not 0 <= points <= 100_000 for _, points in self.inviter_tiers):
            raise InvalidInput("inviter points must be 0-100000", ("inviterTiers",))
        bounds = (("newMemberDays", self.new_member_days, 1, 365), ("qualifyCheckIns", self.qualify_check_ins, 1, 30),
                  ("qualifyDays", self.qualify_days, 1, 90), ("firstOrderPoints", self.first_order_points, 0, 100_000),
                  ("inviterDailyCap", self.inviter_daily_cap, 0, 1000),
                  ("inviterLifetimeCap", self.inviter_lifetime_cap, 0, 100_000),
                  ("velocityPerHour", self.velocity_per_hour, 0, 1000))
        for name, value, low, high in bounds:
            if not low <= value <= high:
                raise InvalidInput(f"{name} must be {low}-{high}", (name,))

    def inviter_points(self, nth_friend: int) -> int:
        return [points for start, points in self.inviter_tiers if start <= nth_friend][-1]

    def to_record(self) -> dict:
        return {"inviteePoints": self.invitee_points, "inviterTiers": [list(t) for t in self.inviter_tiers],
                "newMemberDays": self.new_member_days, "inviterRewardWhen": self.inviter_reward_when.value,
                "qualifyCheckIns": self.qualify_check_ins, "qualifyDays": self.qualify_days,
                "firstOrderPoints": self.first_order_points, "inviterDailyCap": self.inviter_daily_cap,
                "inviterLifetimeCap": self.inviter_lifetime_cap, "velocityPerHour": self.velocity_per_hour,
                "oneRewardPerDevice": self.one_reward_per_device, "holdSharedDevices": self.hold_shared_devices}

    @classmethod
    def from_record(cls, r: dict) -> "InvitationRule":
        # A rule kept before the farming controls keeps paying as it did: at once, no caps, no checks.
        return cls(r["inviteePoints"], tuple(tuple(t) for t in r["inviterTiers"]), r["newMemberDays"],
                   RewardWhen(r.get("inviterRewardWhen", "AT_ONCE")), r.get("qualifyCheckIns", 3),
                   r.get("qualifyDays", 14), r.get("firstOrderPoints", 0), r.get("inviterDailyCap", 0),
                   r.get("inviterLifetimeCap", 0), r.get("velocityPerHour", 0), r.get("oneRewardPerDevice", False),
                   r.get("holdSharedDevices", False))


async def invitation_rule(uow: "UnitOfWork") -> InvitationRule:
    return await configuration.load(uow, INVITATIONS_KEY, InvitationRule.from_record, InvitationRule())


@dataclass(frozen=True)
class Invitation:
    inviter_id: int
    invitee_id: int
    accepted_at: datetime
    inviter_points: int
    invitee_points: int
    inviter_reward: InviterReward = InviterReward.PAID
    invitee_paid: bool = True
    note: str | None = None
    first_order_paid: bool = False
    resolved_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"invitation:{self.invitee_id}"


class ReviewStatus(str, Enum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass
class RiskReview:
    """A reward held back for staff: for an invitation, ``member_id`` is the inviter, ``subject_id`` the invitee."""

    kind: str
    member_id: int
    subject_id: int
    reason: str
    created_at: datetime
    status: ReviewStatus = ReviewStatus.OPEN
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class Verdict:
    """What the controls decided for one acceptance."""

    inviter_reward: InviterReward
    invitee_paid: bool
    note: str | None = None

    @property
    def held(self) -> bool:
        return self.inviter_reward is InviterReward.HELD


def held_for_review(reason: str) -> Refusal:
    return Refusal(ErrorCode.HELD_FOR_REVIEW, f"the invitation rewards wait for staff review: {reason}",
                   ("invitationCode",))


class InvitationService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def accept(self, invitee: Actor, invitee_id: int, code: str, key: str,
                     signals: MemberSignals = NO_SIGNALS) -> "PointsOutcome":
        """``signals``: what the brand's server said about the invitee's device and phone (token claims)."""
        inviter_id = member_id_of(code)
        if inviter_id is None or await self.transactions.read(lambda uow: uow.members.get(inviter_id)) is None:
            raise NotFound("no such invitation code", ("invitationCode",))
        if inviter_id == invitee_id:
            raise Refusal(ErrorCode.SELF_INVITATION, "you cannot accept your own invitation", ("invitationCode",))

        async def rule(ctx: "OperationContext") -> Invitation:
            inviter = ctx.others[inviter_id]
            ctx.member.note_signals(signals)
            rule_ = await invitation_rule(ctx.uow)
            await self._check(ctx, inviter_id, rule_)
            nth = await ctx.uow.invitations.count_by_inviter(inviter_id) + 1
            verdict = await self._verdict(ctx, inviter, rule_)
            invitation = Invitation(inviter_id, ctx.member.id, ctx.now, rule_.inviter_points(nth),
                                    rule_.invitee_points, verdict.inviter_reward, verdict.invitee_paid, verdict.note)
            if verdict.invitee_paid:
                self._pay_invitee(ctx.member, inviter, invitation, ctx, invitee.label)
            if verdict.inviter_reward is InviterReward.PAID:
                self._pay_inviter(inviter, ctx.member, invitation, ctx, invitee.label)
            await ctx.uow.invitations.add(invitation)
            if verdict.held:
                await ctx.uow.invitations.add_review(RiskReview("INVITATION", inviter_id, ctx.member.id,
                                                                verdict.note or "", ctx.now))
            if nth == INVITED_BADGE_AT:
                await award(ctx.uow, inviter, BadgeCode.INVITED_5, ctx.now)
            return invitation

        return await self.operations.run(actor=invitee, key=key, operation="acceptInvitation", member_id=invitee_id,
                                         payload={"code": code.strip().upper()}, rule=rule, also_lock=(inviter_id,))

    @staticmethod
    async def _verdict(ctx: "OperationContext", inviter: "Member", rule: InvitationRule) -> Verdict:
        invitee, uow = ctx.member, ctx.uow
        if rule.hold_shared_devices and (invitee.shares_a_device_with(inviter) or await uow.invitations.shares_a_device(
                inviter.id, invitee.device_id, invitee.phone_hash)):
            return Verdict(InviterReward.HELD, False, "邀请的好友与邀请人或其他好友共用设备或手机号")
        if rule.velocity_per_hour and \
                await uow.invitations.count_since(inviter.id, ctx.now - timedelta(hours=1)) >= rule.velocity_per_hour:
            return Verdict(InviterReward.HELD, False, f"一小时内邀请超过 {rule.velocity_per_hour} 位好友")
        if rule.one_reward_per_device and await uow.invitations.device_rewarded(invitee.device_id, invitee.phone_hash):
            return Verdict(InviterReward.NOT_PAID, False, "该设备或手机号已领过邀请奖励")
        if rule.inviter_lifetime_cap and \
                await uow.invitations.rewarded_count(inviter.id, None) >= rule.inviter_lifetime_cap:
            return Verdict(InviterReward.NOT_PAID, True, f"邀请奖励已达上限 {rule.inviter_lifetime_cap} 位")
        today = ctx.brand.start_of_day_of(ctx.now)
        if rule.inviter_daily_cap and await uow.invitations.rewarded_count(inviter.id, today) >= rule.inviter_daily_cap:
            return Verdict(InviterReward.NOT_PAID, True, f"今日邀请奖励已达上限 {rule.inviter_daily_cap} 位")
        if rule.inviter_reward_when is RewardWhen.QUALIFIED:
            return Verdict(InviterReward.PENDING, True, f"好友下单或 {rule.qualify_days} 天内签到 "
                                                        f"{rule.qualify_check_ins} 次后发放")
        return Verdict(InviterReward.PAID, True)

    @staticmethod
    def _pay_invitee(invitee: "Member", inviter: "Member", invitation: Invitation, ctx: "OperationContext",
                     actor: str) -> None:
        if invitation.invitee_points:
            invitee.account.credit(invitation.invitee_points, LedgerReason.INVITE, ctx.now,
                                   ctx.brand.expiry_for(ctx.now), actor, f"接受 {inviter.nickname} 的邀请",
                                   invitation.ref)

    @staticmethod
    def _pay_inviter(inviter: "Member", invitee: "Member", invitation: Invitation, ctx: "OperationContext",
                     actor: str) -> None:
        if invitation.inviter_points:
            inviter.account.credit(invitation.inviter_points, LedgerReason.INVITE, ctx.now,
                                   ctx.brand.expiry_for(ctx.now), actor, f"邀请好友 {invitee.nickname}", invitation.ref)

    @staticmethod
    async def _check(ctx: "OperationContext", inviter_id: int, rule: InvitationRule) -> None:
        invitee = ctx.member
        await ctx.uow.invitations.serialize_acceptances()
        if await ctx.uow.invitations.inviter_of(invitee.id) is not None:
            raise Refusal(ErrorCode.ALREADY_INVITED, "you have already accepted an invitation", ("invitationCode",))
        if ctx.now - invitee.created_at > timedelta(days=rule.new_member_days):
            raise Refusal(ErrorCode.NOT_A_NEW_MEMBER,
                          f"invitations count only in a member's first {rule.new_member_days} days",
                          ("invitationCode",))
        ancestor, steps = inviter_id, 0
        while (ancestor := await ctx.uow.invitations.inviter_of(ancestor)) is not None and steps < MAX_CHAIN:
            if ancestor == invitee.id:
                raise Refusal(ErrorCode.INVITATION_CYCLE, "this invitation would close a cycle", ("invitationCode",))
            steps += 1

    async def of_invitee(self, invitee_id: int) -> Invitation | None:
        return await self.transactions.read(lambda uow: uow.invitations.get(invitee_id))

    async def of_inviter(self, inviter_id: int, limit: int) -> list[Invitation]:
        return await self.transactions.read(lambda uow: uow.invitations.of_inviter(inviter_id, limit))

    async def invited_count(self, member_id: int) -> int:
        return await self.transactions.read(lambda uow: uow.invitations.count_by_inviter(member_id))

    async def update_rule(self, staff: Actor, rule: InvitationRule) -> InvitationRule:
        async def work(uow: "UnitOfWork") -> InvitationRule:
            await configuration.store(uow, INVITATIONS_KEY, rule.to_record(), staff, self.clock.now())
            return rule

        return await self.transactions.write(work)

    # --- what the sweep settles --------------------------------------------------------------

    async def settle_rewards(self) -> int:
        """Pay the inviters whose friends became real, lapse those who did not in time, and pay the
        first-order rewards now due; returns how many rewards were paid."""
        now = self.clock.now()
        rule = await self.transactions.read(invitation_rule)
        paid = 0
        for invitation in await self.transactions.read(
                lambda uow: uow.invitations.qualified(now, rule.qualify_check_ins, rule.qualify_days)):
            paid += await self._pay_later(invitation, "qualified", InviterReward.PENDING)
        await self.transactions.write(lambda uow: uow.invitations.lapse(now - timedelta(days=rule.qualify_days), now))
        if rule.first_order_points:
            for invitation in await self.transactions.read(lambda uow: uow.invitations.first_order_due()):
                paid += await self._pay_later(invitation, "first-order", None, rule.first_order_points)
        return paid

    async def _pay_later(self, invitation: Invitation, what: str, expected: InviterReward | None,
                         points: int | None = None) -> int:
        """One reward, once: the key is the invitation's and the reward's, and the rule re-reads the
        invitation under the inviter's lock."""
        async def rule(ctx: "OperationContext") -> None:
            current = await ctx.uow.invitations.get(invitation.invitee_id)
            if expected is not None and current.inviter_reward is not expected:
                return
            invitee = await ctx.uow.members.get(current.invitee_id)
            if points is None:
                self._pay_inviter(ctx.member, invitee, current, ctx, SYSTEM.label)
                await ctx.uow.invitations.update(replace(current, inviter_reward=InviterReward.PAID,
                                                         resolved_at=ctx.now))
            elif not current.first_order_paid:
                ctx.member.account.credit(points, LedgerReason.INVITE, ctx.now, ctx.brand.expiry_for(ctx.now),
                                          SYSTEM.label, f"好友 {invitee.nickname} 首单", current.ref)
                await ctx.uow.invitations.update(replace(current, first_order_paid=True))

        outcome = await self.operations.run(actor=SYSTEM, key=f"invitation-{what}:{invitation.invitee_id}",
                                            operation="invitationReward", member_id=invitation.inviter_id,
                                            payload={"invitee": invitation.invitee_id, "what": what}, rule=rule)
        return int(bool(outcome.entries) and not outcome.replayed)

    # --- staff review -------------------------------------------------------------------------

    async def review(self, review_id: int) -> RiskReview | None:
        return await self.transactions.read(lambda uow: uow.invitations.review(review_id))

    async def reviews(self, status: ReviewStatus | None, before_id: int | None, limit: int) -> list[RiskReview]:
        return await self.transactions.read(lambda uow: uow.invitations.reviews(status, before_id, limit))

    async def approve(self, staff: Actor, review_id: int, key: str) -> "PointsOutcome":
        """Pay what the rules would have paid had the invitation not been held: the friend's reward now,
        the inviter's now or when the friend qualifies."""
        review = await self._open_review(review_id)

        async def rule(ctx: "OperationContext") -> RiskReview:
            locked, invitation = await self._resolve(ctx, review_id, ReviewStatus.APPROVED, staff)
            inviter, rule_ = ctx.others[invitation.inviter_id], await invitation_rule(ctx.uow)
            self._pay_invitee(ctx.member, inviter, invitation, ctx, staff.label)
            reward = InviterReward.PENDING if rule_.inviter_reward_when is RewardWhen.QUALIFIED else InviterReward.PAID
            if reward is InviterReward.PAID:
                self._pay_inviter(inviter, ctx.member, invitation, ctx, staff.label)
            await ctx.uow.invitations.update(replace(invitation, inviter_reward=reward, invitee_paid=True,
                                                     note="人工审核通过", resolved_at=ctx.now))
            return locked

        return await self.operations.run(actor=staff, key=key, operation="approveRiskReview",
                                         member_id=review.subject_id, payload={"review": review_id}, rule=rule,
                                         also_lock=(review.member_id,))

    async def reject(self, staff: Actor, review_id: int, key: str) -> "PointsOutcome":
        review = await self._open_review(review_id)

        async def rule(ctx: "OperationContext") -> RiskReview:
            locked, invitation = await self._resolve(ctx, review_id, ReviewStatus.REJECTED, staff)
            await ctx.uow.invitations.update(replace(invitation, inviter_reward=InviterReward.REJECTED,
                                                     note="人工审核未通过", resolved_at=ctx.now))
            return locked

        return await self.operations.run(actor=staff, key=key, operation="rejectRiskReview",
                                         member_id=review.subject_id, payload={"review": review_id}, rule=rule,
                                         also_lock=(review.member_id,))

    async def _open_review(self, review_id: int) -> RiskReview:
        review = await self.review(review_id)
        if review is None:
            raise NotFound("no such risk review", ("reviewId",))
        return review

    @staticmethod
    async def _resolve(ctx: "OperationContext", review_id: int, status: ReviewStatus,
                       staff: Actor) -> tuple[RiskReview, Invitation]:
        review = await ctx.uow.invitations.review(review_id)  # re-read under both members' locks
        if review.status is not ReviewStatus.OPEN:
            raise Refusal(ErrorCode.INVALID_TRANSITION, f"this review is already {review.status.value.lower()}",
                          ("reviewId",))
        review.status, review.resolved_at, review.resolved_by = status, ctx.now, staff.label
        await ctx.uow.invitations.update_review(review)
        await ctx.uow.audit.record(staff.label, f"risk_review.{status.value.lower()}", str(review_id),
                                   {"kind": review.kind, "reason": review.reason}, ctx.now)
        return review, await ctx.uow.invitations.get(review.subject_id)
