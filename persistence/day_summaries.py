"""The per-day sums of the ledger (domain/day_summaries.py): written with the entries, read by
analytics, and computed again from the ledger to rebuild or verify them.

A local day is computed in SQL with fixed arithmetic over each span of the brand's time zone at one
UTC offset (`OffsetSpan`), so the same queries run on SQLite, which knows no time zones. Computing the
sums groups the flows in SQL and streams each member's active days in order (grouping those in SQL
too, with a window function, cost three times as much on SQLite).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, and_, case, cast, delete, func, insert, literal_column, select, text, true

from domain.brand import BRAND_KEY, BrandSettings
from domain.day_summaries import (ORDER_REF_PREFIX, SHARDS, ActiveCounts, ActiveDays, OffsetSpan, Sums, SummaryDelta,
                                  offset_spans)
from domain.ledger import ACTIVITY_REASONS, LedgerReason
from persistence.direct_statements import DirectStatement, direct
from persistence.members import upsert
from persistence.tables import day_active, day_flows, ledger_entries, settings

E = ledger_entries.c
NO_PREVIOUS_DAY = date(1, 1, 1)  # a key column cannot be NULL: never active, or more than RANGE_DAYS before
ACTIVITY = sorted(reason.value for reason in ACTIVITY_REASONS)
# Written into the SQL (our own constants): an IN list of parameters would change the statement's shape.
ACTIVITY_LIST = literal_column("(" + ", ".join(f"'{reason}'" for reason in ACTIVITY) + ")")
# Julian day numbers count from noon, 4713 BC; a date's ordinal from January 1st of year 1.
JULIAN_DAY_OF_ORDINAL_0 = 1721425
STREAMED = 10_000  # rows fetched at a time


@functools.cache
def flow_upsert(dialect: str):
    statement = upsert(dialect)(day_flows)
    return direct(statement.on_conflict_do_update(index_elements=["day", "reason", "shard"], set_={
        column: getattr(day_flows.c, column) + getattr(statement.excluded, column)
        for column in ("credited", "debited", "order_refunds")}))


@functools.cache
def active_upsert(dialect: str):
    statement = upsert(dialect)(day_active)
    return direct(statement.on_conflict_do_update(index_elements=["day", "previous_day", "shard"],
                                                  set_={"members": day_active.c.members + statement.excluded.members}))


class SqlDaySummaryRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    async def add(self, delta: SummaryDelta) -> None:
        """In key order: two transactions adding to the same rows take their locks in one order."""
        for (day, reason, shard), (credited, debited, refunds) in sorted(delta.flows.items()):
            await self.connection.write_behind(flow_upsert(self.dialect), {
                "day": day, "reason": reason, "shard": shard, "credited": credited, "debited": debited,
                "order_refunds": refunds})
        for (day, previous, shard), members in sorted(delta.active.items(), key=lambda kv: _sortable(kv[0])):
            await self.connection.write_behind(active_upsert(self.dialect), {
                "day": day, "previous_day": previous or NO_PREVIOUS_DAY, "shard": shard, "members": members})

    async def flows(self, first_day: date, last_day: date) -> dict[date, dict[LedgerReason, tuple[int, int, int]]]:
        f = day_flows.c
        rows = await self.connection.execute(
            select(f.day, f.reason, func.sum(f.credited), func.sum(f.debited), func.sum(f.order_refunds))
            .where(f.day >= first_day, f.day <= last_day).group_by(f.day, f.reason))
        found: dict[date, dict[LedgerReason, tuple[int, int, int]]] = {}
        for day, reason, credited, debited, refunds in rows:
            found.setdefault(day, {})[LedgerReason(reason)] = (int(credited), int(debited), int(refunds))
        return found

    async def active_counts(self, first_day: date, last_day: date) -> ActiveCounts:
        a = day_active.c
        rows = await self.connection.execute(
            select(a.day, a.previous_day, func.sum(a.members))
            .where(a.day >= first_day, a.day <= last_day).group_by(a.day, a.previous_day))
        return ActiveCounts({(day, None if previous == NO_PREVIOUS_DAY else previous): int(members)
                             for day, previous, members in rows})

    async def entry_times(self, after_entry_id: int = 0) -> tuple[datetime, datetime] | None:
        """The first and last moments of the entries after ``after_entry_id``; None when there are none."""
        first, last = (await self.connection.execute(
            select(func.min(E.occurred_at), func.max(E.occurred_at)).where(E.id > after_entry_id))).one()
        return None if first is None else (first, last)

    async def lock(self) -> None:
        """Before a rebuild: writers adding to the sums wait until it commits (readers do not), and
        it waits for those that began adding; so no entry is summed twice or missed."""
        if self.dialect == "postgresql":
            await self.connection.execute(text("LOCK TABLE day_flows, day_active, day_figures IN EXCLUSIVE MODE"))

    async def snapshot(self) -> None:
        """First in a read transaction that compares the sums with the ledger: its statements then all
        see one moment (SQLite's read transactions always do)."""
        if self.dialect == "postgresql":
            await self.connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))

    async def ledger_sums(self, spans: Sequence[OffsetSpan], *, whole_ledger: bool = False) -> Sums:
        """The sums as the entries of the spans make them. ``whole_ledger``: the spans run from the
        first entry to the last, and the ledger is read in its own order rather than through the time
        index (on SQLite a lookup per entry: three times as long)."""
        sums = Sums()
        spans = bounded_spans(spans, whole_ledger)
        for span in spans:
            for number, reason, shard, *flows in await self.connection.execute(_flows(self.dialect, span)):
                sums.add_flow((date.fromordinal(number), reason, shard), flows)
        days = ActiveDays()
        for span in spans:
            async for rows in partitions(self.connection, _active_days(self.dialect, span)):
                for member_id, number in rows:
                    days.add(member_id, number)
        return days.into(sums)

    async def stored(self, from_day: date | None = None) -> Sums:
        f, a = day_flows.c, day_active.c
        flows = select(f.day, f.reason, f.shard, f.credited, f.debited, f.order_refunds)
        active = select(a.day, a.previous_day, a.shard, a.members)
        if from_day is not None:
            flows, active = flows.where(f.day >= from_day), active.where(a.day >= from_day)
        return Sums({(day, reason, shard): (int(c), int(d), int(r))
                     for day, reason, shard, c, d, r in await self.connection.execute(flows)},
                    {(day, None if previous == NO_PREVIOUS_DAY else previous, shard): int(n)
                     for day, previous, shard, n in await self.connection.execute(active)})

    async def replace(self, sums: Sums) -> None:
        for statement, rows in replacing(sums):
            await self.connection.execute(statement, rows)


