"""The coupon wallet (domain/coupons.py)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, insert, or_, select, update

from domain.coupons import Coupon, CouponSource, CouponStatus
from domain.day_figures import FigureChange, FigureKind
from persistence.mall import split_ids
from persistence.tables import coupons

C = coupons.c
COLUMNS = ("member_id", "redemption_id", "item_id", "name", "code", "value_fen", "min_spend_fen", "valid_from",
           "valid_until", "used_at")


def coupon_from_row(row) -> Coupon:
    return Coupon(row.member_id, row.redemption_id, row.item_id, row.name, row.code, row.value_fen,
                  row.min_spend_fen, row.valid_from, row.valid_until, CouponSource(row.source),
                  CouponStatus(row.status), row.used_at, row.id, split_ids(row.store_ids), row.used_store_id)


def _status_is(status: CouponStatus, now: datetime):
    """As the clock says it: an available coupon past its window is expired before the sweep says so."""
    current = or_(C.valid_until.is_(None), C.valid_until > now)
    if status is CouponStatus.AVAILABLE:
        return and_(C.status == status.value, current)
    if status is CouponStatus.EXPIRED:
        return or_(C.status == status.value, and_(C.status == CouponStatus.AVAILABLE.value, ~current))
    return C.status == status.value


class SqlCouponRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.figure_changes: list[FigureChange] = []  # to the stores' day figures (domain/day_figures.py)

    async def add(self, issued: Sequence[Coupon]) -> None:
        for coupon in issued:
            result = await self.connection.execute(insert(coupons).values(
                **{name: getattr(coupon, name) for name in COLUMNS}, source=coupon.source.value,
                status=coupon.status.value, store_ids=",".join(coupon.store_ids)).returning(C.id))
            coupon.id = result.scalar_one()

    async def page(self, member_id: int, status: CouponStatus | None, now: datetime, before_id: int | None,
                   limit: int) -> list[Coupon]:
        query = select(coupons).where(C.member_id == member_id)
        if status is not None:
            query = query.where(_status_is(status, now))
        if before_id is not None:
            query = query.where(C.id < before_id)
        return [coupon_from_row(row) for row in await self.connection.execute(query.order_by(C.id.desc()).limit(limit))]

    async def get(self, coupon_id: int) -> Coupon | None:
        row = (await self.connection.execute(select(coupons).where(C.id == coupon_id))).first()
        return coupon_from_row(row) if row else None

    async def by_code(self, code: str) -> list[Coupon]:
        return [coupon_from_row(row) for row in await self.connection.execute(
            select(coupons).where(C.code == code).order_by(C.id).limit(10))]

    async def use(self, coupon: Coupon, store_id: str, now: datetime) -> bool:
        """USED in this store if it is still available now; False when another till (or the clock) got there first."""
        result = await self.connection.execute(update(coupons).where(
            C.id == coupon.id, _status_is(CouponStatus.AVAILABLE, now)).values(
            status=CouponStatus.USED.value, used_at=now, used_store_id=store_id).returning(C.id))
        if result.first() is None:
            return False
        self.figure_changes.append(FigureChange(FigureKind.STORE_COUPONS, store_id, coupon.member_id, now, times=1,
                                                quantity=coupon.value_fen))
        return True

    async def available_count(self, redemption_id: int) -> int:
        return await self.connection.scalar(select(func.count()).select_from(coupons).where(
            C.redemption_id == redemption_id, C.status == CouponStatus.AVAILABLE.value))

    async def used_count(self, redemption_id: int) -> int:
        return await self.connection.scalar(select(func.count()).select_from(coupons).where(
            C.redemption_id == redemption_id, C.status == CouponStatus.USED.value))

    async def settle(self, redemption_id: int, status: CouponStatus, now: datetime) -> None:
        await self.connection.execute(update(coupons).where(
            C.redemption_id == redemption_id, C.status == CouponStatus.AVAILABLE.value).values(
            status=status.value, used_at=now if status is CouponStatus.USED else None))

    async def expire_due(self, now: datetime, limit: int) -> int:
        due = select(C.id).where(C.status == CouponStatus.AVAILABLE.value, C.valid_until <= now).limit(limit)
        ids = [coupon_id for coupon_id, in await self.connection.execute(due)]
        if ids:
            await self.connection.execute(update(coupons).where(
                C.id.in_(ids), C.status == CouponStatus.AVAILABLE.value).values(status=CouponStatus.EXPIRED.value))
        return len(ids)

    async def expiring_unreminded(self, now: datetime, until: datetime, limit: int) -> list[Coupon]:
        rows = await self.connection.execute(select(coupons).where(
            C.status == CouponStatus.AVAILABLE.value, C.valid_until > now, C.valid_until <= until,
            C.reminded_at.is_(None)).order_by(C.valid_until, C.id).limit(limit))
        return [coupon_from_row(row) for row in rows]

    async def mark_reminded(self, coupon_ids: Sequence[int], now: datetime) -> None:
        await self.connection.execute(update(coupons).where(C.id.in_(list(coupon_ids))).values(reminded_at=now))
