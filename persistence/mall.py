"""The mall catalogue and redemptions. Item rows are locked for every redemption (after the member's)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import bindparam, func, insert, select, update

from domain.coupons import CouponTerms
from domain.day_figures import FigureChange, FigureKind
from domain.mall import ItemKind, MallItem, MallSort, Redemption, RedemptionStatus
from persistence.direct_statements import direct
from persistence.members import upsert
from persistence.tables import coupon_codes, item_views, mall_items, redemptions

ITEM_FIELDS = ("name", "points_price", "cash_price_fen", "stock", "per_member_limit", "min_tier_level", "on_shelf",
               "category", "description", "image_url", "position", "created_at", "group_size", "group_points_price",
               "group_hours", "member_day")
MAX_SHELF = 100  # a member day's shelf is a page, not a catalogue
ORDERINGS = {
    MallSort.FEATURED: (mall_items.c.position, mall_items.c.id),
    MallSort.POINTS_ASC: (mall_items.c.points_price, mall_items.c.id),
    MallSort.POINTS_DESC: (mall_items.c.points_price.desc(), mall_items.c.id),
    MallSort.NEWEST: (mall_items.c.id.desc(),),
}

# Built once: every redemption locks its item and saves its stock.
LOCK_ITEM = direct(select(mall_items).where(mall_items.c.id == bindparam("item_id")).with_for_update())
SAVE_ITEM = direct(update(mall_items).where(mall_items.c.id == bindparam("item_key")))
INSERT_REDEMPTION = direct(insert(redemptions).returning(redemptions.c.id))  # the columns are the parameters'


def item_from_row(row) -> MallItem:
    return MallItem(row.name, ItemKind(row.kind), row.points_price, row.stock, row.cash_price_fen,
                    row.per_member_limit, row.min_tier_level, row.on_shelf, row.category, row.description,
                    row.image_url, row.position, row.created_at, row.id, row.group_size, row.group_points_price,
                    row.group_hours, CouponTerms(row.coupon_value_fen, row.coupon_min_spend_fen, row.coupon_valid_days,
                                                  split_ids(row.coupon_store_ids)), row.member_day,
                    split_ids(row.tags))


def split_ids(joined: str) -> tuple[str, ...]:
    """Store ids kept comma-separated (a store id holds no comma)."""
    return tuple(joined.split(",")) if joined else ()


def redemption_from_row(row) -> Redemption:
    return Redemption(row.member_id, row.item_id, row.item_name, row.quantity, row.points, row.created_at,
                      RedemptionStatus(row.status), row.id, row.code, row.note, row.updated_at, row.flash_sale_id)


class SqlMallRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.figure_changes: list[FigureChange] = []  # to the items' day figures (domain/day_figures.py)

    async def add_view(self, item_id: int, member_id: int, day: date, at: datetime) -> bool:
        statement = upsert(self.connection.dialect.name)(item_views).values(
            item_id=item_id, member_id=member_id, day=day, viewed_at=at)
        result = await self.connection.execute(statement.on_conflict_do_nothing(
            index_elements=["item_id", "member_id", "day"]).returning(item_views.c.item_id))
        counted = result.first() is not None
        if counted:
            self.figure_changes.append(FigureChange(FigureKind.ITEM, str(item_id), member_id, day, views=1))
        return counted

    def _values(self, item: MallItem) -> dict:
        terms = item.coupon_terms
        return {**{name: getattr(item, name) for name in ITEM_FIELDS}, "kind": item.kind.value,
                "coupon_value_fen": terms.value_fen, "coupon_min_spend_fen": terms.min_spend_fen,
                "coupon_valid_days": terms.valid_days, "coupon_store_ids": ",".join(terms.store_ids),
                "tags": ",".join(item.tags)}

    async def add(self, item: MallItem) -> None:
        result = await self.connection.execute(
            insert(mall_items).values(**self._values(item)).returning(mall_items.c.id))
        item.id = result.scalar_one()

    async def get(self, item_id: int) -> MallItem | None:
        row = (await self.connection.execute(select(mall_items).where(mall_items.c.id == item_id))).first()
        return item_from_row(row) if row else None

    async def get_many(self, item_ids: Sequence[int]) -> list[MallItem]:
        rows = await self.connection.execute(select(mall_items).where(mall_items.c.id.in_(item_ids)))
        return [item_from_row(row) for row in rows]

    async def lock_item(self, item_id: int) -> MallItem | None:
        row = (await self.connection.execute(LOCK_ITEM, {"item_id": item_id})).first()
        return item_from_row(row) if row else None

    async def update(self, item: MallItem) -> None:
        await self.connection.write_behind(SAVE_ITEM, {**self._values(item), "item_key": item.id})

    async def member_day_items(self, campaign_code: str) -> list[MallItem]:
        rows = await self.connection.execute(select(mall_items).where(
            mall_items.c.member_day == campaign_code, mall_items.c.on_shelf.is_(True))
            .order_by(*ORDERINGS[MallSort.FEATURED]).limit(MAX_SHELF))
        return [item_from_row(row) for row in rows]

    async def page(self, category, sort, include_off_shelf, offset, limit) -> list[MallItem]:
        query = select(mall_items)
        if category is not None:
            query = query.where(mall_items.c.category == category)
        if not include_off_shelf:
            query = query.where(mall_items.c.on_shelf.is_(True))
        rows = await self.connection.execute(query.order_by(*ORDERINGS[sort]).offset(offset).limit(limit))
        return [item_from_row(row) for row in rows]

    async def add_redemption(self, redemption: Redemption) -> None:
        result = await self.connection.execute(INSERT_REDEMPTION, {
            "member_id": redemption.member_id, "item_id": redemption.item_id, "item_name": redemption.item_name,
            "quantity": redemption.quantity, "points": redemption.points, "status": redemption.status.value,
            "created_at": redemption.created_at, "code": redemption.code, "note": redemption.note,
            "flash_sale_id": redemption.flash_sale_id})
        redemption.id = result.scalar_one()
        self._count(redemption, +1)

    def _count(self, redemption: Redemption, sign: int) -> None:
        if redemption.status is not RedemptionStatus.CANCELLED:
            self.figure_changes.append(FigureChange(
                FigureKind.ITEM, str(redemption.item_id), redemption.member_id, redemption.created_at,
                times=sign, quantity=sign * redemption.quantity, points=sign * redemption.points))

    async def redemption(self, redemption_id: int) -> Redemption | None:
        row = (await self.connection.execute(select(redemptions).where(redemptions.c.id == redemption_id))).first()
        return redemption_from_row(row) if row else None

    async def redemptions(self, member_id: int, before_id: int | None, limit: int) -> list[Redemption]:
        query = select(redemptions).where(redemptions.c.member_id == member_id)
        if before_id is not None:
            query = query.where(redemptions.c.id < before_id)
        rows = await self.connection.execute(query.order_by(redemptions.c.id.desc()).limit(limit))
        return [redemption_from_row(row) for row in rows]

    async def redeemed_quantity(self, member_id: int, item_id: int) -> int:
        return await self.connection.scalar(select(func.coalesce(func.sum(redemptions.c.quantity), 0)).where(
            redemptions.c.member_id == member_id, redemptions.c.item_id == item_id,
            redemptions.c.status != RedemptionStatus.CANCELLED.value))

    async def update_redemption(self, redemption: Redemption) -> None:
        before = await self.redemption(redemption.id)  # a cancelled one no longer counts (nor one restored)
        if (before.status is RedemptionStatus.CANCELLED) != (redemption.status is RedemptionStatus.CANCELLED):
            self._count(before, -1)
            self._count(redemption, +1)
        await self.connection.execute(update(redemptions).where(redemptions.c.id == redemption.id).values(
            status=redemption.status.value, note=redemption.note, updated_at=redemption.updated_at))

    async def has_code_pool(self, item_id: int) -> bool:
        return await self.connection.scalar(select(coupon_codes.c.id).where(coupon_codes.c.item_id == item_id)
                                            .limit(1)) is not None

    async def next_free_code(self, item_id: int) -> str | None:
        return await self.connection.scalar(select(coupon_codes.c.code).where(
            coupon_codes.c.item_id == item_id, coupon_codes.c.taken.is_(False)).order_by(coupon_codes.c.id).limit(1))

    async def mark_code_taken(self, item_id: int, code: str) -> None:
        await self.connection.execute(update(coupon_codes).where(
            coupon_codes.c.item_id == item_id, coupon_codes.c.code == code).values(taken=True))

    async def add_codes(self, item_id: int, codes: Sequence[str]) -> int:
        statement = upsert(self.connection.dialect.name)(coupon_codes).values(
            [{"item_id": item_id, "code": code, "taken": False} for code in codes])
        result = await self.connection.execute(
            statement.on_conflict_do_nothing(index_elements=["item_id", "code"]))
        return result.rowcount or 0
