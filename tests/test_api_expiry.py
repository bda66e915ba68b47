"""Brand settings and expiry through the running server, including the scheduled sweep."""
import time
from datetime import UTC, datetime

from api.http.app import create_app
from api.ops.config import Settings
from tests.conftest import SECRET, LiveServer, start_server, stop_server
from tests.documents import ADJUST, ME
from tests.test_api_ledger import member_gid, signed_up

SETTINGS = """
mutation($months: Int!, $tz: String!) {
  updateBrandSettings(input: {name: "茶饮", timezone: $tz, pointsExpiryMonths: $months}) {
    settings { name timezone pointsExpiryMonths } userErrors { field code }
  }
}
"""


def test_staff_sets_the_expiry_policy_and_the_ledger_follows_it(live_server):
    staff = live_server.staff()
    result = staff.data(SETTINGS, {"months": 1, "tz": "Asia/Shanghai"})["updateBrandSettings"]
    assert result == {"settings": {"name": "茶饮", "timezone": "Asia/Shanghai", "pointsExpiryMonths": 1},
                      "userErrors": []}
    member = signed_up(live_server, "short-lived")
    entry = staff.data(ADJUST, {"memberId": member_gid("short-lived"), "delta": 80, "memo": "m",
                                "key": "k"})["adjustPoints"]["entry"]
    ledger = member.data(ME, {"first": 1})["me"]["ledger"]["edges"][0]["node"]
    # Earned on March 12th (Shanghai): expires when April ends there.
    assert ledger["id"] == entry["id"] and ledger["expiresAt"] == "2026-04-30T16:00:00+00:00"
    live_server.clock.set(datetime(2026, 4, 25, tzinfo=UTC))
    assert member.data(ME, {"first": 1})["me"]["points"]["expiringSoon"] == 80
    bad = staff.data(SETTINGS, {"months": 1, "tz": "Nowhere/City"})["updateBrandSettings"]
    assert bad == {"settings": None, "userErrors": [{"field": ["timezone"], "code": "INVALID_INPUT"}]}


def test_the_server_runs_the_sweep_on_its_schedule(database_url, clock):
    settings = Settings(database_url=database_url, secret=SECRET, env="dev", sweep_seconds=0.1)
    server, thread, base_url = start_server(create_app(settings, clock=clock))
    try:
        live = LiveServer(base_url, clock, database_url)
        member = signed_up(live, "swept")
        live.staff().data(ADJUST, {"memberId": member_gid("swept"), "delta": 25, "memo": "m", "key": "k"})
        clock.set(datetime(2027, 4, 1, tzinfo=UTC))  # past the end of March 2027 in Shanghai
        deadline = time.monotonic() + 10
        while member.data(ME, {"first": 1})["me"]["points"]["available"] and time.monotonic() < deadline:
            time.sleep(0.05)
        top = member.data(ME, {"first": 1})["me"]["ledger"]["edges"][0]["node"]
        assert (top["reason"], top["delta"], top["balanceAfter"]) == ("EXPIRY", -25, 0)
    finally:
        stop_server(server, thread)


def test_reading_a_member_settles_what_fell_due_without_waiting_for_the_sweep(live_server):
    member = signed_up(live_server, "read-repair")
    live_server.staff().data(ADJUST, {"memberId": member_gid("read-repair"), "delta": 60, "memo": "m", "key": "k"})
    live_server.clock.set(datetime(2027, 4, 1, tzinfo=UTC))  # the March 2026 lot expired at the end of March 2027
    me = member.data(ME, {"first": 1})["me"]
    assert me["points"]["available"] == 0
    assert me["ledger"]["edges"][0]["node"]["reason"] == "EXPIRY"
    staff_view = live_server.staff().data('query($id: ID!) { member(id: $id) { points { available } } }',
                                          {"id": member_gid("read-repair")})
    assert staff_view["member"]["points"]["available"] == 0
