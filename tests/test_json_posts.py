"""The short way for JSON POSTs (api/http/json_posts.py) answers byte for byte what strawberry's view
answers: status, headers and body, for successes, request errors, refusals and throttling; it
answers plain requests without the view, and hands the rest to it."""
import orjson
import pytest

from api.http.app import JifenGraphQL, LimitingSize
from api.http.auth import ANONYMOUS, Caller
from api.ops.config import Settings
from api.http.json_posts import GRAPHQL_RESPONSE, JsonPosts
from api.ops.observability import Metrics
from domain.configuration import Actor
from tests.conftest import SECRET

HOME = ("query Home { me { nickname tier { level name } points { available } "
        "ledger(first: 3) { edges { cursor node { id delta reason } } pageInfo { hasNextPage } } } }")
CHECK_IN = "mutation($key: String!) { checkIn(input: {idempotencyKey: $key}) { entry { delta } userErrors { code } } }"

JSON = [("content-type", "application/json")]


def accepting(accept: str) -> list[tuple[str, str]]:
    return [*JSON, ("accept", accept)]


# (body, headers): requests the short way answers itself, then ones it leaves to strawberry's view.
PLAIN = [
    ({"query": HOME}, JSON),
    ({"query": HOME, "operationName": "Home"}, accepting(GRAPHQL_RESPONSE)),
    ({"query": HOME}, accepting(f"{GRAPHQL_RESPONSE}, application/json;q=0.9")),
    ({"query": "{ me { nope } }"}, JSON),  # does not validate: 200 under JSON
    ({"query": "{ me { nope } }"}, accepting(GRAPHQL_RESPONSE)),  # and 400 without data under the GraphQL type
    ({"query": "{ me { nope } }"}, [*accepting(GRAPHQL_RESPONSE), ("accept", "application/json")]),  # the first
    ({"query": "{ me { nickname"}, accepting(GRAPHQL_RESPONSE)),  # does not parse
    ({"query": "query($n: Int!) { me { ledger(first: $n) { edges { node { id } } } } }",
      "variables": {"n": "ten"}}, accepting(GRAPHQL_RESPONSE)),  # variables that do not coerce
    ({"query": "{ me { ledger(first: 500) { edges { node { id } } } } }"}, JSON),  # a limit's error
    ({"query": "query A { me { nickname } }", "operationName": "B"}, JSON),  # no such operation: 400
    ({"query": "query A { me { nickname } }", "operationName": ""}, JSON),
    ({"query": "query A { me { nickname } } query B { me { growth } }"}, JSON),  # which one? BAD_REQUEST
    ({"query": "subscription { pointsChanged { toast } }"}, JSON),  # WebSockets only: 400
    ({"query": CHECK_IN, "variables": {"key": "twice"}}, JSON),  # the second time, the same entry
    ({"query": "{ tiers { level name } }", "extensions": {"client": "h5"}, "variables": {}}, JSON),
    ({"query": "{ tiers { level } }"}, [("content-type", "application/json; charset=utf-8")]),
    ({"query": "{ tiers { level } }"}, [("content-type", "application/json-patch+json")]),  # JSON to the view too
    ({"query": "{ tiers { level } }"}, [*JSON, ("content-type", "text/plain")]),  # the first counts
]
OTHERS = [  # a body given as bytes is sent as it is
    (b'{"query": "{ me { nickname } }"', JSON),  # not JSON
    (b'[{"query": "{ me { nickname } }"}]', JSON),  # a batch
    ({"query": 7}, JSON),
    ({"query": "{ me { nickname } }", "variables": [1]}, JSON),
    ({"query": "{ me { nickname } }", "extensions": "x"}, JSON),
    ({"query": "{ me { nickname } }", "operationName": 3}, JSON),
    ({"variables": {}}, JSON),
    ({"query": ""}, JSON),
    ({"query": "{ tiers { level } }"}, [("content-type", "APPLICATION/JSON")]),  # the view's test is exact
    ({"query": "{ tiers { level } }"}, [("content-type", "text/plain"), *JSON]),  # the first counts
    ({"query": "{ tiers { level } }"}, []),
]
REQUESTS = PLAIN + OTHERS


