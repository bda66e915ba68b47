"""Tier perks the system delivers (会员权益): a monthly coupon grant, free shipping, early access.

- **Monthly coupons** (``MONTHLY_COUPON``): the sweep (the server's scheduler once a brand day, or
  `jifen expire` whenever run) gives every member holding the tier its coupons once per brand month, into the coupon wallet
  (a zero-point redemption of the coupon item, source ``PERK``, stock untouched: a perk is not a
  sale). A grant is kept per (member, perk, month) and written with its coupons in one
  transaction, so sweeps running at once or again grant once. A member reaching the tier
  mid-month gets this month's coupons at the next day's sweep; one who leaves it keeps what was
  granted. Daily, because finding who lacks a grant reads every member of the tier.
- **Free shipping** (``FREE_SHIPPING``): ``useFreeShipping`` pays an order's shipping (up to the
  perk's ``max_fen``) with no points, ``quantity`` orders per brand month, kept as a ``SHIPPING``
  deduction of 0 points (one per order, as any deduction); refunding it gives the use back.
- **Early access** (``EARLY_ACCESS``): flash sales, and member-day shelves, open ``minutes``
  earlier for the tier (domain/flash_sales.py, domain/campaigns.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from domain.brand import brand_settings, first_run_today
from domain.coupons import CouponSource
from domain.deductions import ORDER_ID_PATTERN, Deduction, DeductionPurpose
from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.mall import ItemKind, MallItem, Redemption, record_redemption
from domain.notifications import NotificationDraft, notify
from domain.progress import Progress, unreported
from domain.tiers import Perk, PerkKind, Tier, tier_table

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.configuration import Actor
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

GRANT_BATCH = 500
PERK_GRANTED = "PERK_GRANTED"
LAST_GRANT_KEY = "perks:last-grant"
MAX_SHIPPING_FEN = 100_000


@dataclass(frozen=True)
class PerkGrant:
    member_id: int
    perk_key: str
    period: str  # the brand month, "2026-03"
    granted_at: datetime


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


async def check_benefits(uow: "UnitOfWork", benefits: tuple[Perk, ...]) -> None:
    """A monthly coupon names a coupon item of the mall."""
    for perk in benefits:
        if perk.kind is PerkKind.MONTHLY_COUPON:
            item = await uow.mall.get(perk.item_id)
            if item is None or item.kind is not ItemKind.COUPON:
                raise InvalidInput("a monthly coupon names a COUPON item of the mall", ("benefits", "itemId"))


def granted_notice(member_id: int, perk: Perk, item: MallItem, period: str) -> NotificationDraft:
    return NotificationDraft(member_id, PERK_GRANTED, "会员权益已到账",
                             f"本月会员权益「{perk.name}」：{item.name} x{perk.quantity} 已放入券包",
                             f"perk:{perk.key}:{period}")


class PerkService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def check(self, benefits: tuple[Perk, ...]) -> None:
        await self.transactions.read(lambda uow: check_benefits(uow, benefits))

    # --- monthly coupons ------------------------------------------------------------------------

    async def grant_monthly_if_due(self) -> int | None:
        """Once a brand day (the scheduler asks every sweep)."""
        now = self.clock.now()

        claimed = await self.transactions.write(lambda uow: first_run_today(uow, LAST_GRANT_KEY, now))
        return await self.grant_monthly() if claimed else None

    async def grant_monthly(self, progress: Progress = unreported) -> int:
        """Grant this month's coupons to every member of a tier with a monthly coupon who lacks them;
        returns how many members were granted one."""
        now = self.clock.now()
        period = month_of((await self.transactions.read(brand_settings)).local_date(now))
        granted = 0
        for tier in (await self.transactions.read(tier_table)).tiers:
            for perk in tier.benefits:
                if perk.kind is PerkKind.MONTHLY_COUPON:
                    granted += await self._grant(tier, perk, period, now, progress)
        return granted

    async def _grant(self, tier: Tier, perk: Perk, period: str, now: datetime, progress: Progress) -> int:
        granted, after = 0, 0
        while True:
            async def work(uow: "UnitOfWork") -> tuple[int, int | None]:
                candidates = await uow.perks.ungranted(tier.level, perk.key, period, after, GRANT_BATCH)
                if not candidates:
                    return 0, None
                item = await uow.mall.get(perk.item_id)
                if item is None or item.kind is not ItemKind.COUPON:  # the item changed kind since: grant nothing
                    return 0, None
                fresh = await uow.perks.add_grants([PerkGrant(m, perk.key, period, now) for m in candidates])
                for member_id in fresh:
                    redemption = Redemption(member_id, item.id, item.name, perk.quantity, 0, now,
                                            note=f"会员权益 {perk.name} {period}")
                    await record_redemption(uow, redemption, item, now, CouponSource.PERK)
                await notify(uow, [granted_notice(m, perk, item, period) for m in fresh], now)
                return len(fresh), candidates[-1]

            count, after = await self.transactions.write(work)
            granted += count
            progress(granted, None)
            if after is None:
                return granted

    # --- free shipping --------------------------------------------------------------------------

    async def free_shipping(self, member: "Actor", member_id: int, order_id: str, shipping_fen: int,
                            key: str) -> "PointsOutcome":
        if not ORDER_ID_PATTERN.match(order_id):
            raise InvalidInput("orderId must be 1-64 letters, digits or _.:-", ("orderId",))
        if not 1 <= shipping_fen <= MAX_SHIPPING_FEN:
            raise InvalidInput(f"shippingFen must be 1-{MAX_SHIPPING_FEN}", ("shippingFen",))

        async def rule(ctx: "OperationContext") -> Deduction:
            perk = (await tier_table(ctx.uow)).get(ctx.member.tier_level).perk(PerkKind.FREE_SHIPPING)
            if perk is None:
                raise Refusal(ErrorCode.PERK_NOT_HELD, "your tier has no free shipping", ())
            if await self._shipping_used(ctx.uow, ctx.member.id, ctx.now) >= perk.quantity:
                raise Refusal(ErrorCode.LIMIT_REACHED, f"free shipping covers {perk.quantity} orders a month", ())
            if await ctx.uow.deductions.get(ctx.member.id, order_id, DeductionPurpose.SHIPPING) is not None:
                raise Refusal(ErrorCode.DUPLICATE_ORDER, f"order {order_id}'s shipping is paid already", ("orderId",))
            covered = min(shipping_fen, perk.max_fen)
            deduction = Deduction(ctx.member.id, order_id, DeductionPurpose.SHIPPING, shipping_fen, 0, covered,
                                  ctx.now)
            await ctx.uow.deductions.add(deduction)
            return deduction

        return await self.operations.run(actor=member, key=key, operation="useFreeShipping", member_id=member_id,
                                         payload={"orderId": order_id, "shippingFen": shipping_fen}, rule=rule)

    async def free_shipping_left(self, member_id: int) -> int:
        """Orders whose shipping the member's tier still covers this month (0 without the perk)."""
        async def work(uow: "UnitOfWork") -> int:
            member = await uow.members.get(member_id)
            perk = (await tier_table(uow)).get(member.tier_level).perk(PerkKind.FREE_SHIPPING)
            if perk is None:
                return 0
            return max(0, perk.quantity - await self._shipping_used(uow, member_id, self.clock.now()))

        return await self.transactions.read(work)

    @staticmethod
    async def _shipping_used(uow: "UnitOfWork", member_id: int, now: datetime) -> int:
        brand = await brand_settings(uow)
        month_start = brand.start_of_local_day(brand.local_date(now).replace(day=1))
        return await uow.deductions.free_shipping_count(member_id, month_start)
