"""Invitations (邀请有礼): a new member accepts a friend's code and both are rewarded.

Rules, decided here:
- A member accepts at most one invitation, only while new (joined within ``new_member_days``),
  never their own code, and never one that would close a cycle (A invited B, so B's code
  cannot later bring in A, however long the chain).
- The invitee gets ``invitee_points``; the inviter gets the points of the tier their count of
  accepted friends has reached (demo: 1st-3rd friend 10 each, 4th-5th 15, from the 6th 20).
- Both credits are ``INVITE`` entries written in one transaction, both members locked in id order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain import configuration
from domain.badges import INVITED_BADGE_AT, BadgeCode, award
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import LedgerReason

if TYPE_CHECKING:
    from domain.clock import Clock
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


@dataclass(frozen=True)
class InvitationRule:
    invitee_points: int = 20
    # (from the nth accepted friend, points for each such friend), ascending
    inviter_tiers: tuple[tuple[int, int], ...] = ((1, 10), (4, 15), (6, 20))
    new_member_days: int = 7

    def __post_init__(self) -> None:
        if not 0 <= self.invitee_points <= 100_000:
            raise InvalidInput("invitee points must be 0-100000", ("inviteePoints",))
        froms = [n for n, _ in self.inviter_tiers]
        if not froms or froms[0] != 1 or froms != sorted(set(froms)) or len(froms) > 10:
            raise InvalidInput("inviter tiers start at friend 1 and rise, at most 10", ("inviterTiers",))
        if any(not 0 <= points <= 100_000 for _, points in self.inviter_tiers):
            raise InvalidInput("inviter points must be 0-100000", ("inviterTiers",))
        if not 1 <= self.new_member_days <= 365:
            raise InvalidInput("the new-member window is 1-365 days", ("newMemberDays",))

    def inviter_points(self, nth_friend: int) -> int:
        return [points for start, points in self.inviter_tiers if start <= nth_friend][-1]

    def to_record(self) -> dict:
        return {"inviteePoints": self.invitee_points, "inviterTiers": [list(t) for t in self.inviter_tiers],
                "newMemberDays": self.new_member_days}

    @classmethod
    def from_record(cls, r: dict) -> "InvitationRule":
        return cls(r["inviteePoints"], tuple(tuple(t) for t in r["inviterTiers"]), r["newMemberDays"])


async def invitation_rule(uow: "UnitOfWork") -> InvitationRule:
    return await configuration.load(uow, INVITATIONS_KEY, InvitationRule.from_record, InvitationRule())


@dataclass(frozen=True)
class Invitation:
    inviter_id: int
    invitee_id: int
    accepted_at: datetime
    inviter_points: int
    invitee_points: int


class InvitationService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def accept(self, invitee: Actor, invitee_id: int, code: str, key: str) -> "PointsOutcome":
        inviter_id = member_id_of(code)
        if inviter_id is None or await self.transactions.read(lambda uow: uow.members.get(inviter_id)) is None:
            raise NotFound("no such invitation code", ("invitationCode",))
        if inviter_id == invitee_id:
            raise Refusal(ErrorCode.SELF_INVITATION, "you cannot accept your own invitation", ("invitationCode",))

        async def rule(ctx: "OperationContext") -> None:
            inviter = ctx.others[inviter_id]
            rule_ = await invitation_rule(ctx.uow)
            await self._check(ctx, inviter_id, rule_)
            nth = await ctx.uow.invitations.count_by_inviter(inviter_id) + 1
            inviter_points, invitee_points = rule_.inviter_points(nth), rule_.invitee_points
            expires_at = ctx.brand.expiry_for(ctx.now)
            ref = f"invitation:{inviter.external_id}>{ctx.member.external_id}"
            if invitee_points:
                ctx.member.account.credit(invitee_points, LedgerReason.INVITE, ctx.now, expires_at, invitee.label,
                                          f"接受 {inviter.nickname} 的邀请", ref)
            if inviter_points:
                inviter.account.credit(inviter_points, LedgerReason.INVITE, ctx.now, expires_at, invitee.label,
                                       f"邀请好友 {ctx.member.nickname} (第 {nth} 位)", ref)
            await ctx.uow.invitations.add(Invitation(inviter_id, ctx.member.id, ctx.now, inviter_points,
                                                     invitee_points))
            if nth == INVITED_BADGE_AT:
                await award(ctx.uow, inviter, BadgeCode.INVITED_5, ctx.now)

        return await self.operations.run(actor=invitee, key=key, operation="acceptInvitation", member_id=invitee_id,
                                         payload={"code": code.strip().upper()}, rule=rule, also_lock=(inviter_id,))

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

    async def invited_count(self, member_id: int) -> int:
        return await self.transactions.read(lambda uow: uow.invitations.count_by_inviter(member_id))

    async def update_rule(self, staff: Actor, rule: InvitationRule) -> InvitationRule:
        async def work(uow: "UnitOfWork") -> InvitationRule:
            await configuration.store(uow, INVITATIONS_KEY, rule.to_record(), staff, self.clock.now())
            return rule

        return await self.transactions.write(work)
