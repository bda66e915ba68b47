"""Query cost: reported in extensions, too costly documents refused, and a per-caller budget that throttles."""

import httpx
import pytest

from api.app import create_app
from api.auth import issue_token
from api.config import Settings
from api.cost import MAX_QUERY_COST
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
