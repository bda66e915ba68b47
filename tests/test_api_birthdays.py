"""The birthday gift: set once, claimed once a year in the days from the birthday (brand time zone)."""
from datetime import UTC, date, datetime

from domain.birthdays import claim_year
from tests.documents import CHECK_IN, UPDATE_TIER

SET = 'mutation($d: Date!) { setBirthday(input: {birthday: $d}) { birthday userErrors { field code } } }'
CLAIM = """mutation($key: String!) { claimBirthdayGift(input: {idempotencyKey: $key}) {
  entry { reason delta memo } userErrors { code } } }"""


def claim(member, key):
    return member.data(CLAIM, {"key": key})["claimBirthdayGift"]


def test_the_gift_is_claimed_once_a_year_inside_the_window(live_server):
    member = live_server.member()
    assert claim(member, "early")["userErrors"] == [{"code": "NO_BIRTHDAY"}]
    assert member.data(SET, {"d": "1995-03-14"})["setBirthday"] == {"birthday": "1995-03-14", "userErrors": []}
    changed = member.data(SET, {"d": "1995-03-12"})["setBirthday"]
    assert changed["userErrors"] == [{"field": ["birthday"], "code": "BIRTHDAY_LOCKED"}]
    assert claim(member, "before")["userErrors"] == [{"code": "NOT_BIRTHDAY"}]  # it is March 12th
    live_server.clock.set(datetime(2026, 3, 13, 16, 0, tzinfo=UTC))  # midnight, March 14th in Shanghai
    gift = claim(member, "gift")
    assert gift["entry"] == {"reason": "CAMPAIGN_BONUS", "delta": 100, "memo": "2026 生日礼"}
    assert claim(member, "again")["userErrors"] == [{"code": "ALREADY_CLAIMED"}]
    live_server.clock.set(datetime(2027, 3, 20, 16, 0, tzinfo=UTC))  # March 21st 2027: the 7-day window is over
    assert claim(member, "late")["userErrors"] == [{"code": "NOT_BIRTHDAY"}]
    live_server.clock.set(datetime(2027, 3, 15, 2, 0, tzinfo=UTC))
    assert claim(member, "next-year")["entry"]["memo"] == "2027 生日礼"
    future = live_server.member().data(SET, {"d": "2999-01-01"})["setBirthday"]
    assert future["userErrors"][0]["code"] == "INVALID_INPUT"


def test_the_gift_grows_with_the_tier(live_server):
    live_server.staff().data(UPDATE_TIER, {"level": 2, "name": "常客", "threshold": 10, "multiplier": 1.5})
    member = live_server.member()
    member.data(CHECK_IN, {"key": "c"})
    member.data(SET, {"d": "2000-03-12"})
    assert claim(member, "g")["entry"]["delta"] == 150


def test_window_edges_leap_days_and_new_year():
    assert claim_year(date(2000, 2, 29), date(2027, 2, 28), 7) == 2027
    assert claim_year(date(2000, 2, 29), date(2028, 2, 28), 1) is None
    assert claim_year(date(1990, 12, 30), date(2027, 1, 3), 7) == 2026
    assert claim_year(date(1990, 12, 30), date(2027, 1, 5), 7) == 2026  # the 7th day
    assert claim_year(date(1990, 12, 30), date(2027, 1, 6), 7) is None