def scope(body: bytes, headers: list[tuple[str, str]], caller, member) -> dict:
    raw = [(name.encode(), value.encode()) for name, value in headers]
    raw.append((b"content-length", str(len(body)).encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "", "headers": raw,
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
            "state": {"caller": caller, "member": member, "request_id": "req-1"}}


async def answer(app, body: bytes, headers: list[tuple[str, str]], caller, member) -> tuple[int, dict, bytes]:
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope(body, headers, caller, member), receive, send)
    start, content = sent
    return start["status"], dict(start["headers"]), content["body"]


class HandingNothingOn(JifenGraphQL):
    """A view behind the short way that fails the test if a request reaches it."""

    async def run(self, request, context=None, root_value=None):
        raise AssertionError("the short way handed a plain request on to strawberry's view")


def views(services, database_url: str, behind=JifenGraphQL, **settings) -> list[JifenGraphQL]:
    """Two views with their own budgets and metrics: one answering alone, one behind the short way."""
    settings = Settings(database_url=database_url, secret=SECRET, env="prod", sweep_seconds=0, **settings)
    return [JifenGraphQL(services, settings, Metrics()), behind(services, settings, Metrics())]


def counted(view: JifenGraphQL) -> list[str]:
    lines = view.schema.planned.metrics.exposition().decode().splitlines()
    return [line for line in lines if line.startswith(("jifen_graphql_requests_total", "jifen_graphql_errors_total",
                                                       "jifen_graphql_request_seconds_count"))]


@pytest.mark.parametrize("body, headers", REQUESTS)
async def test_the_short_way_answers_as_strawberrys_view(services, database_url, body, headers):
    member = await services.members.ensure("poster", "寄信人")
    for i in range(4):
        await services.points.adjust(Actor("staff", "ops"), member.id, 10 + i, f"memo {i}", f"post-{i}")
    member = await services.members.find("poster")
    caller = Caller("member", "poster", None, member.id)
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    alone, behind = views(services, database_url, HandingNothingOn if (body, headers) in PLAIN else JifenGraphQL)
    answers = [await answer(app, raw, headers, caller, member) for app in (alone, JsonPosts(behind))]
    assert answers[0] == answers[1]
    assert counted(alone) == counted(behind)


async def test_a_throttled_caller_gets_429_and_when_to_come_back_either_way(services, database_url):
    alone, behind = views(services, database_url, cost_budget_per_minute=3)
    body = orjson.dumps({"query": "{ tiers { level name } }"})
    for app in (alone, JsonPosts(behind)):
        # The first request spends the budget; the second is refused before it runs.
        await answer(app, body, JSON, ANONYMOUS, None)
        status, headers, content = await answer(app, body, JSON, ANONYMOUS, None)
        assert status == 429
        assert int(headers[b"retry-after"]) >= 1
        assert orjson.loads(content)["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert headers[b"content-type"] == b"application/json"




@pytest.mark.parametrize("body", [b"null", b"7", b'"{ me { nickname } }"', b"true"])
async def test_json_that_is_not_a_request_object_is_the_clients_mistake(services, database_url, body):
    view, _ = views(services, database_url)
    status, headers, content = await answer(JsonPosts(view), body, JSON, ANONYMOUS, None)
    assert (status, headers[b"content-type"], orjson.loads(content)) == (400, b"application/json", {
        "errors": [{"message": "The request body must be a JSON object", "extensions": {"code": "BAD_REQUEST"}}]})


async def test_a_client_that_leaves_mid_body_has_nothing_run(services, database_url):
    member = await services.members.ensure("leaver", "离开")
    caller = Caller("member", "leaver", None, member.id)
    view, _ = views(services, database_url)
    body = orjson.dumps({"query": CHECK_IN, "variables": {"key": "cut"}})  # whole, but more was promised
    messages = iter([{"type": "http.request", "body": body, "more_body": True}, {"type": "http.disconnect"}])
    sent = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    await LimitingSize(JsonPosts(view))(scope(body, JSON, caller, member), receive, send)
    assert sent == []
    assert (await services.members.find("leaver")).account.growth == 0  # no check-in landed
