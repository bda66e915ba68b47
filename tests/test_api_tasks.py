"""Tasks with periods and caps in the brand's time zone, and campaigns on tasks and check-ins."""
import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from domain.campaigns import Campaign
from domain.configuration import Actor
from domain.ledger import LedgerReason
from tests.conftest import with_services
from tests.documents import CHECK_IN
from tests.test_api_orders import CAMPAIGN

CREATE = """
mutation($code: String!, $period: TaskPeriod!, $cap: Int!, $points: Int = 5, $enabled: Boolean = true) {
  createTask(input: {code: $code, name: "浏览商品", kind: BROWSE_ITEM, points: $points, period: $period, cap: $cap,
                     enabled: $enabled}) {
    task { code points period cap } userErrors { field code }
  }
}
"""
COMPLETE = """
mutation($code: String!, $key: String!) {
  completeTask(input: {taskCode: $code, idempotencyKey: $key}) {
    entries { reason delta memo } member { points { available } } userErrors { field code }
  }
}
"""
TASKS = "{ tasks { code points cap progress { done completed } } }"
TASKS_STEPS = "{ tasks { code progress { done completed stepsDone } } }"


def complete(member, code, key):
    return member.data(COMPLETE, {"code": code, "key": key})["completeTask"]


def progress(member, code):
    return next(t["progress"] for t in member.data(TASKS)["tasks"] if t["code"] == code)


