"""Per-day sums of the ledger, kept as entries are written, so the operator's figures over a range
cost per day, not per entry.

Two sums, keyed by the brand's local day and a shard (``member_id % SHARDS``: on PostgreSQL a row
updated by an open transaction makes the next writer of that row wait for its COMMIT, and writers of
different members so seldom meet on one row):

* **flows**: per (day, reason, shard), the points credited, debited, and of the debits those taking
  back a refunded order's points (what ``DayFlow`` needs).
* **active days**: per (day, previous active day, shard), the members whose first activity of that
  day it was, by the day they were last active before (``None`` when never, or more than
  ``RANGE_DAYS`` before). A member active on some day of a range of at most ``RANGE_DAYS`` days is
  counted once on the first such day, the one whose previous day lies before the range: the distinct
  active members of a range are a sum of counts, not a distinct count over entries.

Both are written by the transaction that writes the entries they sum (see `SummaryDelta`), so they
cannot disagree with the ledger; `jifen check` verifies them and `jifen rebuild-summaries` builds
them again from the ledger. They are keyed in the brand's time zone as it was when they were built:
changing the zone leaves them stale (analytics read the ledger itself meanwhile) until rebuilt.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from domain.brand import brand_settings
from domain.ledger import ACTIVITY_REASONS, LedgerEntry, LedgerReason

if TYPE_CHECKING:
    from domain.brand import BrandSettings
    from domain.clock import Clock
    from domain.day_figures import Figures
    from domain.ports import Transactions, UnitOfWork

SHARDS = 8
RANGE_DAYS = 92  # the longest range analytics answer, and how far back a previous active day is kept
STATUS_KEY = "daySummaries"
ORDER_REF_PREFIX = "order:"

FlowKey = tuple[date, str, int]  # (day, reason, shard)
ActiveKey = tuple[date, date | None, int]  # (day, previous active day, shard)


def takes_back_order_points(entry: LedgerEntry) -> bool:
    """A refund's debit of the points its order had earned (left out of both earned and reversed)."""
    return entry.reason is LedgerReason.REVERSAL and entry.delta < 0 and (entry.ref or "").startswith(ORDER_REF_PREFIX)


def kept_previous(day: date, previous: date | None) -> date | None:
    return previous if previous is not None and (day - previous).days <= RANGE_DAYS else None


@dataclass
class SummaryDelta:
    """What one transaction adds to the sums: built from the entries it saved."""

    flows: dict[FlowKey, list[int]] = field(default_factory=dict)  # [credited, debited, order refunds]
    active: dict[ActiveKey, int] = field(default_factory=dict)

    def add(self, member_id: int, entries: Iterable[LedgerEntry], previously_active_at: datetime | None,
            zone: ZoneInfo) -> None:
        shard = member_id % SHARDS
        last_day = previously_active_at.astimezone(zone).date() if previously_active_at else None
        for entry in sorted(entries, key=lambda e: e.occurred_at):
            day = entry.occurred_at.astimezone(zone).date()
            sums = self.flows.setdefault((day, entry.reason.value, shard), [0, 0, 0])
            if entry.delta > 0:
                sums[0] += entry.delta
            else:
                sums[1] -= entry.delta
                sums[2] -= entry.delta if takes_back_order_points(entry) else 0
            if entry.reason in ACTIVITY_REASONS and (last_day is None or day > last_day):
                key = (day, kept_previous(day, last_day), shard)
                self.active[key] = self.active.get(key, 0) + 1
                last_day = day

    def __bool__(self) -> bool:
        return bool(self.flows or self.active)


