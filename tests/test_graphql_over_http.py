"""The GraphQL-over-HTTP spec, checked by its reference audit (npm graphql-http) against a real server."""
import json
import subprocess

import httpx


def test_the_server_passes_every_graphql_http_audit(node_tools, live_server):
    run = subprocess.run(["node", str(node_tools / "audit.mjs"), f"{live_server.base_url}/graphql"],
                         capture_output=True, text=True, timeout=120)
    results = json.loads(run.stdout)
    assert len(results) > 50
    assert [(r["status"], r["name"], r["reason"]) for r in results if r["status"] != "ok"] == []


def test_request_errors_are_400_without_data_under_the_graphql_response_media_type(live_server):
    accept = {"Accept": "application/graphql-response+json, application/json;q=0.9"}
    url = f"{live_server.base_url}/graphql"
    broken = httpx.post(url, json={"query": "{ me { "}, headers=accept)
    assert broken.status_code == 400 and "data" not in broken.json()
    assert broken.headers["content-type"].startswith("application/graphql-response+json")
    assert broken.json()["errors"][0]["message"].startswith("Syntax Error")  # what is wrong, and where
    assert broken.json()["errors"][0]["locations"] == [{"line": 1, "column": 8}]
    again = httpx.post(url, json={"query": "{ me { "}, headers={"Accept": "application/json"})
    assert again.json()["errors"][0]["message"].startswith("Syntax Error")
    invalid = httpx.post(url, json={"query": "{ nope }"}, headers=accept)
    assert invalid.status_code == 400 and "data" not in invalid.json()
    unknown = httpx.post(url, json={"query": "{ ...Missing }"}, headers=accept)  # the depth limit once crashed on it
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["message"] == "Unknown fragment 'Missing'."
    legacy = httpx.post(url, json={"query": "{ nope }"}, headers={"Accept": "application/json"})
    assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("application/json")
    ok = httpx.post(url, json={"query": "{ tiers { code } }"}, headers=accept)
    assert ok.status_code == 200 and ok.json()["data"]["tiers"]


def test_mutations_over_get_and_cross_site_content_types_are_refused(live_server):
    url = f"{live_server.base_url}/graphql"
    mutation = 'mutation { checkIn(input: {idempotencyKey: "g"}) { userErrors { code } } }'
    over_get = httpx.get(url, params={"query": mutation}, headers={"Accept": "application/json"})
    assert over_get.status_code == 405
    assert httpx.put(url, json={"query": "{ tiers { code } }"}).status_code == 405  # GET and POST only
    subscription = "subscription { pointsChanged { toast } }"  # WebSockets only
    assert httpx.post(url, json={"query": subscription}).status_code == 400
    assert httpx.get(url, params={"query": subscription}).status_code == 405
    assert httpx.post(url, content=b"null", headers={"Content-Type": "application/json"}).status_code == 400
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        refused = httpx.post(url, content='{"query": "{ tiers { code } }"}', headers={"Content-Type": content_type})
        assert refused.status_code in (400, 415), (content_type, refused.status_code)


def test_oversized_requests_are_refused_before_parsing(live_server):
    url = f"{live_server.base_url}/graphql"
    hostile = "{ " + "me { id } " * 100_000 + "}"  # about a megabyte of query text
    declared = httpx.post(url, json={"query": hostile})
    assert declared.status_code == 413
    assert declared.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"

    def chunks():  # no Content-Length: the server counts as it reads
        yield b'{"query": "'
        for _ in range(200):
            yield b"x" * 8192
        yield b'"}'

    streamed = httpx.post(url, content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert httpx.get(url, params={"query": "{ " + "a " * 10_000 + "}"}).status_code == 414
    assert httpx.post(url, json={"query": "{ tiers { code } }"}).status_code == 200


def test_one_operation_per_request(live_server):
    url = f"{live_server.base_url}/graphql"
    batch = httpx.post(url, json=[{"query": "{ tiers { code } }"}, {"query": "{ brand { name } }"}])
    assert batch.status_code == 400  # no batching: an array of operations is not a request
    two = "query A { tiers { code } } query B { brand { name } }"
    unnamed = httpx.post(url, json={"query": two}, headers={"Accept": "application/graphql-response+json"})
    assert unnamed.status_code == 400 and "data" not in unnamed.json()  # a request error: nothing ran
    assert unnamed.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    chosen = httpx.post(url, json={"query": two, "operationName": "B"}).json()
    assert list(chosen["data"]) == ["brand"]


def test_input_lists_are_capped(live_server):
    member = live_server.member("lister")
    mark = "mutation($ids: [ID!]) { markNotificationsRead(input: {ids: $ids}) { marked } }"
    ids = [f"Tm90aWZpY2F0aW9uOj{i}" for i in range(101)]
    too_many = member.execute(mark, {"ids": ids})
    assert too_many["data"] is None
    assert too_many["errors"][0]["extensions"] == {"code": "INPUT_TOO_LARGE", "limit": 100}
    literal = "mutation { markNotificationsRead(input: {ids: [%s]}) { marked } }" % ", ".join(
        f'"{i}"' for i in ids)
    assert member.execute(literal)["errors"][0]["extensions"]["code"] == "INPUT_TOO_LARGE"
    nested = live_server.staff().execute(  # staff may send an import's 1,000 rows, no more
        "mutation($codes: [String!]!) { addCouponCodes(input: {itemId: \"TWFsbEl0ZW06MQ==\", codes: $codes}) "
        "{ added } }", {"codes": [f"CODE-{i:04}" for i in range(1001)]})
    assert nested["errors"][0]["extensions"] == {"code": "INPUT_TOO_LARGE", "limit": 1000}
    assert member.data(mark, {"ids": []}) == {"markNotificationsRead": {"marked": 0}}
