"""Flash sales (秒杀): an item at a points price inside a time window, with its own stock and limit.

A flash-sale redemption locks the member's row, then the sale's row (the hot row everyone
queues on), so a stampede of attempts sells exactly the sale's stock and no more. Before the
window opens the answer is ``FLASH_SALE_NOT_STARTED``, after it closes ``FLASH_SALE_ENDED``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.admission import FLASH_SALE, Admission, StockGate, scope_of
from domain.badges import BadgeCode, award
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.idempotency import validate_key
from domain.ledger import LedgerReason, unaffordable
from domain.mall import (MAX_PRICE, MAX_QUANTITY, MAX_STOCK, Redemption, StandingNow, item_rules_refusal,
                         record_redemption, standing_of)
from domain.points import PointsOutcome
from domain.realtime import Activity, ActivityKind
from domain.text import checked_text
from domain.tiers import early_access_of

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations
    from domain.ports import Transactions, UnitOfWork


@dataclass
class FlashSale:
    item_id: int
    title: str
    points_price: int
    stock: int
    per_member_limit: int
    starts_at: datetime
    ends_at: datetime
    id: int | None = None

    def validate(self) -> "FlashSale":
        self.title = checked_text(self.title, "title", max_length=60)
        if not 1 <= self.points_price <= MAX_PRICE:
            raise InvalidInput(f"pointsPrice must be 1-{MAX_PRICE}", ("pointsPrice",))
        if not 1 <= self.stock <= MAX_STOCK:
            raise InvalidInput(f"stock must be 1-{MAX_STOCK}", ("stock",))
        if not 0 <= self.per_member_limit <= 100:
            raise InvalidInput("perMemberLimit must be 0 (none) to 100", ("perMemberLimit",))
        if not timedelta(0) < self.ends_at - self.starts_at <= timedelta(days=31):
            raise InvalidInput("a flash sale ends after it starts and lasts at most 31 days", ("endsAt",))
        return self

    def running(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def window_refusal(self, now: datetime, early: timedelta = timedelta(0)) -> Refusal | None:
        """``early``: how much sooner the member's tier may enter (the EARLY_ACCESS perk)."""
        if now + early < self.starts_at:
            return Refusal(ErrorCode.FLASH_SALE_NOT_STARTED, f"{self.title} starts at {self.starts_at.isoformat()}",
                           ("flashSaleId",))
        if now >= self.ends_at:
            return Refusal(ErrorCode.FLASH_SALE_ENDED, f"{self.title} has ended", ("flashSaleId",))
        return None

    def sold_out(self) -> Refusal:
        return Refusal(ErrorCode.SOLD_OUT, f"{self.title} is sold out", ("quantity",))


