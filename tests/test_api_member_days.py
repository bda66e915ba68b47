"""Recurring member days (会员日) over real HTTP on both databases, with the clock moved: a campaign that
runs on the 18th of each month in the brand's time zone (its multiplier at local midnight, not UTC's),
its shelf of items redeemed on its days only (also through checkout's and 拼团's doors, which share
the mall's check), `memberDays` for pages, and the schedules themselves in the domain."""
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.campaigns import Schedule, ScheduleKind
from domain.errors import InvalidInput
from tests.documents import CHECK_IN
from tests.test_api_mall import REDEEM, funded

SCHEDULED = """mutation($code: String!, $starts: DateTime!, $ends: DateTime!, $schedule: CampaignScheduleInput,
                        $reasons: [LedgerReason!]!) {
  createCampaign(input: {code: $code, name: "每月18日会员日", multiplier: 2.0, startsAt: $starts, endsAt: $ends,
                         reasons: $reasons, schedule: $schedule}) {
    campaign { code schedule { kind days dates } } userErrors { field code } } }"""
ITEM = """mutation($day: String) { createMallItem(input: {name: "会员日专享杯", pointsPrice: 100, stock: 10,
    memberDay: $day}) { item { id memberDay } userErrors { field code } } }"""
MEMBER_DAYS = "{ memberDays { campaign { code } nextDay running items { name memberDay } } }"
# 2026-03-18 starts at 16:00 UTC on the 17th in Asia/Shanghai, the brand's zone.
EVE = datetime(2026, 3, 17, 15, 59, tzinfo=UTC)
MIDNIGHT_18TH = datetime(2026, 3, 17, 16, 0, tzinfo=UTC)


def member_day(live_server, code="day18", schedule=None, reasons=("CHECK_IN",), days=365):
    now = live_server.clock.now()
    created = live_server.staff().data(SCHEDULED, {
        "code": code, "starts": now.isoformat(), "ends": (now + timedelta(days=days)).isoformat(),
        "schedule": schedule or {"kind": "MONTH_DAYS", "days": [18]}, "reasons": list(reasons)})["createCampaign"]
    assert created["userErrors"] == [], created
    return created["campaign"]


def check_in_reasons(member, key) -> dict:
    answer = member.data(CHECK_IN, {"key": key})["checkIn"]
    assert answer["userErrors"] == [], answer
    return {e["reason"]: e["delta"] for e in answer["entries"]}


def travel_to(live_server, moment: datetime) -> None:
    live_server.clock.advance(moment - live_server.clock.now())


def test_the_multiplier_runs_on_the_brand_s_member_day_only(live_server):
    assert member_day(live_server)["schedule"] == {"kind": "MONTH_DAYS", "days": [18], "dates": []}
    assert "CAMPAIGN_BONUS" not in check_in_reasons(live_server.member("md-12th"), "c")  # the 12th
    travel_to(live_server, EVE)
    assert "CAMPAIGN_BONUS" not in check_in_reasons(live_server.member("md-eve"), "c")  # 23:59 on the 17th
    travel_to(live_server, MIDNIGHT_18TH)  # still the 17th in UTC
    on_the_day = check_in_reasons(live_server.member("md-18th"), "c")
    assert on_the_day["CAMPAIGN_BONUS"] == on_the_day["CHECK_IN"]  # doubled
    travel_to(live_server, MIDNIGHT_18TH + timedelta(days=1))
    assert "CAMPAIGN_BONUS" not in check_in_reasons(live_server.member("md-19th"), "c")
    travel_to(live_server, MIDNIGHT_18TH + timedelta(days=31, hours=12))  # April 18th
    assert "CAMPAIGN_BONUS" in check_in_reasons(live_server.member("md-april"), "c")


def test_the_member_day_shelf_opens_on_its_days_only(live_server):
    member_day(live_server)
    staff = live_server.staff()
    item = staff.data(ITEM, {"day": "day18"})["createMallItem"]["item"]
    assert item["memberDay"] == "day18"
    member = funded(live_server, "md-shopper", 1000)
    shown = live_server.anonymous().data(MEMBER_DAYS)["memberDays"]
    assert shown == [{"campaign": {"code": "day18"}, "nextDay": "2026-03-18", "running": False,
                      "items": [{"name": "会员日专享杯", "memberDay": "day18"}]}]
    refused = member.data(REDEEM, {"item": item["id"], "key": "early"})["redeem"]
    assert refused["userErrors"] == [{"field": ["itemId"], "code": "NOT_MEMBER_DAY"}]
    assert refused["member"]["points"]["available"] == 1000

    travel_to(live_server, MIDNIGHT_18TH)
    assert live_server.anonymous().data(MEMBER_DAYS)["memberDays"][0]["running"] is True
    taken = member.data(REDEEM, {"item": item["id"], "key": "on-the-day"})["redeem"]
    assert taken["userErrors"] == [] and taken["member"]["points"]["available"] == 900

    travel_to(live_server, MIDNIGHT_18TH + timedelta(days=1))
    assert live_server.anonymous().data(MEMBER_DAYS)["memberDays"][0]["nextDay"] == "2026-04-18"
    assert member.data(REDEEM, {"item": item["id"], "key": "late"})["redeem"]["userErrors"][0]["code"] == \
        "NOT_MEMBER_DAY"
    cleared = staff.data("""mutation($id: ID!) { updateMallItem(input: {itemId: $id, memberDay: ""}) {
        item { memberDay } userErrors { code } } }""", {"id": item["id"]})["updateMallItem"]
    assert cleared == {"item": {"memberDay": None}, "userErrors": []}
    assert member.data(REDEEM, {"item": item["id"], "key": "any-day"})["redeem"]["userErrors"] == []


