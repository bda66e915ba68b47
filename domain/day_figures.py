"""Per-day figures of the mall, the tasks and the campaigns, kept beside the ledger's day summaries
(domain/day_summaries.py) so that a staff report over a range costs per day, not per redemption,
view, completion or order.

Keyed by (the brand's local day, kind, code, shard): an item's redemptions (times), quantity, points
and views (member-days: a member's views of an item count once a day); a task's completions; a
campaign's boosted orders and the bonus points they kept after refunds; a store's orders and the
points they are worth after refunds (pending or credited), its till's deductions and points taken,
its till's coupons redeemed and their face value (in ``quantity``). They are written by the
transaction that writes the rows they count (see ``FigureChange``), verified by `jifen check` and
built again with the ledger's sums by `jifen rebuild-summaries`.

The number of distinct members behind a figure is not a sum: analytics count it from the rows of the
few items, tasks or campaigns a report shows, through indexes that hold their member ids.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from domain.day_summaries import SHARDS
from domain.orders import worth_after_refunds

if TYPE_CHECKING:
    from domain.orders import PurchaseOrder


class FigureKind(str, Enum):
    ITEM = "ITEM"  # code: the item id
    TASK = "TASK"  # code: the task code
    CAMPAIGN = "CAMPAIGN"  # code: the campaign code
    STORE_ORDERS = "STORE_ORDERS"  # code: the store id; times: orders, points: what they are worth
    STORE_DEDUCTIONS = "STORE_DEDUCTIONS"  # times: deductions standing, points: points they took
    STORE_COUPONS = "STORE_COUPONS"  # times: coupons redeemed, quantity: their face value in fen


STORE_KINDS = (FigureKind.STORE_ORDERS, FigureKind.STORE_DEDUCTIONS, FigureKind.STORE_COUPONS)


FigureKey = tuple[date, str, str, int]  # (day, kind, code, shard)
Counts = tuple[int, int, int, int]  # (times, quantity, points, views)
NONE: Counts = (0, 0, 0, 0)


@dataclass(frozen=True)
class FigureChange:
    """What one written row adds to (or, negative, takes from) a figure. ``at``: the instant it
    happened, or for views the local day they were counted on already."""

    kind: FigureKind
    code: str
    member_id: int
    at: datetime | date
    times: int = 0
    quantity: int = 0
    points: int = 0
    views: int = 0

    def key(self, zone: ZoneInfo) -> FigureKey:
        day = self.at.astimezone(zone).date() if isinstance(self.at, datetime) else self.at
        return day, self.kind.value, self.code, self.member_id % SHARDS

    @property
    def counts(self) -> Counts:
        return self.times, self.quantity, self.points, self.views


class Figures(dict[FigureKey, Counts]):
    """Figures by key; adding a change or another row sums them, and a key summing to nothing goes."""

    def add(self, key: FigureKey, counts: Iterable[int]) -> None:
        summed = tuple(a + int(b) for a, b in zip(self.get(key, NONE), counts))
        if summed == NONE:
            self.pop(key, None)
        else:
            self[key] = summed

    @classmethod
    def of(cls, changes: Iterable[FigureChange], zone: ZoneInfo) -> "Figures":
        figures = cls()
        for change in changes:
            figures.add(change.key(zone), change.counts)
        return figures

    def differences(self, stored: "Figures", shown: int = 20) -> list[str]:
        """Where ``stored`` disagrees with these (computed from the rows), as readable lines (the first ``shown``)."""
        return [f"figures {day} {kind} {code} {shard}: {stored.get(key, NONE)} summed, "
                f"{self.get(key, NONE)} in the rows (times, quantity, points, views)"
                for key in sorted(self.keys() | stored.keys()) for day, kind, code, shard in [key]
                if self.get(key, NONE) != stored.get(key, NONE)][:shown]


def campaign_shares(codes: str, base_points: int, bonus_points: int, threshold_points: int, amount_fen: int,
                    refunded_fen: int) -> dict[str, int]:
    """Each named campaign's part of the bonus an order keeps after refunds; {} once wholly refunded
    (it took part in nothing). One order may name two (``multiplier+threshold``): the threshold
    campaign is credited what it paid when the order was placed, the multiplier the rest."""
    if refunded_fen >= amount_fen:
        return {}
    _, bonus = worth_after_refunds(base_points, bonus_points, amount_fen, refunded_fen)
    named = codes.split("+")
    if threshold_points and len(named) > 1:
        threshold = min(threshold_points, bonus)
        return {named[0]: bonus - threshold, named[-1]: threshold}
    return {named[0]: bonus}


def order_shares(order: "PurchaseOrder | None") -> dict[str, int]:
    if order is None or order.campaign_code is None:
        return {}
    return campaign_shares(order.campaign_code, order.base_points, order.bonus_points, order.threshold_points, order.amount_fen,
                           order.refunded_fen)


def order_changes(before: "PurchaseOrder | None", after: "PurchaseOrder") -> list[FigureChange]:
    """What saving ``after`` (over ``before``, None when new) changes in its campaigns' and its
    store's figures, on the day it was placed."""
    was, now = order_shares(before), order_shares(after)
    changes = [FigureChange(FigureKind.CAMPAIGN, code, after.member_id, after.placed_at,
                            times=(code in now) - (code in was), points=now.get(code, 0) - was.get(code, 0))
               for code in sorted(was.keys() | now.keys())
               if (code in now) != (code in was) or now.get(code) != was.get(code)]
    if after.store_id is not None:
        (times_was, points_was), (times_now, points_now) = store_share(before), store_share(after)
        if (times_was, points_was) != (times_now, points_now):
            changes.append(FigureChange(FigureKind.STORE_ORDERS, after.store_id, after.member_id, after.placed_at,
                                        times=times_now - times_was, points=points_now - points_was))
    return changes


def store_share(order: "PurchaseOrder | None") -> tuple[int, int]:
    """(1, the points it is worth after refunds) for an order that stands; (0, 0) once wholly refunded."""
    if order is None:
        return 0, 0
    return order_store_counts(order.base_points, order.bonus_points, order.amount_fen, order.refunded_fen)


def order_store_counts(base_points: int, bonus_points: int, amount_fen: int, refunded_fen: int) -> tuple[int, int]:
    if refunded_fen >= amount_fen:
        return 0, 0
    return 1, sum(worth_after_refunds(base_points, bonus_points, amount_fen, refunded_fen))
