"""The per-day figures of items, tasks and campaigns (domain/day_figures.py): added to as their rows
are written, read by analytics, and computed again from those rows to rebuild or verify them (a local
day in SQL as for the ledger's sums: persistence/day_summaries.py)."""
from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, insert, literal_column, select, union_all

from domain.day_figures import Counts, FigureKind, Figures, campaign_shares, order_store_counts
from domain.day_summaries import SHARDS, OffsetSpan
from domain.coupons import CouponStatus
from domain.deductions import DeductionStatus
from domain.mall import RedemptionStatus
from persistence.day_summaries import bounded_spans, day_number, partitions, shard_of, within
from persistence.members import upsert
from persistence.direct_statements import direct
from persistence.tables import (coupons, day_figures, deductions, item_views, purchase_orders, redemptions,
                               task_completions)

F = day_figures.c
COUNTS = ("times", "quantity", "points", "views")
STREAMED = 10_000


@functools.cache
def figure_upsert(dialect: str):
    statement = upsert(dialect)(day_figures)
    return direct(statement.on_conflict_do_update(index_elements=["day", "kind", "code", "shard"], set_={
        column: getattr(F, column) + getattr(statement.excluded, column) for column in COUNTS}))


class SqlDayFigureRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    async def add(self, figures: Figures) -> None:
        """In key order: two transactions adding to the same rows take their locks in one order."""
        for (day, kind, code, shard), counts in sorted(figures.items()):
            await self.connection.write_behind(figure_upsert(self.dialect), {
                "day": day, "kind": kind, "code": code, "shard": shard, **dict(zip(COUNTS, counts))})

    async def sums(self, kind: FigureKind, first_day: date, last_day: date) -> dict[str, Counts]:
        rows = await self.connection.execute(
            select(F.code, *(func.sum(getattr(F, column)) for column in COUNTS))
            .where(F.kind == kind.value, F.day >= first_day, F.day <= last_day).group_by(F.code))
        return {code: tuple(int(n) for n in counts) for code, *counts in rows}

    async def row_times(self) -> tuple[datetime, datetime] | None:
        """The first and last moments of the rows the figures count (views aside: they carry their day)."""
        r, t, o, d, c = redemptions.c, task_completions.c, purchase_orders.c, deductions.c, coupons.c
        times = union_all(select(func.min(r.created_at).label("first"), func.max(r.created_at).label("last")),
                          select(func.min(t.completed_at), func.max(t.completed_at)),
                          select(func.min(o.placed_at), func.max(o.placed_at)).where(o.campaign_code.is_not(None)),
                          select(func.min(o.placed_at), func.max(o.placed_at)).where(o.store_id.is_not(None)),
                          select(func.min(d.created_at), func.max(d.created_at)).where(d.store_id.is_not(None)),
                          select(func.min(c.used_at), func.max(c.used_at)).where(c.used_store_id.is_not(None)))
        found = [(first, last) for first, last in await self.connection.execute(times) if first is not None]
        return (min(f for f, _ in found), max(last for _, last in found)) if found else None

    async def computed(self, spans: Sequence[OffsetSpan]) -> Figures:
        """The figures as the rows make them (the spans run from the first timed row to the last)."""
        figures = Figures()
        for span in bounded_spans(spans):
            for kind, query in _grouped(self.dialect, span, ALL_KINDS):
                _add_grouped(figures, kind, await self.connection.execute(query))
            for add, query in _streamed(self.dialect, span, ALL_KINDS):
                async for rows in partitions(self.connection, query, STREAMED):
                    add(figures, rows)
        _add_views(figures, await self.connection.execute(VIEWED))
        return figures

    async def stored(self) -> Figures:
        figures = Figures()
        for day, kind, code, shard, *counts in await self.connection.execute(
                select(F.day, F.kind, F.code, F.shard, *(getattr(F, column) for column in COUNTS))):
            figures.add((day, kind, code, shard), counts)
        return figures

    async def replace(self, figures: Figures) -> None:
        for statement, rows in replacing(figures):
            await self.connection.execute(statement, rows)


ALL_KINDS = frozenset(FigureKind)


def fill_from_rows(connection, spans: Sequence[OffsetSpan], kinds: Sequence[FigureKind]) -> None:
    """`computed` and `replace` of these kinds on a synchronous connection, for the migrations that
    add them (each names the kinds whose rows exist at its revision)."""
    figures, dialect, kinds = Figures(), connection.dialect.name, frozenset(kinds)
    for span in bounded_spans(spans):
        for kind, query in _grouped(dialect, span, kinds):
            _add_grouped(figures, kind, connection.execute(query))
        for add, query in _streamed(dialect, span, kinds):
            add(figures, connection.execute(query))
    if FigureKind.ITEM in kinds:
        _add_views(figures, connection.execute(VIEWED))
    for statement, rows in replacing(figures, kinds):
        connection.execute(statement, rows)


