"""Daily check-in through GraphQL over real HTTP, on SQLite and PostgreSQL."""
from datetime import timedelta

from tests.documents import CHECK_IN, ME, UPDATE_TIER


def check_in(client, key):
    return client.data(CHECK_IN, {"key": key})["checkIn"]


def test_check_in_credits_points_and_shows_on_me(live_server):
    member = live_server.member(nickname="小鹿")
    result = check_in(member, "day-1")
    assert result["userErrors"] == []
    assert result["entry"]["delta"] == 10 and result["entry"]["reason"] == "CHECK_IN"
    assert result["member"]["points"]["available"] == 10
    assert result["member"]["checkIn"] == {"streak": 1, "checkedInToday": True}

    me = member.data(ME, {"first": 10})["me"]
    assert me["nickname"] == "小鹿"
    assert me["points"]["available"] == 10 and me["points"]["lifetimeEarned"] == 10
    assert me["growth"] == 10
    assert [e["node"]["id"] for e in me["ledger"]["edges"]] == [result["entry"]["id"]]


def test_replaying_a_key_returns_the_first_result_and_changes_nothing(live_server):
    member = live_server.member()
    first = check_in(member, "same-key")
    again = check_in(member, "same-key")
    assert again["entry"] == first["entry"] and again["userErrors"] == []
    assert member.data(ME, {"first": 10})["me"]["points"]["available"] == 10


def test_second_check_in_on_the_same_day_is_refused(live_server):
    member = live_server.member()
    check_in(member, "a")
    live_server.clock.advance(timedelta(hours=5))
    refused = check_in(member, "b")
    assert refused["entry"] is None
    assert [e["code"] for e in refused["userErrors"]] == ["ALREADY_CHECKED_IN"]
    assert member.data(ME, {"first": 10})["me"]["points"]["available"] == 10


def test_calendar_day_follows_the_brand_time_zone(live_server):
    # START is 10:00 in Shanghai; 14 hours later it is midnight there, a new day, while UTC is still on the same date.
    member = live_server.member()
    check_in(member, "before-midnight")
    live_server.clock.advance(timedelta(hours=14))
    assert check_in(member, "after-midnight")["member"]["checkIn"]["streak"] == 2


def test_streak_bonuses_on_day_7_and_day_30(live_server):
    member = live_server.member()
    deltas = {}
    for day in range(1, 31):
        result = check_in(member, f"day-{day}")
        assert result["userErrors"] == [] and result["member"]["checkIn"]["streak"] == day
        deltas[day] = [(e["reason"], e["delta"]) for e in result["entries"]]
        live_server.clock.advance(timedelta(days=1))
    assert deltas[6] == [("CHECK_IN", 10)]
    assert deltas[7] == [("CHECK_IN", 10), ("STREAK_BONUS", 50)]
    assert deltas[30] == [("CHECK_IN", 10), ("STREAK_BONUS", 200)]
    me = member.data(ME, {"first": 1})["me"]
    assert me["points"]["available"] == 30 * 10 + 50 + 200


def test_a_missed_day_restarts_the_streak(live_server):
    member = live_server.member()
    for day in range(3):
        check_in(member, f"d{day}")
        live_server.clock.advance(timedelta(days=1))
    live_server.clock.advance(timedelta(days=1))  # skipped a day
    assert member.data(ME, {"first": 1})["me"]["checkIn"] == {"streak": 0, "checkedInToday": False}
    assert check_in(member, "after-gap")["member"]["checkIn"]["streak"] == 1


def test_tier_upgrades_when_growth_reaches_the_threshold(live_server):
    staff = live_server.staff()
    updated = staff.data(UPDATE_TIER, {"level": 2, "name": "常客", "threshold": 20, "multiplier": 1.25})
    assert updated["updateTier"]["userErrors"] == []
    member = live_server.member()
    assert check_in(member, "one")["member"]["tier"]["level"] == 1
    live_server.clock.advance(timedelta(days=1))
    second = check_in(member, "two")
    assert second["member"]["growth"] == 20 and second["member"]["tier"]["level"] == 2
    me = member.data("{ me { tier { code name earnMultiplier } tierChanges { fromLevel toLevel growth } } }")["me"]
    assert me["tier"] == {"code": "V2", "name": "常客", "earnMultiplier": 1.25}
    assert me["tierChanges"] == [{"fromLevel": 1, "toLevel": 2, "growth": 20}]


def test_staff_changes_the_check_in_rule(live_server):
    staff = live_server.staff()
    result = staff.data("""mutation { updateCheckInRule(input: {basePoints: 5, streakBonuses: [{day: 2, points: 7}]}) {
        rule { basePoints streakBonuses { day points } } userErrors { code } } }""")["updateCheckInRule"]
    assert result["rule"] == {"basePoints": 5, "streakBonuses": [{"day": 2, "points": 7}]}
    member = live_server.member()
    check_in(member, "1")
    live_server.clock.advance(timedelta(days=1))
    assert [e["delta"] for e in check_in(member, "2")["entries"]] == [5, 7]
    bad = staff.data("""mutation { updateCheckInRule(input: {basePoints: 0, streakBonuses: []}) {
        rule { basePoints } userErrors { field code } } }""")["updateCheckInRule"]
    assert bad == {"rule": None, "userErrors": [{"field": ["basePoints"], "code": "INVALID_INPUT"}]}