def test_a_daily_task_pays_up_to_its_cap_and_resets_at_local_midnight(live_server):
    staff, member = live_server.staff(), live_server.member()
    assert staff.data(CREATE, {"code": "browse", "period": "DAILY", "cap": 2})["createTask"]["userErrors"] == []
    assert live_server.anonymous().data(TASKS)["tasks"] == [{"code": "browse", "points": 5, "cap": 2,
                                                             "progress": None}]
    assert progress(member, "browse") == {"done": 0, "completed": False}
    assert complete(member, "browse", "1")["entries"][0] == {"reason": "TASK", "delta": 5, "memo": "浏览商品"}
    complete(member, "browse", "2")
    refused = complete(member, "browse", "3")
    assert refused["userErrors"] == [{"field": ["taskCode"], "code": "TASK_LIMIT_REACHED"}]
    assert progress(member, "browse") == {"done": 2, "completed": True}
    live_server.clock.set(datetime(2026, 3, 12, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai: same day
    assert complete(member, "browse", "4")["userErrors"][0]["code"] == "TASK_LIMIT_REACHED"
    live_server.clock.set(datetime(2026, 3, 12, 16, 0, tzinfo=UTC))  # midnight in Shanghai
    assert complete(member, "browse", "5")["userErrors"] == []
    assert complete(member, "browse", "5")["member"]["points"]["available"] == 15  # replay: no new effect


def test_weekly_and_once_periods(live_server):
    staff, member = live_server.staff(), live_server.member()
    staff.data(CREATE, {"code": "share", "period": "WEEKLY", "cap": 1})
    staff.data(CREATE, {"code": "profile", "period": "ONCE", "cap": 1, "points": 50})
    assert complete(member, "share", "s1")["userErrors"] == []  # Thursday 2026-03-12
    live_server.clock.set(datetime(2026, 3, 15, 15, 59, tzinfo=UTC))  # Sunday 23:59 Shanghai
    assert complete(member, "share", "s2")["userErrors"][0]["code"] == "TASK_LIMIT_REACHED"
    live_server.clock.set(datetime(2026, 3, 15, 16, 0, tzinfo=UTC))  # Monday 00:00 Shanghai
    assert complete(member, "share", "s3")["userErrors"] == []
    assert complete(member, "profile", "p1")["userErrors"] == []
    live_server.clock.advance(timedelta(days=400))
    assert complete(member, "profile", "p2")["userErrors"][0]["code"] == "TASK_LIMIT_REACHED"


def test_unknown_and_disabled_tasks(live_server):
    staff, member = live_server.staff(), live_server.member()
    staff.data(CREATE, {"code": "off", "period": "DAILY", "cap": 1, "enabled": False})
    assert complete(member, "nope", "k")["userErrors"] == [{"field": ["taskCode"], "code": "NOT_FOUND"}]
    assert complete(member, "off", "k2")["userErrors"] == [{"field": ["taskCode"], "code": "TASK_DISABLED"}]
    assert [t["code"] for t in member.data(TASKS)["tasks"]] == []
    assert [t["code"] for t in staff.data(TASKS)["tasks"]] == ["off"]
    duplicate = staff.data(CREATE, {"code": "off", "period": "DAILY", "cap": 1})["createTask"]
    assert duplicate["userErrors"] == [{"field": ["code"], "code": "ALREADY_EXISTS"}]
    bad = staff.data(CREATE, {"code": "Bad Code", "period": "DAILY", "cap": 0})["createTask"]
    assert bad["task"] is None and bad["userErrors"][0]["code"] == "INVALID_INPUT"


async def test_50_concurrent_completions_of_a_task_capped_at_3_pay_exactly_3(live_server):
    live_server.staff().data(CREATE, {"code": "video", "period": "DAILY", "cap": 3})
    member = live_server.member()
    async with httpx.AsyncClient() as http:
        replies = await asyncio.gather(*(member.execute_async(http, COMPLETE, {"code": "video", "key": f"k{i}"})
                                         for i in range(50)))
    paid = [r for r in replies if not r["data"]["completeTask"]["userErrors"]]
    assert len(paid) == 3
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 15


def test_campaigns_boost_tasks_and_check_ins_by_reason(live_server):
    staff, member = live_server.staff(), live_server.member()
    staff.data(CREATE, {"code": "follow", "period": "ONCE", "cap": 1, "points": 7})
    now = live_server.clock.now()
    created = staff.data(CAMPAIGN, {"code": "double-day", "multiplier": 2.0, "reasons": ["TASK", "CHECK_IN"],
                                    "starts": now.isoformat(), "ends": (now + timedelta(hours=2)).isoformat()})
    assert created["createCampaign"]["userErrors"] == []
    assert [(e["reason"], e["delta"]) for e in complete(member, "follow", "f")["entries"]] == [
        ("TASK", 7), ("CAMPAIGN_BONUS", 7)]
    checked = member.data(CHECK_IN, {"key": "c"})["checkIn"]["entries"]
    assert [(e["reason"], e["delta"]) for e in checked] == [("CHECK_IN", 10), ("CAMPAIGN_BONUS", 10)]
    live_server.clock.advance(timedelta(days=1))  # the campaign is over
    assert [e["reason"] for e in member.data(CHECK_IN, {"key": "d"})["checkIn"]["entries"]] == ["CHECK_IN"]
    stopped = staff.data("""mutation { updateCampaign(input: {code: "ghost", name: "g", multiplier: 2,
        startsAt: "2026-01-01T00:00:00+08:00", endsAt: "2026-01-02T00:00:00+08:00"}) { userErrors { code } } }""")
    assert stopped["updateCampaign"]["userErrors"] == [{"code": "NOT_FOUND"}]


UPDATE_CAMPAIGN = """mutation($code: String!, $starts: DateTime!, $ends: DateTime!, $enabled: Boolean!) {
  updateCampaign(input: {code: $code, name: $code, multiplier: 2, reasons: [CHECK_IN], startsAt: $starts,
                         endsAt: $ends, enabled: $enabled}) { userErrors { code } } }"""


def check_in_reasons(member, key):
    return [e["reason"] for e in member.data(CHECK_IN, {"key": key})["checkIn"]["entries"]]


async def test_earnings_follow_campaign_changes_at_once_though_the_server_keeps_them(live_server):
    """Which campaigns run is kept with the rules: a change, here or from another process, applies to the
    next earning, and one scheduled for later applies from its start."""
    staff, clock = live_server.staff(), live_server.clock
    now = clock.now()
    window = {"starts": (now + timedelta(hours=1)).isoformat(), "ends": (now + timedelta(hours=3)).isoformat()}
    assert staff.data(CAMPAIGN, {"code": "later", "multiplier": 2.0, "reasons": ["CHECK_IN"], **window})[
        "createCampaign"]["userErrors"] == []
    assert check_in_reasons(live_server.member("early"), "k") == ["CHECK_IN"]
    clock.advance(timedelta(hours=1))
    assert check_in_reasons(live_server.member("on-time"), "k") == ["CHECK_IN", "CAMPAIGN_BONUS"]
    assert staff.data(UPDATE_CAMPAIGN, {"code": "later", "enabled": False, **window})[
        "updateCampaign"]["userErrors"] == []
    assert check_in_reasons(live_server.member("after-stop"), "k") == ["CHECK_IN"]

    async def from_another_process(services):  # as `jifen` run beside the server would
        await services.campaigns.save(Actor("staff", "cli"), Campaign(
            "cli", "cli", 3000, clock.now(), clock.now() + timedelta(hours=1), (LedgerReason.CHECK_IN,)), create=True)
    await with_services(live_server, from_another_process)
    entries = live_server.member("after-cli").data(CHECK_IN, {"key": "k"})["checkIn"]["entries"]
    assert [(e["reason"], e["delta"]) for e in entries] == [("CHECK_IN", 10), ("CAMPAIGN_BONUS", 20)]
    clock.advance(timedelta(days=-1))  # a clock set back: what was kept is no guide to then
    assert check_in_reasons(live_server.member("yesterday"), "k") == ["CHECK_IN"]


CHALLENGE = """
mutation { createTask(input: {code: "weekly-explorer", name: "本周浏览 3 次", kind: OTHER, points: 40, period: WEEKLY,
                              cap: 1, steps: ["browse", "video"], target: 3}) { task { code steps target } userErrors { field code } } }
"""


def test_a_weekly_challenge_pays_when_its_steps_reach_the_target(live_server):
    staff, member = live_server.staff(), live_server.member()
    staff.data(CREATE, {"code": "browse", "period": "DAILY", "cap": 2})
    staff.data(CREATE, {"code": "video", "period": "DAILY", "cap": 1})
    assert staff.data(CHALLENGE)["createTask"]["userErrors"] == []
    assert complete(member, "weekly-explorer", "direct")["userErrors"][0]["code"] == "TASK_IS_CHALLENGE"
    assert [e["reason"] for e in complete(member, "browse", "b1")["entries"]] == ["TASK"]
    assert progress(member, "weekly-explorer") == {"done": 0, "completed": False}
    complete(member, "video", "v1")
    steps = next(t["progress"] for t in member.data(TASKS_STEPS)["tasks"] if t["code"] == "weekly-explorer")
    assert steps == {"done": 0, "completed": False, "stepsDone": 2}
    third = complete(member, "browse", "b2")["entries"]  # the 3rd step this week: the challenge pays too
    assert [(e["reason"], e["delta"], e["memo"]) for e in third] == [
        ("TASK", 5, "浏览商品"), ("TASK", 40, "挑战完成 · 本周浏览 3 次")]
    live_server.clock.advance(timedelta(days=1))
    assert [e["delta"] for e in complete(member, "browse", "b3")["entries"]] == [5]  # capped at 1 a week
    live_server.clock.set(datetime(2026, 3, 15, 16, 0, tzinfo=UTC))  # Monday in Shanghai: a new week
    for key in ("n1", "n2"):
        complete(member, "browse", key)
    assert [e["delta"] for e in complete(member, "video", "n3")["entries"]] == [5, 40]
    bad = staff.data("""mutation { createTask(input: {code: "loop", name: "l", kind: OTHER, points: 1, period: DAILY,
        steps: ["loop"], target: 1}) { userErrors { field } } }""")
    assert bad["createTask"]["userErrors"] == [{"field": ["steps"]}]