def _grouped(dialect: str, span, kinds: frozenset[FigureKind]) -> list[tuple[FigureKind, object]]:
    """Redemptions that stand (not cancelled) per item, completions per task, deductions that stand
    and coupons used per store, by day and shard."""
    r, t, d, c = redemptions.c, task_completions.c, deductions.c, coupons.c
    redeemed, completed = day_number(dialect, span.minutes, r.created_at), day_number(dialect, span.minutes,
                                                                                      t.completed_at)
    deducted, used = day_number(dialect, span.minutes, d.created_at), day_number(dialect, span.minutes, c.used_at)
    zero = literal_column("0")
    queries = {
        FigureKind.ITEM: lambda: select(redeemed, r.item_id, shard_of(r.member_id), func.count(), func.sum(r.quantity),
                                        func.sum(r.points), zero)
        .where(within(span, r.created_at), r.status != RedemptionStatus.CANCELLED.value)
        .group_by(redeemed, r.item_id, shard_of(r.member_id)),
        FigureKind.TASK: lambda: select(completed, t.task_code, shard_of(t.member_id), func.count(), zero, zero, zero)
        .where(within(span, t.completed_at)).group_by(completed, t.task_code, shard_of(t.member_id)),
        FigureKind.STORE_DEDUCTIONS: lambda: select(deducted, d.store_id, shard_of(d.member_id), func.count(), zero,
                                                    func.sum(d.points), zero)
        .where(within(span, d.created_at), d.store_id.is_not(None), d.status == DeductionStatus.APPLIED.value)
        .group_by(deducted, d.store_id, shard_of(d.member_id)),
        FigureKind.STORE_COUPONS: lambda: select(used, c.used_store_id, shard_of(c.member_id), func.count(),
                                                 func.sum(c.value_fen), zero, zero)
        .where(within(span, c.used_at), c.used_store_id.is_not(None), c.status == CouponStatus.USED.value)
        .group_by(used, c.used_store_id, shard_of(c.member_id)),
    }
    return [(kind, query()) for kind, query in queries.items() if kind in kinds]


def _streamed(dialect: str, span, kinds: frozenset[FigureKind]) -> list[tuple]:
    """Orders, read row by row: what a campaign or a store counts of one is worked out in Python."""
    o = purchase_orders.c
    day = day_number(dialect, span.minutes, o.placed_at).label("day")
    streamed = []
    if FigureKind.CAMPAIGN in kinds:
        streamed.append((_add_boosted, select(day, o.member_id, o.campaign_code, o.base_points, o.bonus_points,
                                              o.threshold_points, o.amount_fen, o.refunded_fen)
                         .where(within(span, o.placed_at), o.campaign_code.is_not(None))))
    if FigureKind.STORE_ORDERS in kinds:
        streamed.append((_add_store_orders, select(day, o.member_id, o.store_id, o.base_points, o.bonus_points,
                                                   o.amount_fen, o.refunded_fen)
                         .where(within(span, o.placed_at), o.store_id.is_not(None))))
    return streamed


V = item_views.c
VIEWED = select(V.day, V.item_id, shard_of(V.member_id), func.count()).group_by(V.day, V.item_id, shard_of(V.member_id))


def _add_grouped(figures: Figures, kind: FigureKind, rows) -> None:
    for number, code, shard, *counts in rows:
        figures.add((date.fromordinal(number), kind.value, str(code), shard), counts)


def _add_boosted(figures: Figures, rows) -> None:
    for number, member_id, codes, *points in rows:
        for code, share in campaign_shares(codes, *points).items():
            figures.add((date.fromordinal(number), FigureKind.CAMPAIGN.value, code, member_id % SHARDS),
                        (1, 0, share, 0))


def _add_store_orders(figures: Figures, rows) -> None:
    for number, member_id, store_id, *points in rows:
        times, worth = order_store_counts(*points)
        if times:
            figures.add((date.fromordinal(number), FigureKind.STORE_ORDERS.value, store_id, member_id % SHARDS),
                        (times, 0, worth, 0))


def _add_views(figures: Figures, rows) -> None:
    for day, item_id, shard, views in rows:
        figures.add((day, FigureKind.ITEM.value, str(item_id), shard), (0, 0, 0, views))


def replacing(figures: Figures, kinds: frozenset[FigureKind] = ALL_KINDS) -> list[tuple]:
    statements: list[tuple] = [(delete(day_figures).where(F.kind.in_([kind.value for kind in kinds])), {})]
    if figures:
        statements.append((insert(day_figures), [
            {"day": day, "kind": kind, "code": code, "shard": shard, **dict(zip(COUNTS, counts))}
            for (day, kind, code, shard), counts in figures.items()]))
    return statements