class FlashSaleService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock",
                 admission: Admission | None = None) -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock
        # None: every attempt goes to the transaction (no gate for this database)
        self.gate = StockGate(admission, FLASH_SALE, self._read_sale) if admission is not None else None

    async def create(self, staff: Actor, sale: FlashSale) -> FlashSale:
        sale.validate()

        async def work(uow: "UnitOfWork") -> FlashSale:
            if await uow.mall.get(sale.item_id) is None:
                raise NotFound("no such item", ("itemId",))
            await uow.flash_sales.add(sale)
            await uow.audit.record(staff.label, "flash_sale.create", str(sale.id),
                                   {"item": sale.item_id, "pointsPrice": sale.points_price, "stock": sale.stock,
                                    "startsAt": sale.starts_at.isoformat(), "endsAt": sale.ends_at.isoformat()},
                                   self.clock.now())
            return sale

        return await self.transactions.write(work)

    async def update(self, staff: Actor, sale_id: int, changes: dict) -> FlashSale:
        """Change a sale (restock, reprice, move or end its window) under its lock, so no redemption
        sees half a change. Redemptions already made keep their price. The gate counts again."""
        async def work(uow: "UnitOfWork") -> FlashSale:
            sale = await uow.flash_sales.lock(sale_id)
            if sale is None:
                raise NotFound("no such flash sale", ("flashSaleId",))
            updated = replace(sale, **changes).validate()
            await uow.flash_sales.update(updated)
            record = {name: value.isoformat() if isinstance(value, datetime) else value
                      for name, value in changes.items()}
            await uow.audit.record(staff.label, "flash_sale.update", str(sale_id), record, self.clock.now())
            uow.restocked.append(scope_of(FLASH_SALE, sale_id))
            return updated

        return await self.transactions.write(work)

    async def redeem(self, member: Actor, member_id: int, sale_id: int, quantity: int, key: str,
                     standing: StandingNow | None = None) -> "PointsOutcome":
        """``standing``: the member's points as this request reads them, to refuse what they cannot
        pay for without a write."""
        if not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidInput(f"quantity must be 1-{MAX_QUANTITY}", ("quantity",))
        validate_key(key)  # a malformed key is refused as such, whatever the sale's state
        if self.gate is None:
            refused = await self._refused_without_a_write(member, member_id, sale_id, quantity, key, standing)
            return refused or await self._sell(member, member_id, sale_id, quantity, key)
        return await self._through_the_gate(member, member_id, sale_id, quantity, key, standing)

    async def _through_the_gate(self, member: Actor, member_id: int, sale_id: int, quantity: int, key: str,
                                standing: StandingNow | None) -> "PointsOutcome":
        """Refuse from what the gate knows (the window, the tickets left, the member's points), and send
        on only those holding a ticket; a replayed key always goes on, to its first answer."""
        async def refusal_before_count(sale: FlashSale) -> Refusal | None:
            return await self._window_refusal(sale, standing)

        async def refusal_in_stock(sale: FlashSale) -> Refusal | None:
            return unaffordable((await standing_of(standing)).available, sale.points_price * quantity)

        return await self.gate.attempt(
            sale_id, quantity, refusal_before_count, FlashSale.sold_out, refusal_in_stock,
            lambda refusal: self.operations.refused_without_a_write(member, member_id, key, refusal),
            lambda: self._sell(member, member_id, sale_id, quantity, key))

    async def _read_sale(self, sale_id: int) -> tuple[FlashSale, int] | None:
        sale = await self.transactions.read(lambda uow: uow.flash_sales.get(sale_id))
        return None if sale is None else (sale, sale.stock)

    async def _sell(self, member: Actor, member_id: int, sale_id: int, quantity: int, key: str) -> "PointsOutcome":
        async def rule(ctx: "OperationContext") -> Redemption:
            sale = await ctx.uow.flash_sales.lock(sale_id)  # after the member's lock, like every item lock
            if sale is None:
                raise NotFound("no such flash sale", ("flashSaleId",))
            # The gate's order: window, stock, points, then what only the database knows (the limits),
            # the item's own rules first: a sale is another door to the item, not a way round its gate.
            item = None
            early = await early_access_of(ctx.uow, ctx.member.tier_level)
            refusal = sale.window_refusal(ctx.now, early) or (sale.sold_out() if sale.stock < quantity else None) \
                or unaffordable(ctx.member.account.available, sale.points_price * quantity) \
                or await item_rules_refusal(ctx, item := await ctx.uow.mall.get(sale.item_id), quantity)
            if refusal is not None:
                raise refusal
            if sale.per_member_limit:
                taken = await ctx.uow.flash_sales.redeemed_quantity(ctx.member.id, sale.id)
                if taken + quantity > sale.per_member_limit:
                    raise Refusal(ErrorCode.LIMIT_REACHED, f"at most {sale.per_member_limit} per member",
                                  ("quantity",))
            points = sale.points_price * quantity
            ctx.member.account.debit(points, LedgerReason.REDEMPTION, ctx.now, member.label,
                                     f"秒杀 {sale.title} x{quantity}", f"flash:{sale.id}")
            sale.stock -= quantity
            await ctx.uow.flash_sales.update_stock(sale)
            redemption = Redemption(ctx.member.id, sale.item_id, sale.title, quantity, points, ctx.now,
                                    flash_sale_id=sale.id)
            await record_redemption(ctx.uow, redemption, item, ctx.now)
            ctx.uow.activity.append(Activity.of(ActivityKind.REDEMPTION, ctx.member.nickname,
                                                f"秒杀到 {sale.title}", ctx.now))
            await award(ctx.uow, ctx.member, BadgeCode.FIRST_REDEMPTION, ctx.now)
            return redemption

        return await self.operations.run(actor=member, key=key, operation="redeemFlashSale", member_id=member_id,
                                         payload={"sale": sale_id, "quantity": quantity}, rule=rule)

    async def _refused_without_a_write(self, member: Actor, member_id: int, sale_id: int, quantity: int,
                                       key: str, standing: StandingNow | None) -> "PointsOutcome | None":
        """Without a gate: the same refusals from reads, without a lock (most of a stampede arrives after
        the stock is gone). Nothing is kept of such an answer, so a sale staff restock or extend takes
        the next attempt as usual; and only a key never used is answered so, so a replay still gets its
        original answer. Each read takes its own connection, one after the other: a read waiting for a
        second connection while holding one could wait for ever when a rush holds them all."""
        sale = await self.transactions.read(lambda uow: uow.flash_sales.get(sale_id))
        if sale is None:
            return None
        refusal = await self._window_refusal(sale, standing) or (sale.sold_out() if sale.stock < quantity else None)
        if refusal is None:
            refusal = unaffordable((await standing_of(standing)).available, sale.points_price * quantity)
        if refusal is None:
            return None
        return await self.operations.refused_without_a_write(member, member_id, key, refusal)

    async def _window_refusal(self, sale: FlashSale, standing: StandingNow | None) -> Refusal | None:
        """The window as the member's tier sees it; the member is read only before the sale opens."""
        now = self.clock.now()
        if now >= sale.starts_at:
            return sale.window_refusal(now)
        tier_level = (await standing_of(standing)).tier_level
        return sale.window_refusal(now, await self.transactions.read(lambda uow: early_access_of(uow, tier_level)))

    async def current(self) -> list[FlashSale]:
        """Sales running now or starting within a week, soonest first."""
        now = self.clock.now()
        return await self.transactions.read(lambda uow: uow.flash_sales.between(now, now + timedelta(days=7)))
