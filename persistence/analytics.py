"""The aggregates analytics read: one grouped query per figure, over indexed times."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import and_, case, distinct, func, select

from domain.analytics import ItemHeat, Participation
from domain.coupons import CouponStatus
from domain.day_figures import STORE_KINDS, Counts, FigureKind, order_store_counts
from domain.deductions import DeductionStatus
from domain.ledger import ACTIVITY_REASONS, LedgerReason
from domain.mall import RedemptionStatus
from persistence.tables import (coupons, deductions, item_views, ledger_entries, mall_items, members, point_lots, purchase_orders,
                               redemptions, task_completions)

ENTRIES = ledger_entries.c


class SqlAnalyticsRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def flow(self, start: datetime, end: datetime) -> dict[LedgerReason, tuple[int, int, int]]:
        """Per reason: credited, debited, and of the debits those taking back a refunded order's points."""
        credited = func.sum(case((ENTRIES.delta > 0, ENTRIES.delta), else_=0))
        debited = func.sum(case((ENTRIES.delta < 0, -ENTRIES.delta), else_=0))
        order_refunds = func.sum(case((and_(ENTRIES.delta < 0, ENTRIES.reason == LedgerReason.REVERSAL.value,
                                            ENTRIES.ref.like("order:%")), -ENTRIES.delta), else_=0))
        rows = await self.connection.execute(
            select(ENTRIES.reason, credited, debited, order_refunds)
            .where(ENTRIES.occurred_at >= start, ENTRIES.occurred_at < end).group_by(ENTRIES.reason))
        return {LedgerReason(reason): (int(c), int(d), int(r)) for reason, c, d, r in rows}

    async def active_members(self, start: datetime, end: datetime) -> int:
        return int(await self.connection.scalar(
            select(func.count(distinct(ENTRIES.member_id)))
            .where(ENTRIES.occurred_at >= start, ENTRIES.occurred_at < end,
                   ENTRIES.reason.in_(sorted(r.value for r in ACTIVITY_REASONS)))))

    async def balances(self) -> tuple[int, int, int, int, int]:
        m = members.c
        row = (await self.connection.execute(select(
            func.coalesce(func.sum(m.balance), 0), func.coalesce(func.sum(m.held), 0),
            func.coalesce(func.sum(m.pending), 0), func.coalesce(func.sum(m.debt), 0),
            func.count().filter(m.balance > 0)))).one()
        return tuple(int(value) for value in row)

    async def expiring_points(self, now: datetime, until: datetime) -> int:
        return int(await self.connection.scalar(
            select(func.coalesce(func.sum(point_lots.c.remaining), 0))
            .where(point_lots.c.expires_at > now, point_lots.c.expires_at <= until)))

    async def tier_counts(self) -> dict[int, int]:
        rows = await self.connection.execute(select(members.c.tier_level, func.count()).group_by(members.c.tier_level))
        return {level: count for level, count in rows}

    async def item_heat(self, start: datetime, end: datetime, limit: int) -> list[ItemHeat]:
        r = redemptions.c
        rows = await self.connection.execute(
            select(r.item_id, func.max(r.item_name), func.count(), func.sum(r.quantity), func.sum(r.points),
                   func.count(distinct(r.member_id)))
            .where(r.created_at >= start, r.created_at < end, r.status != RedemptionStatus.CANCELLED.value)
            .group_by(r.item_id).order_by(func.sum(r.quantity).desc(), r.item_id).limit(limit))
        return [ItemHeat(item_id, name, count, int(quantity), int(points), buyers)
                for item_id, name, count, quantity, points, buyers in rows]

    async def item_views(self, first_day: date, last_day: date, item_ids: Sequence[int] | None,
                         limit: int) -> dict[int, tuple[str, int]]:
        v = item_views.c
        query = (select(v.item_id, func.max(mall_items.c.name), func.count())
                 .select_from(item_views.join(mall_items, mall_items.c.id == v.item_id))
                 .where(v.day >= first_day, v.day <= last_day).group_by(v.item_id))
        if item_ids is not None:
            query = query.where(v.item_id.in_(item_ids))
        rows = await self.connection.execute(query.order_by(func.count().desc(), v.item_id).limit(limit))
        return {item_id: (name, int(views)) for item_id, name, views in rows}

    async def task_participation(self, start: datetime, end: datetime) -> list[Participation]:
        t = task_completions.c
        rows = await self.connection.execute(
            select(t.task_code, func.count(), func.count(distinct(t.member_id)))
            .where(t.completed_at >= start, t.completed_at < end).group_by(t.task_code).order_by(t.task_code))
        return [Participation(code, times, people) for code, times, people in rows]

    async def campaign_orders(self, start: datetime, end: datetime) -> list[tuple[str, int, int, int, int, int, int]]:
        o = purchase_orders.c
        rows = await self.connection.execute(
            select(o.campaign_code, o.member_id, o.base_points, o.bonus_points, o.threshold_points, o.amount_fen,
                   o.refunded_fen)
            .where(o.placed_at >= start, o.placed_at < end, o.campaign_code.is_not(None),
                   o.refunded_fen < o.amount_fen).order_by(o.id))
        return [(codes, member_id, *(int(n) for n in points)) for codes, member_id, *points in rows]

    async def store_counts(self, start: datetime, end: datetime, store_id: str | None) -> dict[str, dict[str, Counts]]:
        """From the rows: per store, its orders (times, points worth after refunds), its till's
        deductions that stand (times, points) and coupons used (times, face value in quantity),
        under the figure kinds' names."""
        o, d, c = purchase_orders.c, deductions.c, coupons.c
        counts: dict[str, dict[str, Counts]] = {kind.value: {} for kind in STORE_KINDS}
        only = (lambda column: column == store_id) if store_id else (lambda column: column.is_not(None))
        orders = counts[FigureKind.STORE_ORDERS.value]
        for store, *points in await self.connection.execute(
                select(o.store_id, o.base_points, o.bonus_points, o.amount_fen, o.refunded_fen)
                .where(only(o.store_id), o.placed_at >= start, o.placed_at < end)):
            times, worth = order_store_counts(*points)
            was = orders.get(store, (0, 0, 0, 0))
            orders[store] = (was[0] + times, 0, was[2] + worth, 0)
        for store, times, points in await self.connection.execute(
                select(d.store_id, func.count(), func.sum(d.points))
                .where(only(d.store_id), d.created_at >= start, d.created_at < end,
                       d.status == DeductionStatus.APPLIED.value).group_by(d.store_id)):
            counts[FigureKind.STORE_DEDUCTIONS.value][store] = (times, 0, int(points), 0)
        for store, times, value in await self.connection.execute(
                select(c.used_store_id, func.count(), func.sum(c.value_fen))
                .where(only(c.used_store_id), c.used_at >= start, c.used_at < end,
                       c.status == CouponStatus.USED.value).group_by(c.used_store_id)):
            counts[FigureKind.STORE_COUPONS.value][store] = (times, int(value), 0, 0)
        return counts

    async def item_buyers(self, start: datetime, end: datetime, item_ids: Sequence[int]) -> dict[int, int]:
        r = redemptions.c
        rows = await self.connection.execute(
            select(r.item_id, func.count(distinct(r.member_id)))
            .where(r.item_id.in_(list(item_ids)), r.created_at >= start, r.created_at < end,
                   r.status != RedemptionStatus.CANCELLED.value).group_by(r.item_id))
        return {item_id: int(buyers) for item_id, buyers in rows}

    async def task_members(self, start: datetime, end: datetime, codes: Sequence[str]) -> dict[str, int]:
        t = task_completions.c
        rows = await self.connection.execute(
            select(t.task_code, func.count(distinct(t.member_id)))
            .where(t.task_code.in_(list(codes)), t.completed_at >= start, t.completed_at < end).group_by(t.task_code))
        return {code: int(people) for code, people in rows}

    async def campaign_members(self, start: datetime, end: datetime) -> dict[str, int]:
        """Per campaign, the members whose orders in [start, end) it boosted (an order may name two)."""
        o = purchase_orders.c
        rows = await self.connection.execute(
            select(o.campaign_code, o.member_id).distinct()
            .where(o.placed_at >= start, o.placed_at < end, o.campaign_code.is_not(None),
                   o.refunded_fen < o.amount_fen))
        members: dict[str, set[int]] = {}
        for codes, member_id in rows:
            for code in codes.split("+"):
                members.setdefault(code, set()).add(member_id)
        return {code: len(people) for code, people in members.items()}
