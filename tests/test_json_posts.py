"""The short way for JSON POSTs (api/json_posts.py) answers byte for byte what strawberry's view
answers: status, headers and body, for successes, request errors, refusals and throttling."""
import orjson
import pytest

from api.app import JifenGraphQL
from api.auth import ANONYMOUS, Caller
from api.config import Settings
from api.json_posts import GRAPHQL_RESPONSE, JsonPosts, plain_request
from api.observability import Metrics
from domain.configuration import Actor
from tests.conftest import SECRET

HOME = ("query Home { me { nickname tier { level name } points { available } "
        "ledger(first: 3) { edges { cursor node { id delta reason } } pageInfo { hasNextPage } } } }")
CHECK_IN = "mutation($key: String!) { checkIn(input: {idempotencyKey: $key}) { entry { delta } userErrors { code } } }"

# (body, accept): requests the short way answers itself, then ones it leaves to strawberry's view.
PLAIN = [
    ({"query": HOME}, None),
    ({"query": HOME, "operationName": "Home"}, GRAPHQL_RESPONSE),
    ({"query": HOME}, f"{GRAPHQL_RESPONSE}, application/json;q=0.9"),
    ({"query": "{ me { nope } }"}, None),  # does not validate: 200 under JSON
    ({"query": "{ me { nope } }"}, GRAPHQL_RESPONSE),  # and 400 without data under the GraphQL type
    ({"query": "{ me { nickname"}, GRAPHQL_RESPONSE),  # does not parse
    ({"query": "query($n: Int!) { me { ledger(first: $n) { edges { node { id } } } } }",
      "variables": {"n": "ten"}}, GRAPHQL_RESPONSE),  # variables that do not coerce
    ({"query": "{ me { ledger(first: 500) { edges { node { id } } } } }"}, None),  # a limit's error
    ({"query": "query A { me { nickname } }", "operationName": "B"}, None),  # no such operation: 400
    ({"query": "query A { me { nickname } } query B { me { growth } }"}, None),  # which one? 400
    ({"query": "subscription { pointsChanged { delta } }"}, None),  # not over POST: 400
    ({"query": CHECK_IN, "variables": {"key": "twice"}}, None),  # the second time, the same entry
    ({"query": "{ tiers { level name } }", "extensions": {"client": "h5"}}, None),
]
OTHERS = [  # a body given as bytes is sent as it is
    (b'{"query": "{ me { nickname } }"', None),  # not JSON
    (b'[{"query": "{ me { nickname } }"}]', None),  # a batch
    ({"query": 7}, None),
    ({"query": "{ me { nickname } }", "variables": [1]}, None),
    ({"query": "{ me { nickname } }", "extensions": "x"}, None),
    ({"query": "{ me { nickname } }", "operationName": 3}, None),
    ({"variables": {}}, None),
    ({"query": ""}, None),
]
REQUESTS = PLAIN + OTHERS


def scope(body: bytes, accept: str | None, caller, member) -> dict:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if accept is not None:
        headers.append((b"accept", accept.encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
            "state": {"caller": caller, "member": member, "request_id": "req-1"}}


async def answer(app, body: bytes, accept: str | None, caller, member) -> tuple[int, dict, bytes]:
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope(body, accept, caller, member), receive, send)
    start, content = sent
    return start["status"], dict(start["headers"]), content["body"]


def views(services, database_url: str, **settings) -> list[JifenGraphQL]:
    """Two views with their own budgets and metrics: one behind the short way, one answering alone."""
    settings = Settings(database_url=database_url, secret=SECRET, env="prod", sweep_seconds=0, **settings)
    return [JifenGraphQL(services, settings, Metrics()) for _ in range(2)]


def counted(view: JifenGraphQL) -> list[str]:
    lines = view.schema.planned.metrics.exposition().decode().splitlines()
    return [line for line in lines if line.startswith(("jifen_graphql_requests_total", "jifen_graphql_errors_total",
                                                       "jifen_graphql_request_seconds_count"))]


@pytest.mark.parametrize("body, accept", REQUESTS)
async def test_the_short_way_answers_as_strawberrys_view(services, database_url, body, accept):
    member = await services.members.ensure("poster", "寄信人")
    for i in range(4):
        await services.points.adjust(Actor("staff", "ops"), member.id, 10 + i, f"memo {i}", f"post-{i}")
    member = await services.members.find("poster")
    caller = Caller("member", "poster", None, member.id)
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    alone, behind = views(services, database_url)
    answers = [await answer(app, raw, accept, caller, member) for app in (alone, JsonPosts(behind))]
    assert answers[0] == answers[1]
    assert counted(alone) == counted(behind)


async def test_a_throttled_caller_gets_429_and_when_to_come_back_either_way(services, database_url):
    alone, behind = views(services, database_url, cost_budget_per_minute=3)
    body = orjson.dumps({"query": "{ tiers { level name } }"})
    for app in (alone, JsonPosts(behind)):
        # The first request spends the budget; the second is refused before it runs.
        await answer(app, body, None, ANONYMOUS, None)
        status, headers, content = await answer(app, body, None, ANONYMOUS, None)
        assert status == 429
        assert int(headers[b"retry-after"]) >= 1
        assert orjson.loads(content)["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert headers[b"content-type"] == b"application/json"


@pytest.mark.parametrize("body, plain", [(raw if isinstance(raw, bytes) else orjson.dumps(raw), (raw, accept) in PLAIN)
                                         for raw, accept in REQUESTS])
def test_the_short_way_takes_one_well_formed_request_and_leaves_the_rest_to_strawberry(body, plain):
    assert (plain_request(body) is not None) == plain


@pytest.mark.parametrize("body", [b"null", b"7", b'"{ me { nickname } }"', b"true"])
async def test_json_that_is_not_a_request_object_is_the_clients_mistake(services, database_url, body):
    view, _ = views(services, database_url)
    status, headers, content = await answer(JsonPosts(view), body, None, ANONYMOUS, None)
    assert (status, headers[b"content-type"], content) == (
        400, b"text/plain; charset=utf-8", b"The request body must be a JSON object")