@dataclass
class Sums:
    """The sums themselves: flows (credited, debited, order refunds) and active-day counts."""

    flows: dict[FlowKey, tuple[int, int, int]] = field(default_factory=dict)
    active: dict[ActiveKey, int] = field(default_factory=dict)

    def add_flow(self, key: FlowKey, sums) -> None:
        self.flows[key] = tuple(a + int(b) for a, b in zip(self.flows.get(key, NO_FLOW), sums))

    def from_day(self, day: date) -> "Sums":
        return Sums({k: v for k, v in self.flows.items() if k[0] >= day},
                    {k: v for k, v in self.active.items() if k[0] >= day})

    def differences(self, stored: "Sums", shown: int = 20) -> list[str]:
        """Where the ``stored`` sums disagree with these (the ledger's), as readable lines (the first ``shown``)."""
        lines = []
        for day, reason, shard in sorted(self.flows.keys() | stored.flows.keys()):
            ledger, kept = (sums.flows.get((day, reason, shard), NO_FLOW) for sums in (self, stored))
            if ledger != kept:
                lines.append(f"flows {day} {reason} {shard}: {kept} summed, {ledger} in the ledger")
        for day, previous, shard in sorted(self.active.keys() | stored.active.keys(), key=_active_order):
            ledger, kept = (sums.active.get((day, previous, shard), 0) for sums in (self, stored))
            if ledger != kept:
                lines.append(f"active days {day} after {previous or 'none'} {shard}: {kept} summed, "
                             f"{ledger} in the ledger")
        return lines[:shown]


NO_FLOW = (0, 0, 0)


def _active_order(key: ActiveKey):
    day, previous, shard = key
    return day, previous or date.min, shard


class ActiveDays:
    """Active-day counts from each member's active days in order (members in any order, each member's
    days rising), as day ordinals (`date.toordinal`): a ledger's worth of rows goes through `add`."""

    def __init__(self) -> None:
        self.last_days: dict[int, int] = {}  # each member's last active day so far
        self.counts: dict[tuple[int, int, int], int] = {}  # (day, previous day or 0, shard)

    def add(self, member_id: int, day: int) -> None:
        last = self.last_days.get(member_id, 0)
        if day <= last:
            return  # a day seen already (split between two spans of the zone's offsets)
        self.last_days[member_id] = day
        key = (day, last if day - last <= RANGE_DAYS else 0, member_id % SHARDS)
        self.counts[key] = self.counts.get(key, 0) + 1

    def into(self, sums: Sums) -> Sums:
        for (day, previous, shard), members in self.counts.items():
            sums.active[(date.fromordinal(day), date.fromordinal(previous) if previous else None, shard)] = members
        return sums


@dataclass(frozen=True)
class ActiveCounts:
    """Active-day counts by (day, previous active day) over some days: the distinct members of any
    stretch of those days."""

    counts: dict[tuple[date, date | None], int]

    def on(self, day: date) -> int:
        return sum(n for (d, _), n in self.counts.items() if d == day)

    def between(self, first_day: date, last_day: date) -> int:
        if (last_day - first_day).days >= RANGE_DAYS:
            raise ValueError(f"a stretch of at most {RANGE_DAYS} days")
        return sum(n for (d, previous), n in self.counts.items()
                   if first_day <= d <= last_day and (previous is None or previous < first_day))


@dataclass(frozen=True)
class OffsetSpan:
    """Instants ``start`` <= t < ``end`` over which the brand's clocks are ``minutes`` ahead of UTC:
    where SQL turns an instant into a local day with fixed arithmetic."""

    start: datetime
    end: datetime
    minutes: int


def offset_spans(zone: ZoneInfo, start: datetime, end: datetime) -> list[OffsetSpan]:
    """[start, end) cut where the zone's offset changes (daylight saving, a change of law); changes
    fall on whole seconds, at most one a day."""
    spans, at = [], start
    while at < end:
        offset, probe = _minutes(zone, at), at
        while probe < end and _minutes(zone, min(probe + DAY, end) - INSTANT) == offset:
            probe = min(probe + DAY, end)
        if probe < end and _minutes(zone, probe) == offset:
            probe = _first_change(zone, probe, min(probe + DAY, end) - INSTANT, offset)
        spans.append(OffsetSpan(at, probe, offset))
        at = probe
    return spans


DAY, INSTANT, SECOND = timedelta(days=1), timedelta(microseconds=1), timedelta(seconds=1)


