"""Pure domain rules, no storage: lots, expiry, holds, streaks, tiers, brand calendar."""
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.brand import BrandSettings
from domain.checkin import CheckIn, CheckInRule, next_streak, status
from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.ledger import HoldStatus, LedgerReason, PointsAccount, audit_account, AccountSnapshot
from domain.tiers import DEFAULT_TIERS, Tier, TierTable, TierUpkeep, months_after

T0 = datetime(2026, 1, 15, tzinfo=UTC)
JAN_END = datetime(2026, 2, 1, tzinfo=UTC)
FEB_END = datetime(2026, 3, 1, tzinfo=UTC)


def account_with(*lots):
    account = PointsAccount(1)
    for points, expires_at in lots:
        account.credit(points, LedgerReason.TASK, T0, expires_at, "t")
    return account


def test_spending_consumes_the_lots_that_expire_first():
    account = account_with((50, FEB_END), (30, JAN_END), (20, None))
    account.debit(40, LedgerReason.REDEMPTION, T0, "t")
    assert account.lots[JAN_END] == 0 and account.lots[FEB_END] == 40
    assert account.balance == 60 and [e.balance_after for e in account.new_entries] == [50, 80, 100, 60]


def test_overdraw_is_refused_without_changing_anything():
    account = account_with((10, None))
    with pytest.raises(Refusal) as refused:
        account.debit(11, LedgerReason.REDEMPTION, T0, "t")
    assert refused.value.code is ErrorCode.INSUFFICIENT_POINTS
    assert account.balance == 10 and len(account.new_entries) == 1


def test_expiry_writes_an_entry_per_due_lot():
    account = account_with((30, JAN_END), (50, FEB_END))
    entries = account.expire_due(FEB_END)
    assert [(e.delta, e.reason) for e in entries] == [(-30, LedgerReason.EXPIRY), (-50, LedgerReason.EXPIRY)]
    assert account.balance == 0


def test_points_reserved_by_a_hold_outlive_their_lot_until_it_resolves():
    account = account_with((30, JAN_END), (50, FEB_END))
    hold = account.place_hold(60, LedgerReason.CHECKOUT, T0, T0 + timedelta(days=30))
    account.expire_due(JAN_END + timedelta(days=1))
    assert account.balance == 60 and account.available == 0  # 20 expired, 10 of that lot stay promised
    account.settle_hold(hold, JAN_END + timedelta(days=2), "t")
    assert account.balance == 0 and account.held == 0 and hold.status is HoldStatus.SETTLED


def test_a_hold_resolves_once():
    account = account_with((100, None))
    hold = account.place_hold(100, LedgerReason.CHECKOUT, T0, T0 + timedelta(minutes=15))
    assert account.available == 0
    account.release_hold(hold, T0)
    with pytest.raises(Refusal):
        account.settle_hold(hold, T0, "t")
    assert account.available == 100 and hold.status is HoldStatus.RELEASED


def test_restore_undoes_a_half_applied_rule():
    account = account_with((100, None))
    checkpoint = account.checkpoint()
    account.debit(30, LedgerReason.REDEMPTION, T0, "t")
    account.place_hold(10, LedgerReason.CHECKOUT, T0, T0 + timedelta(minutes=1))
    account.restore(checkpoint)
    assert (account.balance, account.held, account.lots, len(account.new_entries)) == (100, 0, {
        datetime(9999, 12, 31, tzinfo=UTC): 100}, 1)


def test_growth_counts_engagement_only():
    account = PointsAccount(1)
    account.credit(10, LedgerReason.CHECK_IN, T0, None, "t")
    account.credit(500, LedgerReason.ADJUSTMENT, T0, None, "t")
    account.credit(70, LedgerReason.EXCHANGE_IN, T0, None, "t")
    account.debit(200, LedgerReason.REDEMPTION, T0, "t")
    assert account.growth == 10 and account.lifetime_earned == 580


