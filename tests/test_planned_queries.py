"""The short way for planned queries (api/execution/planned_queries.py) answers exactly what strawberry's way
answers: the same data, the same (masked) errors, the same price paid, the same metrics."""
import pytest
from graphql import OperationType

from api.http.auth import Caller
from api.execution.context import Context, Loaders
from api.execution.cost import CostBudget
from api.http.json_posts import POST_OPERATIONS
from api.ops.observability import Metrics
from api.execution.schema import build_schema
from domain.configuration import Actor

STAFF = Actor("staff", "ops")
HOME = """query Home { me { nickname growth tier { level name earnMultiplier } points { available held }
  ledger(first: 3) { edges { cursor node { id delta balanceAfter reason memo occurredAt expiresAt } }
  pageInfo { hasNextPage endCursor } } } }"""

CASES = [
    (HOME, None, None),
    ("query($n: Int!) { me { ledger(first: $n) { edges { node { delta } } } } }", {"n": 2}, None),
    ("{ me { ledger(first: 0) { edges { node { id } } } } }", None, None),  # a rule's error, masked as input
    ("query($n: Int!) { me { nickname } }", {"n": "many"}, None),  # variables that do not coerce
    ("query A { me { nickname } } query B { me { growth } }", None, "B"),  # several operations
    ("query A { me { nickname } }", None, "C"),  # no such operation
    ("{ me { nickname @include(if: false) growth } }", None, None),  # no plan: directives
    ("{ tiers { level name } mallItems(first: 2) { edges { node { name } } } }", None, None),
]


def schema_pair():
    """Two schemas with their own metrics and budgets: one takes the short way when it can, one never."""
    built = []
    for short_way in (True, False):
        metrics, budget = Metrics(), CostBudget(None, "test")
        schema = build_schema(metrics=metrics, budget=budget)
        if not short_way:
            schema.planned = None
        built.append((schema, metrics))
    return built


def counted(metrics: Metrics) -> list[str]:
    """Requests by operation, kind and outcome, errors by code, and how many latencies were observed."""
    lines = metrics.exposition().decode().splitlines()
    return [line for line in lines if line.startswith(("jifen_graphql_requests_total", "jifen_graphql_errors_total",
                                                       "jifen_graphql_request_seconds_count"))]


def comparable(result):
    errors = [(e.message, e.path, e.extensions) for e in result.errors or ()]
    return result.data, errors, result.extensions


@pytest.mark.parametrize("query, variables, operation_name", CASES)
async def test_the_short_way_answers_as_strawberrys_way(services, query, variables, operation_name):
    member = await services.members.ensure("lane", "小径")
    for i in range(4):
        await services.points.adjust(STAFF, member.id, 10 + i, f"memo {i}", f"lane-{i}")
    member = await services.members.find("lane")
    answers = []
    for schema, metrics in schema_pair():
        context = Context(services, Caller("member", "lane", None, member.id), Loaders(services), member=member,
                          request_id="req-1")
        await context.loaders.prefetch_tiers()
        try:
            result = await schema.execute(query, variable_values=variables, context_value=context,
                                          operation_name=operation_name)
        except Exception as error:  # noqa: BLE001 - strawberry raises for what the HTTP view answers 400
            answers.append((type(error).__name__, counted(metrics)))
            continue
        answers.append((comparable(result), counted(metrics)))
    (short, short_metrics), (general, general_metrics) = answers
    assert short == general
    assert short_metrics == general_metrics  # the same requests counted, by operation, kind and outcome


async def test_the_short_way_is_taken_by_a_planned_query_and_pays_once(services):
    member = await services.members.ensure("lane-2", "小径")
    context = Context(services, Caller("member", "lane-2", None, member.id), Loaders(services), member=member)
    schema, _ = schema_pair()[0]
    taken = await schema.planned.answer(HOME, None, context, None, None, None)
    assert taken is not None and taken.errors is None and taken.data["me"]["nickname"] == "小径"
    second = await schema.planned.answer(HOME, None, context, None, None, None)
    spent = taken.extensions["cost"]["requested"]
    assert second.extensions["cost"]["budgetLeft"] == taken.extensions["cost"]["budgetLeft"] - spent
    refused_by_rules = await schema.planned.answer("{ me { ledger(first: 0) { edges { node { id } } } } }", None,
                                                  context, None, None, None)
    assert refused_by_rules.errors[0].extensions["code"] == "BAD_USER_INPUT"  # run, reported and masked here
    check_in = "mutation { checkIn(input: {idempotencyKey: \"k\"}) { entry { delta } } }"
    assert await schema.planned.answer(check_in, None, context, None, None, None) is None  # over GET: not here
    ran = await schema.planned.answer(check_in, None, context, None, None, None, MUTATIONS_TOO)
    assert ran.data == {"checkIn": {"entry": {"delta": 10}}} and ran.extensions["cost"]["requested"] == 3


MUTATIONS_TOO = frozenset({OperationType.QUERY, OperationType.MUTATION})
CHECK_IN = """mutation($key: String!) { checkIn(input: {idempotencyKey: $key}) {
  entry { delta reason expiresAt } member { points { available } checkIn { streak checkedInToday } }
  userErrors { field code message } } }"""
# Each is sent twice in a row, so a replay and a refusal after a success are compared too.
MUTATIONS = [
    (CHECK_IN, {"key": "k1"}),
    ("mutation { checkIn(input: {idempotencyKey: \"\"}) { entry { delta } userErrors { field code } } }", None),
    ("mutation { adjustPoints(input: {memberId: \"x\", delta: 1, memo: \"m\", idempotencyKey: \"k\"}) "
     "{ userErrors { code } } }", None),  # a member may not: an error raised by the resolver
    ("mutation($key: Int!) { checkIn(input: {idempotencyKey: \"k\"}) { entry { delta } } }", {"key": "x"}),
    ("""mutation($item: ID!) { redeem(input: {itemId: $item, idempotencyKey: "r"}) {
         redemption { points } member { points { available } } userErrors { field code } } }""",
     {"item": "Rmxhc2hTYWxlOjk5OQ=="}),  # no such flash sale
]


@pytest.mark.parametrize("mutation, variables", MUTATIONS)
async def test_a_mutation_the_short_way_answers_as_strawberrys_way(services, mutation, variables):
    answers = []
    for (schema, metrics), name in zip(schema_pair(), ("short", "general")):
        member = await services.members.ensure(f"m-{name}", "同名")
        await services.points.adjust(STAFF, member.id, 50, "start", f"start-{name}")
        member = await services.members.find(f"m-{name}")
        results = []
        for _ in range(2):
            context = Context(services, Caller("member", f"m-{name}", None, member.id), Loaders(services),
                              member=member, request_id="req-1")
            await context.loaders.prefetch_tiers()
            result = await schema.execute(mutation, variable_values=variables, context_value=context,
                                          allowed_operation_types=POST_OPERATIONS)
            results.append(comparable(result))
        answers.append((results, counted(metrics)))
    (short, short_metrics), (general, general_metrics) = answers
    assert short == general
    assert short_metrics == general_metrics
