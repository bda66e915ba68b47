"""Group redemption (拼团): friends redeem one item together at a lower points price.

A member starts a group on an item that offers one (``MallItem.groupSize`` > 0); friends join it.
Each starter or joiner's points are held until the group fills. The join that fills it settles
every participant's hold into a ``REDEMPTION`` entry, takes the stock and gives each participant
a redemption, all in one transaction. A group that does not fill by its deadline is expired:
every hold carries the deadline as its timeout, so the sweep (or each member's next read or
write) releases it, and the group reads as ``EXPIRED`` from that instant.

The filling join must hold every participant's lock. It locks the members it read beforehand,
in id order like every multi-member operation, then the group's row; if someone joined in
between, it starts over with the fresh list. Nothing else resolves a group hold before the
deadline, so each hold is settled or released exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain.admission import GROUP_SLOTS, Admission, StockGate, scope_of
from domain.badges import BadgeCode, award
from domain.configuration import Actor
from domain.errors import Conflict, ErrorCode, NotFound, Refusal
from domain.idempotency import validate_key
from domain.ledger import LedgerReason
from domain.mall import MallItem, MallService, Redemption, record_redemption
from domain.realtime import Activity, ActivityKind

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions

HOLD_REF_PREFIX = "group:"
MAX_ATTEMPTS = 8


class GroupStatus(str, Enum):
    OPEN = "OPEN"
    FILLED = "FILLED"
    EXPIRED = "EXPIRED"


@dataclass
class GroupRedemption:
    item_id: int
    item_name: str
    owner_id: int
    size: int
    points_price: int
    created_at: datetime
    deadline: datetime
    filled: bool = False
    filled_at: datetime | None = None
    member_ids: list[int] = field(default_factory=list)  # in the order they joined, the owner first
    id: int | None = None

    def status(self, now: datetime) -> GroupStatus:
        if self.filled:
            return GroupStatus.FILLED
        return GroupStatus.OPEN if now < self.deadline else GroupStatus.EXPIRED

    @property
    def hold_ref(self) -> str:
        return f"{HOLD_REF_PREFIX}{self.id}"

    @property
    def places_left(self) -> int:
        return 0 if self.filled else self.size - len(self.member_ids)

    def refusal_to_join(self, member_id: int, now: datetime) -> Refusal | None:
        """What stops this member joining, as far as this state of the group tells (a member once in a
        group stays in it, a filled group stays filled)."""
        status = self.status(now)
        if status is not GroupStatus.OPEN:
            return Refusal(ErrorCode.GROUP_CLOSED, f"the group is {status.value.lower()}", ("groupId",))
        if member_id in self.member_ids:
            return Refusal(ErrorCode.ALREADY_JOINED, "you are in this group already", ("groupId",))
        return None

    def full(self) -> Refusal:
        return Refusal(ErrorCode.GROUP_CLOSED, "the group is filled", ("groupId",))


class GroupRedemptionService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock",
                 admission: Admission | None = None) -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock
        # The places left in a group are its stock: a rush of friends for the last place meets the gate.
        # None: every join goes to the transaction (no gate for this database).
        self.gate = StockGate(admission, GROUP_SLOTS, self._read_group) if admission is not None else None

    async def start(self, member: Actor, member_id: int, item_id: int, key: str) -> "PointsOutcome":
        async def rule(ctx: "OperationContext") -> GroupRedemption:
            item = await _group_item(ctx, item_id)
            if item.stock < item.group_size:
                raise Refusal(ErrorCode.SOLD_OUT, f"{item.name} has {item.stock} left", ("itemId",))
            group = GroupRedemption(item.id, item.name, ctx.member.id, item.group_size, item.group_points_price,
                                    ctx.now, ctx.now + timedelta(hours=item.group_hours), member_ids=[ctx.member.id])
            _check_points(ctx, group, "itemId")
            await ctx.uow.groups.add(group)
            await ctx.uow.groups.add_member(group.id, ctx.member.id, ctx.now)
            ctx.member.account.place_hold(group.points_price, LedgerReason.REDEMPTION, ctx.now, group.deadline,
                                          group.hold_ref)
            return group

        return await self.operations.run(actor=member, key=key, operation="startGroupRedemption",
                                         member_id=member_id, payload={"item": item_id}, rule=rule)

    async def join(self, member: Actor, member_id: int, group_id: int, key: str) -> "PointsOutcome":
        validate_key(key)
        if self.gate is None:
            return await self._join_fresh(member, member_id, group_id, key)
        # Only the group's own refusals are answered at the gate: the transaction checks the item
        # (shelf, tier, limit) before the member's points, and the gate does not know the item.
        async def refusal_before_count(group: GroupRedemption) -> Refusal | None:
            return group.refusal_to_join(member_id, self.clock.now())

        async def no_further_refusal(group: GroupRedemption) -> None:
            return None

        return await self.gate.attempt(
            group_id, 1, refusal_before_count, GroupRedemption.full, no_further_refusal,
            lambda refusal: self.operations.refused_without_a_write(member, member_id, key, refusal),
            lambda: self._join_fresh(member, member_id, group_id, key))

    async def _read_group(self, group_id: int) -> tuple[GroupRedemption, int] | None:
        group = await self.get(group_id)
        return None if group is None else (group, group.places_left)

    async def _join_fresh(self, member: Actor, member_id: int, group_id: int, key: str) -> "PointsOutcome":
        for _ in range(MAX_ATTEMPTS):
            group = await self.get(group_id)
            if group is None:
                raise NotFound("no such group", ("groupId",))
            try:
                return await self._join(member, member_id, group_id, tuple(group.member_ids), key)
            except Conflict:
                continue  # someone joined between our read and our locks: lock the fresh list
        raise Refusal(ErrorCode.CONFLICT, "the group is changing fast; try again", ("groupId",))

    async def _join(self, member: Actor, member_id: int, group_id: int, participants: tuple[int, ...],
                    key: str) -> "PointsOutcome":
        async def rule(ctx: "OperationContext") -> GroupRedemption:
            group = await ctx.uow.groups.lock(group_id)  # after the members' locks
            refusal = group.refusal_to_join(ctx.member.id, ctx.now)
            if refusal is not None:
                raise refusal
            if not set(group.member_ids) <= set(ctx.others):
                raise Conflict()
            item = await _group_item(ctx, group.item_id)
            _check_points(ctx, group, "groupId")
            fills = len(group.member_ids) + 1 == group.size
            if fills and item.stock < group.size:
                raise Refusal(ErrorCode.SOLD_OUT, f"{item.name} has {item.stock} left", ("groupId",))
            await ctx.uow.groups.add_member(group.id, ctx.member.id, ctx.now)
            group.member_ids.append(ctx.member.id)
            if fills:
                await _fill(ctx, member, group, item)
            else:
                ctx.member.account.place_hold(group.points_price, LedgerReason.REDEMPTION, ctx.now, group.deadline,
                                              group.hold_ref)
            return group

        return await self.operations.run(actor=member, key=key, operation="joinGroupRedemption",
                                         member_id=member_id, payload={"group": group_id}, rule=rule,
                                         also_lock=tuple(p for p in participants if p != member_id))

    async def get(self, group_id: int) -> GroupRedemption | None:
        return await self.transactions.read(lambda uow: uow.groups.get(group_id))

    async def open_for_item(self, item_id: int, limit: int) -> list[GroupRedemption]:
        now = self.clock.now()
        return await self.transactions.read(lambda uow: uow.groups.open_for_item(item_id, now, limit))


async def _group_item(ctx: "OperationContext", item_id: int) -> MallItem:
    item = await ctx.uow.mall.lock_item(item_id)
    if item is None:
        raise NotFound("no such item", ("itemId",))
    if not item.group_size:
        raise Refusal(ErrorCode.NOT_A_GROUP_ITEM, f"{item.name} has no group offer", ("itemId",))
    await MallService.check_redeemable(ctx, item, 1)  # shelf, tier and limit; the group's stock comes later
    return item


def _check_points(ctx: "OperationContext", group: GroupRedemption, field: str) -> None:
    if group.points_price > ctx.member.account.available:
        raise Refusal(ErrorCode.INSUFFICIENT_POINTS, f"joining holds {group.points_price} points", (field,))


async def _fill(ctx: "OperationContext", member: Actor, group: GroupRedemption, item: MallItem) -> None:
    """The last joiner pays outright; everyone else's hold settles; each gets a redemption."""
    memo = f"拼团 {group.item_name}"
    ctx.member.account.debit(group.points_price, LedgerReason.REDEMPTION, ctx.now, member.label, memo,
                             group.hold_ref)
    for other_id in group.member_ids[:-1]:
        other = ctx.others[other_id]
        hold = await ctx.uow.ledger.hold_by_ref(other_id, group.hold_ref)
        other.account.settle_hold(hold, ctx.now, member.label, memo)
    for participant in group.member_ids:
        await record_redemption(ctx.uow, Redemption(participant, item.id, item.name, 1, group.points_price,
                                                    ctx.now, note=memo), item, ctx.now)
    item.stock -= group.size
    await ctx.uow.mall.update(item)
    group.filled, group.filled_at = True, ctx.now
    await ctx.uow.groups.update(group)
    ctx.uow.restocked.append(scope_of(GROUP_SLOTS, group.id))  # filled: the gate's facts say so at once
    for participant in (ctx.member, *ctx.others.values()):
        await award(ctx.uow, participant, BadgeCode.FIRST_REDEMPTION, ctx.now)
    owner = ctx.others.get(group.owner_id, ctx.member)
    ctx.uow.activity.append(Activity.of(ActivityKind.GROUP_FILLED, owner.nickname,
                                        f"{group.size} 人拼团成功 {group.item_name}", ctx.now))