def test_weekdays_dates_and_the_campaign_s_end(live_server):
    member_day(live_server, "fridays", {"kind": "WEEKDAYS", "days": [5]}, days=30)
    member_day(live_server, "launch", {"kind": "DATES", "dates": ["2026-03-20", "2026-05-01"]}, days=30)
    shown = {d["campaign"]["code"]: d["nextDay"] for d in live_server.anonymous().data(MEMBER_DAYS)["memberDays"]}
    assert shown == {"fridays": "2026-03-13", "launch": "2026-03-20"}  # May 1st falls after the end
    travel_to(live_server, datetime(2026, 3, 13, 4, 0, tzinfo=UTC))  # Friday noon in Shanghai
    assert "CAMPAIGN_BONUS" in check_in_reasons(live_server.member("md-friday"), "c")
    travel_to(live_server, datetime(2026, 4, 20, 4, 0, tzinfo=UTC))  # both over
    assert live_server.anonymous().data(MEMBER_DAYS)["memberDays"] == []


def test_schedules_and_shelves_refuse_what_makes_no_sense(live_server):
    staff = live_server.staff()
    now = live_server.clock.now()
    for schedule, field in (({"kind": "MONTH_DAYS", "days": [32]}, "days"), ({"kind": "MONTH_DAYS", "days": []}, "days"),
                            ({"kind": "WEEKDAYS", "days": [0]}, "days"), ({"kind": "DATES", "dates": []}, "dates"),
                            ({"kind": "WEEKDAYS", "days": [1], "dates": ["2026-03-20"]}, "days")):
        refused = staff.data(SCHEDULED, {"code": "bad", "starts": now.isoformat(),
                                         "ends": (now + timedelta(days=9)).isoformat(), "schedule": schedule,
                                         "reasons": ["ORDER"]})["createCampaign"]
        assert refused["userErrors"] == [{"field": ["schedule", field], "code": "INVALID_INPUT"}], schedule
    long_ones = staff.data(SCHEDULED, {"code": "years", "starts": now.isoformat(),
                                       "ends": (now + timedelta(days=4 * 365)).isoformat(),
                                       "schedule": {"kind": "MONTH_DAYS", "days": [8]}, "reasons": ["ORDER"]})
    assert long_ones["createCampaign"]["userErrors"] == []  # member days are set up for years
    for code in ("nope", "x" * 300):
        assert staff.data(ITEM, {"day": code})["createMallItem"]["userErrors"] == [
            {"field": ["memberDay"], "code": "INVALID_INPUT"}]
    staff.data("""mutation($s: DateTime!, $e: DateTime!) { createCampaign(input: {code: "plain", name: "p",
        multiplier: 2.0, startsAt: $s, endsAt: $e}) { userErrors { code } } }""",
               {"s": now.isoformat(), "e": (now + timedelta(days=3)).isoformat()})
    assert staff.data(ITEM, {"day": "plain"})["createMallItem"]["userErrors"][0]["code"] == "INVALID_INPUT"


@pytest.mark.parametrize("schedule, day, falls", [
    (Schedule(ScheduleKind.MONTH_DAYS, (-1,)), date(2026, 2, 28), True),
    (Schedule(ScheduleKind.MONTH_DAYS, (-1,)), date(2028, 2, 28), False),  # a leap year's February ends on the 29th
    (Schedule(ScheduleKind.MONTH_DAYS, (31,)), date(2026, 4, 30), False),  # no 31st in April, and no stand-in
    (Schedule(ScheduleKind.WEEKDAYS, (6, 7)), date(2026, 12, 6), True),  # a Sunday
    (Schedule(ScheduleKind.DATES, dates=(date(2026, 12, 12),)), date(2026, 12, 12), True),
])
def test_a_schedule_falls_on_the_days_it_names(schedule, day, falls):
    assert schedule.falls_on(day) is falls


def test_a_schedule_finds_its_next_day_within_its_range():
    monthly = Schedule(ScheduleKind.MONTH_DAYS, (31,))
    assert monthly.next_day(date(2026, 4, 1), date(2026, 12, 31)) == date(2026, 5, 31)
    assert monthly.next_day(date(2026, 4, 1), date(2026, 5, 30)) is None
    with pytest.raises(InvalidInput):
        Schedule(ScheduleKind.DATES, dates=tuple(date(2026, 1, 1) + timedelta(days=n) for n in range(367)))
