"""The operator's numbers, read from what earning and spending wrote, over days in the brand's time zone.

Definitions (every figure is in points unless it says fen):

* ``earned``: every credit (positive entry) of the day but refunds: the points issued, less
  ``refundedOrderPoints``: the order points a refund took back that day (its ``REVERSAL``
  entry), so points of refunded orders never count as earned. What a refund could not take back
  at once (the member had spent it) is debt, taken back as the member earns again and counted
  in ``reversed`` then.
* ``refunded``: ``REVERSAL`` credits, points given back when a redemption or deduction is cancelled.
* ``burned``: what members spent: the debits of ``REDEMPTION``, ``CHECKOUT``, ``DEDUCTION``,
  ``LOTTERY_ENTRY``, ``EXCHANGE_OUT`` and ``CONVERSION``; ``converted``: the last of them alone,
  idle or expiring points turned into a better benefit.
* ``expired``: the ``EXPIRY`` debits (breakage).
* ``reversed``: ``REVERSAL`` debits and staff's negative ``ADJUSTMENT``\\s: points taken back,
  order refunds left out (they come off ``earned``).
* ``gifted``: points members gave each other (``GIFT_OUT``; each gift's ``GIFT_IN`` is the same
  points arriving): neither earned nor burned, as they only changed hands.
  So earned + refunded - burned - expired - reversed is how much the members' balances grew.
* ``redemptionRate`` = burned / earned and ``breakageRate`` = expired / earned over the range
  (0 when nothing was earned).
* An active member did something themselves that day (the same reasons the segments use:
  earning by their own action or spending; expiry and staff corrections do not count).
* Liability: the points members hold (spendable and held) and, separately, pending ones; valued in
  fen at the brand's deduction rate (what the points would take off an order: 100 points = 1 yuan
  in the demo), rounded down.
* Liability and the tier distribution sum every member: a process keeps each for
  ``TOTALS_LIFETIME`` and says when it was taken (``as_of``); ``refresh`` takes it again now.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from domain.brand import BrandSettings, brand_settings
from domain.day_figures import STORE_KINDS, FigureKind, campaign_shares
from domain.day_summaries import RANGE_DAYS, summary_status
from domain.deductions import deduction_rule
from domain.errors import InvalidInput
from domain.ledger import LedgerReason

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.ports import Transactions, UnitOfWork

MAX_DAYS = RANGE_DAYS
TOTALS_LIFETIME = timedelta(minutes=1)
BURN_REASONS = frozenset({LedgerReason.REDEMPTION, LedgerReason.CHECKOUT, LedgerReason.DEDUCTION,
                          LedgerReason.LOTTERY_ENTRY, LedgerReason.EXCHANGE_OUT, LedgerReason.CONVERSION})
TAKEN_BACK_REASONS = frozenset({LedgerReason.REVERSAL, LedgerReason.ADJUSTMENT})
# Credits that issue nothing: refunds, balances carried over by an import (earned elsewhere, before
# Jifen) and gifts (points that only changed hands).
NOT_EARNED = frozenset({LedgerReason.REVERSAL, LedgerReason.OPENING, LedgerReason.GIFT_IN})


@dataclass(frozen=True)
class ReasonFlow:
    reason: LedgerReason
    credited: int = 0
    debited: int = 0  # a positive number of points


@dataclass(frozen=True)
class DayFlow:
    day: date
    reasons: dict[LedgerReason, ReasonFlow]
    active_members: int
    refunded_order_points: int = 0  # REVERSAL debits that took back order points

    def _credited(self, reasons) -> int:
        return sum(f.credited for r, f in self.reasons.items() if r in reasons)

    def _debited(self, reasons) -> int:
        return sum(f.debited for r, f in self.reasons.items() if r in reasons)

    @property
    def earned(self) -> int:
        return self._credited(set(LedgerReason) - NOT_EARNED) - self.refunded_order_points

    @property
    def gifted(self) -> int:
        return self._debited({LedgerReason.GIFT_OUT})

    @property
    def converted(self) -> int:
        return self._debited({LedgerReason.CONVERSION})

    @property
    def refunded(self) -> int:
        return self._credited({LedgerReason.REVERSAL})

    @property
    def burned(self) -> int:
        return self._debited(BURN_REASONS)

    @property
    def expired(self) -> int:
        return self._debited({LedgerReason.EXPIRY})

    @property
    def reversed(self) -> int:
        return self._debited(TAKEN_BACK_REASONS) - self.refunded_order_points


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    days: list[DayFlow]
    active_members: int  # distinct over the whole range
    weekly_active: list[tuple[date, int]] = field(default_factory=list)  # (Monday, members)

    @property
    def earned(self) -> int:
        return sum(d.earned for d in self.days)

    @property
    def refunded(self) -> int:
        return sum(d.refunded for d in self.days)

    @property
    def burned(self) -> int:
        return sum(d.burned for d in self.days)

    @property
    def expired(self) -> int:
        return sum(d.expired for d in self.days)

    @property
    def reversed(self) -> int:
        return sum(d.reversed for d in self.days)

    @property
    def refunded_order_points(self) -> int:
        return sum(d.refunded_order_points for d in self.days)

    @property
    def gifted(self) -> int:
        return sum(d.gifted for d in self.days)

    @property
    def converted(self) -> int:
        return sum(d.converted for d in self.days)

    @property
    def redemption_rate(self) -> float:
        return self.burned / self.earned if self.earned else 0.0

    @property
    def breakage_rate(self) -> float:
        return self.expired / self.earned if self.earned else 0.0


@dataclass(frozen=True)
class Liability:
    outstanding_points: int
    held_points: int
    pending_points: int
    debt_points: int
    members_with_points: int
    points_per_yuan: int
    as_of: datetime | None = None

    @property
    def value_fen(self) -> int:
        return self.outstanding_points * 100 // self.points_per_yuan


@dataclass(frozen=True)
class ItemHeat:
    item_id: int
    item_name: str
    redemptions: int
    quantity: int
    points: int
    members: int
    views: int = 0  # member-days: a member viewing an item counts once a day

    @property
    def conversion(self) -> float | None:
        """Redemptions per view; None when nobody viewed it (views are recorded by the front end)."""
        return self.redemptions / self.views if self.views else None


@dataclass(frozen=True)
class Participation:
    code: str  # a task code, or a campaign code
    times: int  # completions, or orders boosted
    members: int
    points: int = 0  # bonus points a campaign paid on orders


@dataclass(frozen=True)
class StoreFigures:
    """What a store did over a range: its orders and the points they are worth after refunds
    (pending or credited), the points its till took off bills, the coupons its till redeemed."""

    store_id: str
    orders: int = 0
    points_earned: int = 0
    deductions: int = 0
    points_burned: int = 0
    coupons_redeemed: int = 0
    coupon_value_fen: int = 0


def store_figures(counts: dict[str, dict[str, tuple]], store_id: str | None) -> list[StoreFigures]:
    """Per store with anything to show, from the counts of each STORE_* figure kind."""
    orders, taken, used = (counts.get(kind.value, {}) for kind in STORE_KINDS)
    none = (0, 0, 0, 0)
    shown = []
    for store in sorted(orders.keys() | taken.keys() | used.keys()):
        (ordered, _, earned, _), (deducted, _, burned, _), (redeemed, value, _, _) = (
            found.get(store, none) for found in (orders, taken, used))
        if store_id in (None, store) and any((ordered, earned, deducted, burned, redeemed, value)):
            shown.append(StoreFigures(store, ordered, earned, deducted, burned, redeemed, value))
    return shown


class AnalyticsService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock
        self._kept: dict[str, tuple[datetime, object]] = {}  # totals over every member, and when taken

    async def _kept_or_taken(self, name: str, take, refresh: bool):
        """(when taken, value): kept for ``TOTALS_LIFETIME``, taken again now when asked to ``refresh``."""
        now = self.clock.now()
        kept = self._kept.get(name)
        if not refresh and kept is not None and kept[0] <= now < kept[0] + TOTALS_LIFETIME:
            return kept
        self._kept[name] = (now, await take())
        return self._kept[name]

    async def period(self, first_day: date, last_day: date) -> Period:
        _check_range(first_day, last_day)

        async def work(uow: "UnitOfWork") -> Period:
            brand = await brand_settings(uow)
            days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
            if (await summary_status(uow)).usable(brand):
                return await _summarised_period(uow, days)
            flows = [await _day_flow(uow, brand, day) for day in days]
            start, end = _bounds(brand, first_day, last_day)
            weeks = [(monday, await uow.analytics.active_members(*_bounds(brand, max(monday, first_day),
                                                                             min(monday + timedelta(days=6), last_day))))
                     for monday in _mondays(days)]
            return Period(first_day, last_day, flows, await uow.analytics.active_members(start, end), weeks)

        return await self.transactions.read(work, heavy=True)

    async def liability(self, *, refresh: bool = False) -> Liability:
        async def work(uow: "UnitOfWork") -> Liability:
            totals = await uow.analytics.balances()
            return Liability(*totals, (await deduction_rule(uow)).points_per_yuan)

        as_of, liability = await self._kept_or_taken(
            "liability", lambda: self.transactions.read(work, heavy=True), refresh)
        return replace(liability, as_of=as_of)

    async def expiring_within(self, days: int) -> int:
        if not 1 <= days <= 730:
            raise InvalidInput("days must be 1-730", ("days",))
        until = self.clock.now() + timedelta(days=days)
        return await self.transactions.read(lambda uow: uow.analytics.expiring_points(self.clock.now(), until),
                                            heavy=True)

    async def tier_distribution(self, *, refresh: bool = False) -> tuple[datetime, dict[int, int]]:
        """(when counted, members per tier level)."""
        return await self._kept_or_taken(
            "tiers", lambda: self.transactions.read(lambda uow: uow.analytics.tier_counts(), heavy=True), refresh)

    async def item_heat(self, first_day: date, last_day: date, limit: int) -> list[ItemHeat]:
        """The most redeemed items with their views, and the most viewed ones even if nobody redeemed them."""
        return await self._ranged(first_day, last_day, _item_heat_from_rows, _item_heat_from_figures, limit)

    async def task_participation(self, first_day: date, last_day: date) -> list[Participation]:
        return await self._ranged(first_day, last_day, lambda uow, _f, _l, bounds: uow.analytics.task_participation(
            *bounds), _tasks_from_figures)

    async def campaign_participation(self, first_day: date, last_day: date) -> list[Participation]:
        return await self._ranged(first_day, last_day, _campaign_participation, _campaigns_from_figures)

    async def store_figures(self, first_day: date, last_day: date, store_id: str | None) -> list[StoreFigures]:
        """Every store with something in the range (or the one asked for)."""
        return await self._ranged(first_day, last_day, _stores_from_rows, _stores_from_figures, store_id)

    async def _ranged(self, first_day: date, last_day: date, from_rows, from_figures, *args):
        """From the day figures (domain/day_figures.py) while they are keyed in the brand's time zone,
        else from the rows themselves."""
        _check_range(first_day, last_day)

        async def work(uow: "UnitOfWork"):
            brand = await brand_settings(uow)
            bounds = _bounds(brand, first_day, last_day)
            if (await summary_status(uow)).usable(brand):
                return await from_figures(uow, first_day, last_day, bounds, *args)
            return await from_rows(uow, first_day, last_day, bounds, *args)

        return await self.transactions.read(work, heavy=True)


async def _stores_from_rows(uow: "UnitOfWork", _first: date, _last: date, bounds: tuple[datetime, datetime],
                            store_id: str | None) -> list[StoreFigures]:
    return store_figures(await uow.analytics.store_counts(*bounds, store_id), store_id)


async def _stores_from_figures(uow: "UnitOfWork", first_day: date, last_day: date, _bounds: tuple[datetime, datetime],
                               store_id: str | None) -> list[StoreFigures]:
    return store_figures({kind.value: await uow.figures.sums(kind, first_day, last_day) for kind in STORE_KINDS},
                         store_id)


def _heat_order(heat: ItemHeat):
    return -heat.quantity, -heat.views, heat.item_id


async def _item_heat_from_rows(uow: "UnitOfWork", first_day: date, last_day: date,
                               bounds: tuple[datetime, datetime], limit: int) -> list[ItemHeat]:
    redeemed = {h.item_id: h for h in await uow.analytics.item_heat(*bounds, limit)}
    views = await uow.analytics.item_views(first_day, last_day, list(redeemed), limit)
    for item_id, (name, count) in (await uow.analytics.item_views(first_day, last_day, None, limit)).items():
        views.setdefault(item_id, (name, count))
    heat = [replace(redeemed[i], views=views.get(i, ("", 0))[1]) if i in redeemed else
            ItemHeat(i, views[i][0], 0, 0, 0, 0, views[i][1]) for i in {*redeemed, *views}]
    return sorted(heat, key=_heat_order)[:limit]


async def _item_heat_from_figures(uow: "UnitOfWork", first_day: date, last_day: date,
                                  bounds: tuple[datetime, datetime], limit: int) -> list[ItemHeat]:
    sums = {int(code): counts for code, counts in (await uow.figures.sums(FigureKind.ITEM, first_day, last_day)).items()
            if any(counts)}
    shown = sorted(sums, key=lambda i: (-sums[i][1], -sums[i][3], i))[:limit]
    names = {item.id: item.name for item in await uow.mall.get_many(shown)} if shown else {}
    buyers = await uow.analytics.item_buyers(*bounds, shown) if shown else {}
    return [ItemHeat(i, names.get(i, ""), sums[i][0], sums[i][1], sums[i][2], buyers.get(i, 0), sums[i][3])
            for i in shown]


async def _tasks_from_figures(uow: "UnitOfWork", first_day: date, last_day: date,
                              bounds: tuple[datetime, datetime]) -> list[Participation]:
    return await _participation_from_figures(uow, FigureKind.TASK, first_day, last_day,
                                             lambda codes: uow.analytics.task_members(*bounds, codes))


async def _campaigns_from_figures(uow: "UnitOfWork", first_day: date, last_day: date,
                                  bounds: tuple[datetime, datetime]) -> list[Participation]:
    return await _participation_from_figures(uow, FigureKind.CAMPAIGN, first_day, last_day,
                                             lambda _codes: uow.analytics.campaign_members(*bounds))


async def _participation_from_figures(uow: "UnitOfWork", kind: FigureKind, first_day: date, last_day: date,
                                      members_of) -> list[Participation]:
    """Times and points summed per code (a task's figures hold no points), and the distinct members
    counted from the rows of the codes shown."""
    sums = {code: counts for code, counts in (await uow.figures.sums(kind, first_day, last_day)).items() if counts[0]}
    people = await members_of(sorted(sums)) if sums else {}
    return [Participation(code, sums[code][0], people.get(code, 0), sums[code][2]) for code in sorted(sums)]


async def _campaign_participation(uow: "UnitOfWork", first_day: date, last_day: date,
                                  bounds: tuple[datetime, datetime]) -> list[Participation]:
    """Per campaign, though one order may name two (see `campaign_shares`); an order refunded in
    full took part in nothing, a partly refunded one counts the bonus it kept."""
    times: dict[str, int] = {}
    members: dict[str, set[int]] = {}
    points: dict[str, int] = {}
    for codes, member_id, *order in await uow.analytics.campaign_orders(*bounds):
        for code, share in campaign_shares(codes, *order).items():
            times[code] = times.get(code, 0) + 1
            members.setdefault(code, set()).add(member_id)
            points[code] = points.get(code, 0) + share
    return [Participation(code, times[code], len(members[code]), points[code]) for code in sorted(times)]


def _check_range(first_day: date, last_day: date) -> None:
    if last_day < first_day or (last_day - first_day).days >= MAX_DAYS:
        raise InvalidInput(f"a range is 1-{MAX_DAYS} days, from <= to", ("from", "to"))


def _bounds(brand: BrandSettings, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    return brand.start_of_local_day(first_day), brand.start_of_local_day(last_day + timedelta(days=1))


async def _summarised_period(uow: "UnitOfWork", days: list[date]) -> Period:
    """From the day summaries: rows per day, whatever the entries per day."""
    first_day, last_day = days[0], days[-1]
    flows, active = await uow.summaries.flows(first_day, last_day), await uow.summaries.active_counts(first_day, last_day)
    day_flows = [DayFlow(day, {reason: ReasonFlow(reason, credited, debited)
                               for reason, (credited, debited, _) in flows.get(day, {}).items()},
                         active.on(day), sum(refunds for _, _, refunds in flows.get(day, {}).values()))
                 for day in days]
    weeks = [(monday, active.between(max(monday, first_day), min(monday + timedelta(days=6), last_day)))
             for monday in _mondays(days)]
    return Period(first_day, last_day, day_flows, active.between(first_day, last_day), weeks)


def _mondays(days: list[date]) -> list[date]:
    return sorted({d - timedelta(days=d.weekday()) for d in days})


async def _day_flow(uow: "UnitOfWork", brand: BrandSettings, day: date) -> DayFlow:
    start, end = _bounds(brand, day, day)
    sums = await uow.analytics.flow(start, end)
    reasons = {reason: ReasonFlow(reason, credited, debited) for reason, (credited, debited, _) in sums.items()}
    refunds = sum(order_refunds for _, _, order_refunds in sums.values())
    return DayFlow(day, reasons, await uow.analytics.active_members(start, end), refunds)