def replacing(sums: Sums) -> list[tuple]:
    """The statements (and their rows) that put ``sums`` in place of what the tables hold."""
    statements: list[tuple] = [(delete(day_flows), {}), (delete(day_active), {})]
    if sums.flows:
        statements.append((insert(day_flows), [
            {"day": day, "reason": reason, "shard": shard, "credited": c, "debited": d, "order_refunds": r}
            for (day, reason, shard), (c, d, r) in sums.flows.items()]))
    if sums.active:
        statements.append((insert(day_active), [
            {"day": day, "previous_day": previous or NO_PREVIOUS_DAY, "shard": shard, "members": n}
            for (day, previous, shard), n in sums.active.items()]))
    return statements


def fill_from_ledger(connection, spans: Sequence[OffsetSpan]) -> None:
    """`ledger_sums` and `replace` on a synchronous connection, for the migration that adds the tables."""
    sums, days = Sums(), ActiveDays()
    for span in bounded_spans(spans):
        for number, reason, shard, *flows in connection.execute(_flows(connection.dialect.name, span)):
            sums.add_flow((date.fromordinal(number), reason, shard), flows)
        rows = connection.execute(_active_days(connection.dialect.name, span), execution_options={"stream_results": True})
        for member_id, number in rows:
            days.add(member_id, number)
    for statement, rows in replacing(days.into(sums)):
        connection.execute(statement, rows)


