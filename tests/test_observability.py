"""/metrics in Prometheus format, and one JSON log line per operation with request id, caller and duration."""
import json
import logging

import httpx

from tests.documents import CHECK_IN
from tests.test_api_mall import create, funded


def metric(text, name, **labels):
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))  # the exposition sorts labels
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}}" if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_count_operations_errors_entries_and_holds(live_server):
    member = live_server.member("metered")
    member.data(CHECK_IN, {"key": "m1"})
    member.data(CHECK_IN, {"key": "m2"})  # ALREADY_CHECKED_IN
    item = create(live_server.staff(), "帆布袋", 300, 5, cash=1990)
    buyer = funded(live_server, "metered-buyer", 1000)
    buyer.data('mutation { checkout(input: {itemId: "%s", idempotencyKey: "h"}) { userErrors { code } } }' % item)
    response = httpx.get(f"{live_server.base_url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert metric(text, "jifen_graphql_requests_total", operation="checkIn", type="mutation", outcome="ok") == 1
    assert metric(text, "jifen_graphql_requests_total", operation="checkIn", type="mutation", outcome="error") == 1
    assert metric(text, "jifen_graphql_errors_total", code="ALREADY_CHECKED_IN") == 1
    assert metric(text, "jifen_ledger_entries_written_total", reason="CHECK_IN") == 1
    assert metric(text, "jifen_holds_open") == 1
    assert metric(text, "jifen_subscribers_connected") == 0
    assert metric(text, "jifen_graphql_request_seconds_count", operation="checkIn") == 2


def test_each_operation_logs_one_json_line(live_server, caplog):
    member = live_server.member("logged")
    with caplog.at_level(logging.INFO, logger="jifen.requests"):
        response = member.post("query Home { me { id } }")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "jifen.requests"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["operation"], line["type"], line["caller"], line["errors"]) == ("me", "query", "member:logged", [])
    assert line["ms"] >= 0 and len(line["requestId"]) == 32 and response.status_code == 200


def test_clients_cannot_add_metric_labels(live_server):
    url = f"{live_server.base_url}/graphql"
    for i in range(3):  # names of their choosing: unknown fields, a fragment's name
        httpx.post(url, json={"query": "{ invented%d }" % i})
        httpx.post(url, json={"query": "{ ...Mine%d } fragment Mine%d on Query { tiers { level } }" % (i, i)})
    httpx.post(url, json={"query": "{ tiers { level } }"})
    text = httpx.get(f"{live_server.base_url}/metrics").text
    labels = {line.split('operation="')[1].split('"')[0] for line in text.splitlines()
              if line.startswith("jifen_graphql_requests_total{")}
    assert labels == {"tiers", "other"}
    assert metric(text, "jifen_graphql_requests_total", operation="other", type="query", outcome="error") == 3
    assert metric(text, "jifen_graphql_requests_total", operation="other", type="query", outcome="ok") == 3
