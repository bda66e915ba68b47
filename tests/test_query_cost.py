"""Query cost: reported in extensions, too costly documents refused, and a per-caller budget that throttles."""

import httpx
import pytest

from api.http.app import create_app
from api.http.auth import issue_token
from api.ops.config import Settings
from api.execution.cost import MAX_QUERY_COST, WINDOW_SECONDS, CostBudget, window_verdict
from persistence import migrate
from tests.conftest import SECRET, start_server, stop_server

LEDGER = "query($first: Int!) { me { ledger(first: $first) { edges { node { id delta } } } } }"


def test_the_cost_is_reported_and_connections_cost_their_page(live_server):
    member = live_server.member("costly")
    small = member.execute(LEDGER, {"first": 10})["extensions"]["cost"]
    large = member.execute(LEDGER, {"first": 100})["extensions"]["cost"]
    # me (1) + ledger (1) + first x (edges 1 + node 1 + id 1 + delta 1)
    assert (small["requested"], large["requested"]) == (42, 402)
    assert large["budgetLeft"] < small["budgetLeft"] and small["budgetPerMinute"] == 20_000


def test_a_page_size_in_a_fragment_variable_is_priced_per_request_and_a_written_one_once(live_server):
    member = live_server.member("costly-fragments")
    in_fragment = "query($n: Int!) { me { ...page } } fragment page on Member { ledger(first: $n) { edges { node { id } } } }"
    costs = [member.execute(in_fragment, {"n": n})["extensions"]["cost"]["requested"] for n in (5, 50, 5)]
    assert costs == [2 + 5 * 3, 2 + 50 * 3, 2 + 5 * 3]
    written = "{ me { ledger(first: 7) { edges { node { id } } } } }"
    assert [member.execute(written)["extensions"]["cost"]["requested"] for _ in range(2)] == [2 + 7 * 3] * 2


def test_a_document_over_the_maximum_cost_is_refused_before_it_runs(live_server):
    nested = "{ me { ledger(first: 100) { edges { node { id } } } a: ledger(first: 100) { edges { node { id } } } " \
             + " ".join(f"l{i}: ledger(first: 100) {{ edges {{ node {{ id delta reason }} }} }}" for i in range(12)) + " } }"
    refused = live_server.member("greedy-cost").execute(nested)
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert refused["errors"][0]["extensions"]["cost"] > MAX_QUERY_COST and refused.get("data") is None


@pytest.fixture
def small_budget(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/c.db", secret=SECRET, env="dev", sweep_seconds=0,
                        cost_budget_per_minute=100)
    migrate.upgrade(settings.database_url)
    server, thread, base_url = start_server(create_app(settings))
    yield f"{base_url}/graphql"
    stop_server(server, thread)


def test_a_spent_budget_answers_throttled_with_a_retry_time(small_budget):
    token = issue_token(SECRET, "thrifty")
    headers = {"Authorization": f"Bearer {token}"}
    page = {"query": LEDGER, "variables": {"first": 10}}  # 42 points each
    assert [httpx.post(small_budget, json=page, headers=headers).status_code for _ in range(2)] == [200, 200]
    throttled = httpx.post(small_budget, json=page, headers=headers)
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    error = throttled.json()["errors"][0]
    assert error["extensions"]["code"] == "THROTTLED" and error["extensions"]["retryAfter"] >= 1
    other = {"Authorization": f"Bearer {issue_token(SECRET, 'someone-else')}"}
    assert httpx.post(small_budget, json=page, headers=other).status_code == 200  # budgets are per caller


# The budget's sliding minute, in the process and in Redis.

def test_a_sliding_minute_lets_the_last_minute_s_spending_fade():
    limit, state = 100, None
    start = 6_000 * WINDOW_SECONDS + 10  # ten seconds into a minute
    for _ in range(2):
        allowed, left, retry, state = window_verdict(start, 50, limit, state)
        assert allowed and retry == 0
    allowed, left, retry, _ = window_verdict(start + 1, 10, limit, state)
    assert not allowed and left == 0 and retry > 0
    # The minute ends: its 100 points weigh less and less over the next minute.
    later = start + 1 + retry
    assert window_verdict(later + 0.01, 10, limit, state)[0]
    assert not window_verdict(later - 0.5, 10, limit, state)[0]
    allowed, left, _, _ = window_verdict(start + WINDOW_SECONDS + 20, 10, limit, state)  # 30 s in: 100 * 0.5
    assert allowed and left == 100 - 50 - 10
    assert window_verdict(start + 2 * WINDOW_SECONDS, 100, limit, state)[0]  # two minutes on: all of it back


async def test_a_budget_in_redis_is_shared_by_every_process(redis_url, redis_prefix):
    here, there = (CostBudget(redis_url, redis_prefix, per_minute=100) for _ in range(2))
    try:
        assert (await here.spend("member:shared", 60))[:2] == (True, 40)
        allowed, left, retry = await there.spend("member:shared", 60)  # the other process sees the 60
        assert not allowed and left == 40 and retry > 0
        assert (await there.spend("member:shared", 40))[:2] == (True, 0)
        assert (await here.spend("member:other", 100))[0]  # each caller has a budget of their own
    finally:
        await here.close()
        await there.close()


async def test_without_redis_requests_are_let_through_and_it_is_logged(caplog):
    budget = CostBudget("redis://127.0.0.1:1/0", "nowhere", per_minute=10)
    try:
        assert (await budget.spend("member:x", 50))[0]
        assert (await budget.spend("member:x", 50))[0]  # paused: no timeout paid on every request
    finally:
        await budget.close()
    assert "cost budget unavailable" in caplog.text