def test_audit_finds_a_broken_chain():
    good = AccountSnapshot(1, 30, 0, [10, 20], [10, 30], 30, 0)
    assert audit_account(good) == []
    broken = AccountSnapshot(1, 35, 40, [10, 20], [10, 31], 25, 0)
    assert audit_account(broken) == [
        "entry #2: balanceAfter 31, entries sum to 30", "balance 35 but entries sum to 30",
        "balance 35 but lots hold 25", "held 40 but active holds sum to 0", "available is negative: -5"]


def test_expiry_is_end_of_the_twelfth_month_in_the_brand_zone():
    brand = BrandSettings(timezone="Asia/Shanghai", points_expiry_months=12)
    # 2026-03-31 20:00 UTC is already April 1st in Shanghai.
    assert brand.expiry_for(datetime(2026, 3, 31, 20, tzinfo=UTC)) == datetime(2027, 4, 30, 16, tzinfo=UTC)
    assert brand.expiry_for(datetime(2026, 12, 5, tzinfo=UTC)) == datetime(2027, 12, 31, 16, tzinfo=UTC)
    assert BrandSettings(points_expiry_months=0).expiry_for(T0) is None
    with pytest.raises(InvalidInput):
        BrandSettings(timezone="Mars/Olympus")


def test_streaks():
    today = date(2026, 5, 10)
    yesterday = CheckIn(1, today - timedelta(days=1), 6, T0)
    assert next_streak(yesterday, today) == 7 and next_streak(None, today) == 1
    assert next_streak(CheckIn(1, today - timedelta(days=2), 6, T0), today) == 1
    assert status(yesterday, today).streak == 6 and not status(yesterday, today).checked_in_today
    assert CheckInRule().bonus_for(7) == 50 and CheckInRule().bonus_for(14) == 0
    with pytest.raises(InvalidInput):
        CheckInRule(10, ((7, 5), (7, 6)))


def test_upkeep_dates_and_keep_levels():
    assert months_after(datetime(2026, 1, 31, 9, tzinfo=UTC), 1) == datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert months_after(datetime(2027, 11, 30, tzinfo=UTC), 3) == datetime(2028, 2, 29, tzinfo=UTC)
    assert months_after(T0, 12) == datetime(2027, 1, 15, tzinfo=UTC)
    assert TierUpkeep().keep_until(1, T0) is None and TierUpkeep(0).keep_until(4, T0) is None
    with pytest.raises(InvalidInput):
        TierUpkeep(61)
    # V4 keeps with 2500 a period, V3 with 1000, V2 with 250: what is met decides, never above the tier held.
    assert DEFAULT_TIERS.kept_level(4, 2500) == 4 and DEFAULT_TIERS.kept_level(4, 2499) == 3
    assert DEFAULT_TIERS.kept_level(2, 10**6) == 2 and DEFAULT_TIERS.kept_level(5, -300) == 1
    old = TierTable.from_record([t.to_record() | {"keepThreshold": None} for t in DEFAULT_TIERS.tiers])
    assert [t.keep_threshold for t in old.tiers] == [0, 250, 1000, 2500, 7500, 25000]  # half, when never set
    assert TierTable.from_record(DEFAULT_TIERS.to_record()).to_record() == DEFAULT_TIERS.to_record()


def test_tier_table_rules():
    assert DEFAULT_TIERS.level_for(0) == 1 and DEFAULT_TIERS.level_for(2000) == 3
    assert DEFAULT_TIERS.level_for(10**9) == 6
    with pytest.raises(InvalidInput):
        DEFAULT_TIERS.replacing(Tier(3, "x", 400, 1000))  # below V2's threshold
    with pytest.raises(InvalidInput):
        TierTable(DEFAULT_TIERS.tiers[:5])
    with pytest.raises(InvalidInput):
        DEFAULT_TIERS.replacing(Tier(2, "x", 500, 999))
