"""The points ledger: immutable entries, expiring lots and holds.

A member's points live in one ``PointsAccount``. Every change appends a
``LedgerEntry``; nothing is ever edited. Earned points go into *lots* keyed by
their expiry instant (points earned in the same month share one lot, so a
member has a handful of open lots, not one per check-in). Spending consumes
the lots that expire first. Holds reserve points without spending them.

Points not yet earned for good (an order inside its return window) are
``pending``: counted, shown, but not spendable until released. A reversal
that finds the points already spent takes what is available and records the
rest as ``debt``, which later credits repay first.

Invariants, checked by ``audit_account`` and by the property tests:
  balance == sum(entry deltas) == sum(lot remaining)
  held == sum(active hold amounts)
  available == balance - held >= 0
  pending >= 0, debt >= 0
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum

from domain.errors import ErrorCode, InvalidInput, Refusal

# Points that never expire sit in a lot with this expiry, so FIFO ordering stays a plain sort.
NEVER = datetime(9999, 12, 31, tzinfo=UTC)
MAX_POINTS_PER_ENTRY = 100_000_000


class LedgerReason(str, Enum):
    CHECK_IN = "CHECK_IN"
    TASK = "TASK"
    ORDER = "ORDER"
    REVIEW = "REVIEW"
    INVITE = "INVITE"
    ASSIST = "ASSIST"
    CAMPAIGN_BONUS = "CAMPAIGN_BONUS"
    STREAK_BONUS = "STREAK_BONUS"
    CHECK_IN_TOTAL = "CHECK_IN_TOTAL"  # a reward at a total of check-in days (in a month, or all told)
    REDEMPTION = "REDEMPTION"
    CHECKOUT = "CHECKOUT"
    DEDUCTION = "DEDUCTION"
    LOTTERY_ENTRY = "LOTTERY_ENTRY"
    LOTTERY_PRIZE = "LOTTERY_PRIZE"
    EXPIRY = "EXPIRY"
    REVERSAL = "REVERSAL"
    EXCHANGE_OUT = "EXCHANGE_OUT"
    EXCHANGE_IN = "EXCHANGE_IN"
    ADJUSTMENT = "ADJUSTMENT"
    LEADERBOARD_PRIZE = "LEADERBOARD_PRIZE"
    GIFT_OUT = "GIFT_OUT"  # points given to another member (domain/gifts.py)
    GIFT_IN = "GIFT_IN"  # points another member gave; they keep the expiry they had
    CONVERSION = "CONVERSION"  # idle or expiring points turned into a better benefit (domain/conversions.py)
    OPENING = "OPENING"  # a balance carried over from the brand's earlier system (domain/imports.py)


# Growth (成长值) follows engagement, so bought, exchanged, won or staff-granted points do not raise a tier.
GROWTH_REASONS = frozenset({
    LedgerReason.CHECK_IN, LedgerReason.TASK, LedgerReason.ORDER, LedgerReason.REVIEW,
    LedgerReason.INVITE, LedgerReason.ASSIST, LedgerReason.CAMPAIGN_BONUS, LedgerReason.STREAK_BONUS,
    LedgerReason.CHECK_IN_TOTAL,
})


# What a member does themselves; expiry, reversals and staff adjustments happen to them.
ACTIVITY_REASONS = frozenset({
    LedgerReason.CHECK_IN, LedgerReason.TASK, LedgerReason.ORDER, LedgerReason.REVIEW, LedgerReason.INVITE,
    LedgerReason.ASSIST, LedgerReason.REDEMPTION, LedgerReason.CHECKOUT, LedgerReason.DEDUCTION,
    LedgerReason.LOTTERY_ENTRY, LedgerReason.EXCHANGE_OUT, LedgerReason.EXCHANGE_IN, LedgerReason.GIFT_OUT,
})


class GrowthReason(str, Enum):
    """Why growth moved other than by earning (earning shows in the ledger itself)."""

    REFUND = "REFUND"  # an order's growth taken back with its refund
    OPENING = "OPENING"  # growth carried over from the brand's earlier system
    TIER_UPKEEP = "TIER_UPKEEP"  # upkeep lowered the tier: growth above the new tier's range is let go


@dataclass(frozen=True)
class GrowthChange:
    member_id: int
    delta: int
    growth_after: int
    reason: GrowthReason
    occurred_at: datetime
    actor: str
    memo: str | None = None
    ref: str | None = None
    id: int | None = None


class HoldStatus(str, Enum):
    ACTIVE = "ACTIVE"
    SETTLED = "SETTLED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class LedgerEntry:
    member_id: int
    delta: int
    balance_after: int
    reason: LedgerReason
    occurred_at: datetime
    actor: str
    expires_at: datetime | None = None
    memo: str | None = None
    ref: str | None = None
    id: int | None = None


@dataclass
class Hold:
    member_id: int
    amount: int
    reason: LedgerReason
    created_at: datetime
    expires_at: datetime
    ref: str | None = None
    status: HoldStatus = HoldStatus.ACTIVE
    resolved_at: datetime | None = None
    id: int | None = None

    def is_due(self, now: datetime) -> bool:
        return self.status is HoldStatus.ACTIVE and self.expires_at <= now


def unaffordable(available: int | None, needed: int) -> Refusal | None:
    """The refusal of a spend of `needed` points out of `available` (None: not known, not refused)."""
    if available is None or needed <= available:
        return None
    return Refusal(ErrorCode.INSUFFICIENT_POINTS, f"not enough points: {available} available, {needed} needed",
                   ("points",))


def require_positive_points(points: int, field: tuple[str, ...]) -> None:
    if points <= 0 or points > MAX_POINTS_PER_ENTRY:
        raise InvalidInput(f"points must be between 1 and {MAX_POINTS_PER_ENTRY}", field)


@dataclass
class PointsAccount:
    member_id: int
    balance: int = 0
    held: int = 0
    lifetime_earned: int = 0
    growth: int = 0
    pending: int = 0
    debt: int = 0
    period_growth: int = 0  # growth earned in the current upkeep period, less growth taken back in it
    last_active_at: datetime | None = None  # the latest entry of the member's own doing (ACTIVITY_REASONS)
    lots: dict[datetime, int] = field(default_factory=dict)
    new_entries: list[LedgerEntry] = field(default_factory=list)
    new_growth_changes: list[GrowthChange] = field(default_factory=list)
    changed_lots: set[datetime] = field(default_factory=set)
    new_holds: list[Hold] = field(default_factory=list)
    changed_holds: list[Hold] = field(default_factory=list)

    @property
    def available(self) -> int:
        return self.balance - self.held

    def credit(self, points: int, reason: LedgerReason, at: datetime, expires_at: datetime | None,
               actor: str, memo: str | None = None, ref: str | None = None) -> LedgerEntry:
        require_positive_points(points, ("points",))
        lot = expires_at or NEVER
        self.lots[lot] = self.lots.get(lot, 0) + points
        self.changed_lots.add(lot)
        self.lifetime_earned += points
        if reason in GROWTH_REASONS:
            self.growth += points
            self.period_growth += points
        entry = self._append(points, reason, at, actor, expires_at, memo, ref)
        self._repay_debt(at)
        return entry

    def take_back_growth(self, points: int, reason: GrowthReason, at: datetime, actor: str,
                         memo: str | None = None, ref: str | None = None) -> GrowthChange | None:
        """Lower growth (never below 0); the current period loses it too, whenever it was earned, so
        growth bought to keep a tier and refunded after upkeep counts against the next judgement."""
        taken = min(points, self.growth)
        if taken <= 0:
            return None
        self.growth -= taken
        self.period_growth -= taken
        change = GrowthChange(self.member_id, -taken, self.growth, reason, at, actor, memo, ref)
        self.new_growth_changes.append(change)
        return change

    def add_pending(self, points: int) -> None:
        require_positive_points(points, ("points",))
        self.pending += points

    def drop_pending(self, points: int) -> None:
        if not 0 <= points <= self.pending:
            raise AssertionError(f"member {self.member_id} has {self.pending} pending, cannot drop {points}")
        self.pending -= points

    def reverse(self, points: int, at: datetime, actor: str, memo: str | None = None,
                ref: str | None = None) -> LedgerEntry | None:
        """Take back points already credited: what is available now, the rest as debt."""
        require_positive_points(points, ("points",))
        taken = min(points, self.available)
        self.debt += points - taken
        if not taken:
            return None
        self._consume_lots(taken)
        return self._append(-taken, LedgerReason.REVERSAL, at, actor, None, memo, ref)

    def _repay_debt(self, at: datetime) -> None:
        repaid = min(self.debt, self.available)
        if repaid <= 0:
            return
        self.debt -= repaid
        self._consume_lots(repaid)
        self._append(-repaid, LedgerReason.REVERSAL, at, "system:debt", None, "偿还欠分 (repays an earlier reversal)", "debt")

    def debit(self, points: int, reason: LedgerReason, at: datetime, actor: str,
              memo: str | None = None, ref: str | None = None) -> LedgerEntry:
        require_positive_points(points, ("points",))
        if (refusal := unaffordable(self.available, points)) is not None:
            raise refusal
        self._consume_lots(points)
        return self._append(-points, reason, at, actor, None, memo, ref)

    def giftable(self, expiring_after: datetime) -> int:
        """Points that could leave the account without touching lots expiring by ``expiring_after``.
        Held points are settled from the first-expiring lots, so holds larger than those lots eat
        into the later ones."""
        soon = sum(v for k, v in self.lots.items() if k <= expiring_after)
        later = self.balance - soon
        return max(0, min(self.available, later - max(0, self.held - soon)))

    def give(self, points: int, expiring_after: datetime, at: datetime, actor: str, memo: str | None = None,
             ref: str | None = None) -> tuple[LedgerEntry, dict[datetime, int]]:
        """Debit from the first-expiring lots among those expiring after ``expiring_after``: one entry,
        and how many points came out of each lot, so the receiver can keep their expiry."""
        require_positive_points(points, ("points",))
        if (refusal := unaffordable(self.giftable(expiring_after), points)) is not None:
            raise refusal
        taken, left = {}, points
        for lot in sorted(k for k in self.lots if k > expiring_after):
            if not left:
                break
            taken[lot] = min(left, self.lots[lot])
            self._take_from_lot(lot, taken[lot])
            left -= taken[lot]
        return self._append(-points, LedgerReason.GIFT_OUT, at, actor, None, memo, ref), taken

    def expire_due(self, now: datetime, actor: str = "system:expiry") -> list[LedgerEntry]:
        """Write an EXPIRY entry per lot whose time has come.

        Points reserved by an active hold were promised before they expired, so
        they stay until the hold resolves; a released hold's points expire on
        the next sweep.
        """
        entries = []
        expirable = self.available
        for lot in sorted(k for k in self.lots if k <= now):
            points = min(self.lots[lot], expirable)
            if points <= 0:
                break
            expirable -= points
            self._take_from_lot(lot, points)
            entries.append(self._append(-points, LedgerReason.EXPIRY, now, actor, None,
                                        f"lot expiring {lot.isoformat()}", f"lot:{lot.isoformat()}"))
        return entries

    def expiring_between(self, start: datetime, end: datetime) -> int:
        """Points that will expire in (start, end] unless spent; held points go first on settle."""
        due = sum(v for k, v in self.lots.items() if start < k <= end)
        return max(0, due - self.held) if due else 0

    def place_hold(self, points: int, reason: LedgerReason, at: datetime, expires_at: datetime,
                   ref: str | None = None) -> Hold:
        require_positive_points(points, ("points",))
        if (refusal := unaffordable(self.available, points)) is not None:
            raise refusal
        if expires_at <= at:
            raise InvalidInput("a hold must expire in the future", ("expiresAt",))
        self.held += points
        hold = Hold(self.member_id, points, reason, at, expires_at, ref)
        self.new_holds.append(hold)
        return hold

    def settle_hold(self, hold: Hold, at: datetime, actor: str, memo: str | None = None,
                    ref: str | None = None) -> LedgerEntry:
        self._resolve(hold, HoldStatus.SETTLED, at)
        self._consume_lots(hold.amount)
        return self._append(-hold.amount, hold.reason, at, actor, None, memo, ref or f"hold:{hold.id}")

    def release_hold(self, hold: Hold, at: datetime, *, expired: bool = False) -> None:
        self._resolve(hold, HoldStatus.EXPIRED if expired else HoldStatus.RELEASED, at)

    def _resolve(self, hold: Hold, status: HoldStatus, at: datetime) -> None:
        if hold.member_id != self.member_id:
            raise InvalidInput("hold belongs to another member", ("holdId",))
        if hold.status is not HoldStatus.ACTIVE:
            raise Refusal(ErrorCode.HOLD_NOT_ACTIVE, f"hold is already {hold.status.value.lower()}", ("holdId",))
        hold.status = status
        hold.resolved_at = at
        self.held -= hold.amount
        self.changed_holds.append(hold)

    def _consume_lots(self, points: int) -> None:
        for lot in sorted(self.lots):
            if points == 0:
                return
            taken = min(points, self.lots[lot])
            self._take_from_lot(lot, taken)
            points -= taken
        if points:
            raise AssertionError(f"lots of member {self.member_id} short by {points}: ledger corrupt")

    def _take_from_lot(self, lot: datetime, points: int) -> None:
        self.lots[lot] -= points
        self.changed_lots.add(lot)

    def _append(self, delta: int, reason: LedgerReason, at: datetime, actor: str,
                expires_at: datetime | None, memo: str | None, ref: str | None) -> LedgerEntry:
        if reason in ACTIVITY_REASONS and (self.last_active_at is None or at > self.last_active_at):
            self.last_active_at = at
        self.balance += delta
        entry = LedgerEntry(self.member_id, delta, self.balance, reason, at, actor, expires_at, memo, ref)
        self.new_entries.append(entry)
        return entry

    def checkpoint(self) -> tuple:
        return (self.balance, self.held, self.lifetime_earned, self.growth, self.period_growth, self.last_active_at,
                self.pending, self.debt, dict(self.lots), len(self.new_entries), len(self.new_growth_changes),
                set(self.changed_lots), len(self.new_holds), len(self.changed_holds))

    def restore(self, checkpoint: tuple) -> None:
        """Undo a rule that refused halfway, so a refusal never leaves a partial change behind."""
        (self.balance, self.held, self.lifetime_earned, self.growth, self.period_growth, self.last_active_at,
         self.pending, self.debt, self.lots, entries, growth_changes, self.changed_lots, holds,
         changed_holds) = checkpoint
        del self.new_entries[entries:]
        del self.new_growth_changes[growth_changes:]
        del self.new_holds[holds:]
        for hold in self.changed_holds[changed_holds:]:
            hold.status, hold.resolved_at = HoldStatus.ACTIVE, None
        del self.changed_holds[changed_holds:]

    def mark_saved(self) -> None:
        self.new_entries.clear()
        self.new_growth_changes.clear()
        self.changed_lots.clear()
        self.new_holds.clear()
        self.changed_holds.clear()
        self.lots = {k: v for k, v in self.lots.items() if v}


def with_id(entry: LedgerEntry, entry_id: int) -> LedgerEntry:
    return replace(entry, id=entry_id)


@dataclass(frozen=True)
class AccountSnapshot:
    """What storage says about one member, gathered independently of the running balance."""

    member_id: int
    balance: int
    held: int
    entry_deltas: list[int]
    entry_balances_after: list[int]
    lots_remaining: int
    active_holds: int
    pending: int = 0
    pending_orders: int = 0
    debt: int = 0
    growth: int = 0
    growth_earned: int = 0  # credits of the reasons that raise growth
    growth_changed: int = 0  # the sum of growth changes (takebacks)


@dataclass(frozen=True)
class MemberTotals:
    """What storage says about one member in sums, gathered by grouped queries over many members at once."""

    member_id: int
    balance: int
    held: int
    pending: int
    debt: int
    growth: int
    entries_sum: int = 0
    # The first entry whose balanceAfter is off: (its position from 1, its balanceAfter, the entries' sum there)
    first_broken_entry: tuple[int, int, int] | None = None
    growth_earned: int = 0
    lots_remaining: int = 0
    active_holds: int = 0
    pending_orders: int = 0
    growth_changed: int = 0


def audit_account(s: AccountSnapshot) -> list[str]:
    """Recompute a member's balances from their entries; return every disagreement found."""
    running, broken = 0, None
    for position, (delta, after) in enumerate(zip(s.entry_deltas, s.entry_balances_after)):
        running += delta
        if after != running and broken is None:
            broken = (position + 1, after, running)
    return audit_totals(MemberTotals(
        s.member_id, s.balance, s.held, s.pending, s.debt, s.growth, running, broken, s.growth_earned,
        s.lots_remaining, s.active_holds, s.pending_orders, s.growth_changed))


def audit_totals(t: MemberTotals) -> list[str]:
    """Every disagreement between a member's stored balances and the sums of what they are made of."""
    problems = []
    if t.first_broken_entry is not None:
        position, after, running = t.first_broken_entry
        problems.append(f"entry #{position}: balanceAfter {after}, entries sum to {running}")
    if t.entries_sum != t.balance:
        problems.append(f"balance {t.balance} but entries sum to {t.entries_sum}")
    if t.lots_remaining != t.balance:
        problems.append(f"balance {t.balance} but lots hold {t.lots_remaining}")
    if t.active_holds != t.held:
        problems.append(f"held {t.held} but active holds sum to {t.active_holds}")
    if t.balance - t.held < 0:
        problems.append(f"available is negative: {t.balance - t.held}")
    if t.pending != t.pending_orders:
        problems.append(f"pending {t.pending} but orders inside their return window hold {t.pending_orders}")
    if t.debt < 0:
        problems.append(f"debt is negative: {t.debt}")
    if t.growth != t.growth_earned + t.growth_changed:
        problems.append(f"growth {t.growth} but growth credits {t.growth_earned} and changes {t.growth_changed}")
    return problems
