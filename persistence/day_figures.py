"""The per-day figures of items, tasks and campaigns (domain/day_figures.py): added to as their rows
are written, read by analytics, and computed again from those rows to rebuild or verify them (a local
day in SQL as for the ledger's sums: persistence/day_summaries.py)."""
from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, insert, literal_column, select, union_all

from domain.day_figures import Counts, FigureKind, Figures, campaign_shares
from domain.day_summaries import SHARDS, OffsetSpan
from domain.mall import RedemptionStatus
from persistence.day_summaries import bounded_spans, day_number, partitions, shard_of, within
from persistence.members import upsert
from persistence.direct_statements import direct
from persistence.tables import day_figures, item_views, purchase_orders, redemptions, task_completions

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
        r, t, o = redemptions.c, task_completions.c, purchase_orders.c
        times = union_all(select(func.min(r.created_at).label("first"), func.max(r.created_at).label("last")),
                          select(func.min(t.completed_at), func.max(t.completed_at)),
                          select(func.min(o.placed_at), func.max(o.placed_at)).where(o.campaign_code.is_not(None)))
        found = [(first, last) for first, last in await self.connection.execute(times) if first is not None]
        return (min(f for f, _ in found), max(last for _, last in found)) if found else None

    async def computed(self, spans: Sequence[OffsetSpan]) -> Figures:
        """The figures as the rows make them (the spans run from the first timed row to the last)."""
        figures = Figures()
        for span in bounded_spans(spans):
            for kind, query in _grouped(self.dialect, span):
                _add_grouped(figures, kind, await self.connection.execute(query))
            async for rows in partitions(self.connection, _boosted(self.dialect, span), STREAMED):
                _add_boosted(figures, rows)
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


def fill_from_rows(connection, spans: Sequence[OffsetSpan]) -> None:
    """`computed` and `replace` on a synchronous connection, for the migration that adds the table."""
    figures, dialect = Figures(), connection.dialect.name
    for span in bounded_spans(spans):
        for kind, query in _grouped(dialect, span):
            _add_grouped(figures, kind, connection.execute(query))
        _add_boosted(figures, connection.execute(_boosted(dialect, span)))
    _add_views(figures, connection.execute(VIEWED))
    for statement, rows in replacing(figures):
        connection.execute(statement, rows)


def _grouped(dialect: str, span) -> list[tuple[FigureKind, object]]:
    """Redemptions that stand (not cancelled) per item, and completions per task, by day and shard."""
    r, t = redemptions.c, task_completions.c
    redeemed, completed = day_number(dialect, span.minutes, r.created_at), day_number(dialect, span.minutes,
                                                                                      t.completed_at)
    zero = literal_column("0")
    return [(FigureKind.ITEM, select(redeemed, r.item_id, shard_of(r.member_id), func.count(), func.sum(r.quantity),
                                     func.sum(r.points), zero)
             .where(within(span, r.created_at), r.status != RedemptionStatus.CANCELLED.value)
             .group_by(redeemed, r.item_id, shard_of(r.member_id))),
            (FigureKind.TASK, select(completed, t.task_code, shard_of(t.member_id), func.count(), zero, zero, zero)
             .where(within(span, t.completed_at)).group_by(completed, t.task_code, shard_of(t.member_id)))]


def _boosted(dialect: str, span):
    o = purchase_orders.c
    return (select(day_number(dialect, span.minutes, o.placed_at).label("day"), o.member_id, o.campaign_code, o.base_points,
                   o.bonus_points, o.threshold_points, o.amount_fen, o.refunded_fen)
            .where(within(span, o.placed_at), o.campaign_code.is_not(None)))


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


def _add_views(figures: Figures, rows) -> None:
    for day, item_id, shard, views in rows:
        figures.add((day, FigureKind.ITEM.value, str(item_id), shard), (0, 0, 0, views))


def replacing(figures: Figures) -> list[tuple]:
    statements: list[tuple] = [(delete(day_figures), {})]
    if figures:
        statements.append((insert(day_figures), [
            {"day": day, "kind": kind, "code": code, "shard": shard, **dict(zip(COUNTS, counts))}
            for (day, kind, code, shard), counts in figures.items()]))
    return statements
