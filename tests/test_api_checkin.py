"""Daily check-in through GraphQL over real HTTP, on SQLite and PostgreSQL."""
from datetime import datetime, timedelta

from persistence.migrate import downgrade, upgrade
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


TOTALS_RULE = """mutation { updateCheckInRule(input: {basePoints: 10, streakBonuses: [],
  monthlyRewards: [{days: 3, points: 20}], lifetimeRewards: [{days: 5, points: 100}]}) {
  rule { monthlyRewards { days points } lifetimeRewards { days points } } userErrors { field code } } }"""
TOTALS = "{ me { checkIn { streak checkedInToday totalDays daysThisMonth } } }"


def test_total_check_in_days_pay_at_month_and_lifetime_totals_and_survive_an_upgrade(live_server):
    """March 12th, 14th and 15th (the third in March pays), April 1st (a new month), 2nd (the fifth
    all told pays) and 3rd (the third in April pays again); in Shanghai."""
    rule = live_server.staff().data(TOTALS_RULE)["updateCheckInRule"]
    assert rule == {"rule": {"monthlyRewards": [{"days": 3, "points": 20}],
                             "lifetimeRewards": [{"days": 5, "points": 100}]}, "userErrors": []}
    member = live_server.member()
    paid = {}
    for day in ("03-12", "03-14", "03-15", "04-01", "04-02", "04-03"):
        live_server.clock.set(datetime.fromisoformat(f"2026-{day}T02:00:00+00:00"))
        if day == "04-01":
            assert member.data(TOTALS)["me"]["checkIn"] == {"streak": 0, "checkedInToday": False, "totalDays": 3,
                                                            "daysThisMonth": 0}
        result = check_in(member, day)
        assert result["userErrors"] == []
        paid[day] = [(e["reason"], e["delta"]) for e in result["entries"] if e["reason"] != "CHECK_IN"]
        if day == "04-02":  # the database keeps counting across an upgrade that counts the rows already there
            downgrade(live_server.database_url, "0031")
            upgrade(live_server.database_url)
    assert paid == {"03-12": [], "03-14": [], "03-15": [("CHECK_IN_TOTAL", 20)], "04-01": [],
                    "04-02": [("CHECK_IN_TOTAL", 100)], "04-03": [("CHECK_IN_TOTAL", 20)]}
    assert member.data(TOTALS)["me"]["checkIn"] == {"streak": 3, "checkedInToday": True, "totalDays": 6,
                                                    "daysThisMonth": 3}
    memos = member.data('{ me { ledger(first: 10, reasons: [CHECK_IN_TOTAL]) { edges { node { memo } } } } }')
    assert [e["node"]["memo"] for e in memos["me"]["ledger"]["edges"]] == ["本月累计签到 3 天", "累计签到 5 天",
                                                                          "本月累计签到 3 天"]


def test_bad_total_rewards_are_user_errors(live_server):
    staff = live_server.staff()
    for rewards, field in (("monthlyRewards: [{days: 32, points: 5}]", "monthlyRewards"),
                           ("lifetimeRewards: [{days: 5, points: 0}]", "lifetimeRewards"),
                           ("monthlyRewards: [{days: 3, points: 5}, {days: 3, points: 6}]", "monthlyRewards")):
        bad = staff.data(f"""mutation {{ updateCheckInRule(input: {{basePoints: 10, streakBonuses: [], {rewards}}}) {{
            rule {{ basePoints }} userErrors {{ field code }} }} }}""")["updateCheckInRule"]
        assert bad == {"rule": None, "userErrors": [{"field": [field], "code": "INVALID_INPUT"}]}