async def partitions(connection, statement, size: int = STREAMED):
    """The rows of a read of many, ``size`` at a time, past SQLAlchemy: on the driver's own cursor
    with SQLAlchemy's SQL and converters (persistence/direct_statements.py). SQLAlchemy's row-by-row
    work (and aiosqlite's) cost twice what SQLite took to read a ledger of 5M entries, and three
    times what PostgreSQL took."""
    plan = DirectStatement(statement, connection.dialect)
    values = plan._values({})
    if connection.dialect.name == "postgresql":  # in the open transaction, on asyncpg's cursor
        pooled = connection if hasattr(connection, "get_raw_connection") else connection.connection
        if pooled is not connection:
            await connection.flush()  # what a unit of work held back goes first
        driver = (await pooled.get_raw_connection()).driver_connection
        if not driver.is_in_transaction():  # SQLAlchemy begins on its first statement; a cursor needs one
            await pooled.execute(select(1))
        cursor = await driver.cursor(plan.sql, *values)
        while rows := await cursor.fetch(size):
            yield [plan._converted(row) for row in rows] if plan.converters else rows
        return
    if hasattr(connection, "get_raw_connection"):  # a pooled connection: aiosqlite's, on its own thread
        cursor = await (await connection.get_raw_connection()).driver_connection.execute(plan.sql, values)
        while rows := await cursor.fetchmany(size):
            yield [plan._converted(row) for row in rows] if plan.converters else rows
        await cursor.close()
        return
    cursor = connection.connection.connection.driver_connection.execute(plan.sql, values)  # the writer's
    while rows := cursor.fetchmany(size):
        yield [plan._converted(row) for row in rows] if plan.converters else rows


def _sortable(key):
    day, previous, shard = key
    return day, previous or NO_PREVIOUS_DAY, shard


def day_number(dialect: str, minutes: int, instant=E.occurred_at):
    """The day of an instant (an entry's by default) at a fixed offset from UTC, as a date's ordinal
    (literals, not parameters: it is grouped by, and PostgreSQL tells two parameters apart even when
    they hold one value)."""
    if dialect == "sqlite":  # a Julian day begins at noon: half a day on, it begins at midnight
        return (cast(func.julianday(instant, literal_column(f"'{minutes:+d} minutes'")) + 0.5, Integer)
                - literal_column(str(JULIAN_DAY_OF_ORDINAL_0)))
    return (cast(func.timezone(literal_column("'UTC'"), instant)
                 + literal_column(f"interval '{minutes} minutes'"), Date) - literal_column("DATE '0001-01-01'")
            + literal_column("1"))


@dataclass(frozen=True)
class _Bounded:
    span: OffsetSpan
    open_start: bool = False  # nothing before it
    open_end: bool = False  # nothing after it

    @property
    def minutes(self) -> int:
        return self.span.minutes


def shard_of(member_id):
    """A row's shard in SQL, as `SHARDS` keys the sums in Python (a literal: it is grouped by)."""
    return member_id % literal_column(str(SHARDS))


def bounded_spans(spans: Sequence[OffsetSpan], whole: bool = True) -> list[_Bounded]:
    """``whole``: the spans hold every row, so the first has no start and the last no end."""
    return [_Bounded(span, whole and n == 0, whole and n == len(spans) - 1) for n, span in enumerate(spans)]


def within(bounded: _Bounded, instant=E.occurred_at):
    return and_(true(), *([] if bounded.open_start else [instant >= bounded.span.start]),
                *([] if bounded.open_end else [instant < bounded.span.end]))


def _flows(dialect: str, span: _Bounded):
    number, shard = day_number(dialect, span.minutes), shard_of(E.member_id)
    order_refund = and_(E.delta < 0, E.reason == LedgerReason.REVERSAL.value, E.ref.like(f"{ORDER_REF_PREFIX}%"))
    return (select(number, E.reason, shard, func.sum(case((E.delta > 0, E.delta), else_=0)),
                   func.sum(case((E.delta < 0, -E.delta), else_=0)), func.sum(case((order_refund, -E.delta), else_=0)))
            .where(within(span)).group_by(number, E.reason, shard))


def _active_days(dialect: str, span: _Bounded):
    """Each activity's member and day, in time order: so each member's days come rising (what
    `ActiveDays` needs) and the ledger is read in the order it was written (grouped by member in SQL,
    SQLite walked the member index and read the entries in member order: three times as long)."""
    return (select(E.member_id, day_number(dialect, span.minutes).label("day"))
            .where(within(span), E.reason.op("IN")(ACTIVITY_LIST)).order_by(E.occurred_at))


def stored_spans(connection, first: datetime | None, last: datetime | None) -> list[OffsetSpan]:
    """The brand's time zone's offset spans from ``first`` to ``last`` (inclusive), as its stored
    settings say, for the migrations that fill sums from rows already there; none without rows."""
    if first is None or last is None:
        return []
    brand = connection.execute(select(settings.c.value).where(settings.c.key == BRAND_KEY)).scalar()
    zone = BrandSettings(timezone=brand["timezone"] if brand else BrandSettings().timezone).zone
    return offset_spans(zone, first, last + timedelta(microseconds=1))