def _minutes(zone: ZoneInfo, at: datetime) -> int:
    return int(at.astimezone(zone).utcoffset().total_seconds() // 60)


def _first_change(zone: ZoneInfo, low: datetime, high: datetime, offset: int) -> datetime:
    """The first instant after ``low`` (at ``offset``) and at or before ``high`` (not) off ``offset``."""
    while high - low > SECOND:
        middle = low + (high - low) / 2
        if _minutes(zone, middle) == offset:
            low = middle
        else:
            high = middle
    return low.replace(microsecond=0) + SECOND


@dataclass(frozen=True)
class SummaryStatus:
    timezone: str | None  # the zone the sums are keyed in; None: stale (the brand's zone changed)

    def usable(self, brand: "BrandSettings") -> bool:
        return self.timezone == brand.timezone

    def to_record(self) -> dict:
        return {"timezone": self.timezone}


async def summary_status(uow: "UnitOfWork") -> SummaryStatus:
    record = await uow.settings.get(STATUS_KEY)
    return SummaryStatus(record.get("timezone") if record else None)


async def mark_stale(uow: "UnitOfWork", actor: str, at: datetime) -> None:
    """The brand's days end at other instants now: the sums keyed by the old days no longer answer."""
    await uow.settings.put(STATUS_KEY, SummaryStatus(None).to_record(), actor, at)


@dataclass(frozen=True)
class Verification:
    disagreements: list[str]
    stale: bool = False  # keyed in another time zone: not verified, and not read (rebuild them)


class DaySummaries:
    """Building the sums again from the ledger, and checking them against it."""

    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def rebuild(self, actor: str = "system:summaries") -> SummaryStatus:
        """In one transaction: writers of points wait for it on PostgreSQL, and on SQLite as for any write."""
        async def work(uow: "UnitOfWork") -> SummaryStatus:
            brand = await brand_settings(uow)
            await uow.summaries.lock()
            times = await uow.summaries.entry_times()
            await uow.summaries.replace(await uow.summaries.ledger_sums(_spans(brand.zone, *times), whole_ledger=True)
                                        if times else Sums())
            await uow.figures.replace(await _figures_from_rows(uow, brand))
            status = SummaryStatus(brand.timezone)
            await uow.settings.put(STATUS_KEY, status.to_record(), actor, self.clock.now())
            return status

        return await self.transactions.write(work)

    async def verify(self, after_entry_id: int | None = None) -> Verification:
        """Every day's sums against the entries of that day (with ``after_entry_id``, the days from
        that of the first entry after it), and every day's figures against their rows: two reads
        side by side, each on its own snapshot."""
        ledger, figures = await asyncio.gather(self._verify_sums(after_entry_id), self._verify_figures())
        return Verification(ledger.disagreements + figures.disagreements, ledger.stale or figures.stale)

    async def _verify_sums(self, after_entry_id: int | None) -> Verification:
        async def work(uow: "UnitOfWork") -> Verification:
            await uow.summaries.snapshot()
            brand = await brand_settings(uow)
            if not (await summary_status(uow)).usable(brand):
                return Verification([], stale=True)
            if (times := await uow.summaries.entry_times(after_entry_id or 0)) is None:
                # Nothing new to compare; with no entries at all, any sum is wrong.
                return Verification([] if after_entry_id else Sums().differences(await uow.summaries.stored()))
            from_day = brand.local_date(times[0]) if after_entry_id else None
            if from_day is not None:  # from far enough back to know the previous active days of those days
                times = (min(times[0], brand.start_of_local_day(from_day - timedelta(days=RANGE_DAYS))), times[1])
            computed = await uow.summaries.ledger_sums(_spans(brand.zone, *times), whole_ledger=from_day is None)
            if from_day is not None:
                computed = computed.from_day(from_day)
            return Verification(computed.differences(await uow.summaries.stored(from_day)))

        return await self.transactions.read(work, heavy=True)

    async def _verify_figures(self) -> Verification:
        async def work(uow: "UnitOfWork") -> Verification:
            await uow.summaries.snapshot()
            brand = await brand_settings(uow)
            if not (await summary_status(uow)).usable(brand):
                return Verification([], stale=True)
            return Verification((await _figures_from_rows(uow, brand)).differences(await uow.figures.stored()))

        return await self.transactions.read(work, heavy=True)


async def _figures_from_rows(uow: "UnitOfWork", brand: "BrandSettings") -> "Figures":
    """The day figures of items, tasks and campaigns (domain/day_figures.py) from their rows, all of
    them: those tables are a fraction of the ledger, and a row counted on an earlier day changes when
    a redemption is cancelled or an order refunded."""
    times = await uow.figures.row_times()
    return await uow.figures.computed(_spans(brand.zone, *times) if times else [])


def _spans(zone: ZoneInfo, first: datetime, last: datetime) -> list[OffsetSpan]:
    return offset_spans(zone, first, last + INSTANT)
