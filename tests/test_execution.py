"""The execution shortcuts (api/execution/execution.py) answer exactly what strawberry and graphql-core answer
without them: the same data, the same errors at the same paths, the same null propagation."""
from __future__ import annotations

import enum
from datetime import UTC, datetime

import pytest
import strawberry
from strawberry.scalars import JSON

from api.execution.execution import FastLeaves, call_simple_resolvers_directly, read_plain_fields_directly


@strawberry.enum
class Mood(enum.Enum):
    HAPPY = "HAPPY"
    SAD = "SAD"


@strawberry.type
class Row:
    id: strawberry.ID
    count: int
    label: str | None
    mood: Mood
    at: datetime
    ratio: float

    @strawberry.field
    def doubled(self) -> int:
        return self.count * 2


@strawberry.type
class Blob:
    """A scalar that passes values through as they are: an awaitable attribute stays one."""
    name: str
    payload: JSON | None


@strawberry.type
class Holder:
    rows: list[Row]
    maybe: Row | None


class Broken:
    """Not a Row: its attributes go missing or come back of the wrong kind."""
    id = "b"
    count = None  # a null in a non-null field
    label = "fine"
    mood = "NOT_A_MOOD"
    at = datetime(2026, 1, 1, tzinfo=UTC)
    ratio = "not a number"

    def doubled(self):
        return 0


def rows():
    at = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    return [Row(id=str(i), count=i, label=None if i % 2 else f"行{i}", mood=Mood.HAPPY if i % 3 else Mood.SAD,
                at=at, ratio=i / 3) for i in range(5)]


def built_schema(query: type, fast: bool, types: list | None = None) -> strawberry.Schema:
    """Plain strawberry, or the same schema with every shortcut the API's schema takes."""
    built = strawberry.Schema(query=query, types=types or [], execution_context_class=FastLeaves if fast else None)
    if fast:
        read_plain_fields_directly(built)
        call_simple_resolvers_directly(built)
    return built


def schema(fast: bool, holder: Holder) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def holder(self) -> Holder:
            return holder

        @strawberry.field
        def strict(self) -> Holder | None:
            return holder

    return built_schema(Query, fast)


QUERY = """{ holder { rows { id count label mood at ratio doubled alias: count __typename }
                      maybe { id count mood } } }"""


def answers(holder: Holder, query: str = QUERY):
    plain, fast = (schema(flag, holder).execute_sync(query) for flag in (False, True))
    return plain, fast


def same(plain, fast) -> None:
    assert fast.data == plain.data
    assert [(e.message, e.path) for e in fast.errors or []] == [(e.message, e.path) for e in plain.errors or []]


def test_plain_fields_read_the_same_values():
    plain, fast = answers(Holder(rows=rows(), maybe=rows()[1]))
    assert not plain.errors
    same(plain, fast)


@pytest.mark.parametrize("broken_field", ["count", "mood", "ratio"])
def test_a_bad_value_fails_as_graphql_core_fails_it(broken_field):
    holder = Holder(rows=[*rows()[:2], Broken()], maybe=Broken())  # type: ignore[list-item]
    query = f"{{ holder {{ rows {{ id {broken_field} }} maybe {{ id {broken_field} }} }} }}"
    plain, fast = answers(holder, query)
    assert plain.errors  # the non-null field's error nulls its parent, as the spec says
    same(plain, fast)


@pytest.mark.parametrize("values", [{"count": 2 ** 31}, {"count": -2 ** 31 - 1}, {"count": True}, {"label": 123},
                                    {"id": 5}, {"ratio": float("inf")}, {"ratio": 2}, {"label": "行"}])
def test_scalars_at_their_edges_coerce_as_graphql_core_coerces_them(values):
    row = Row(**{"id": "r", "count": 1, "label": None, "mood": Mood.SAD, "at": datetime(2026, 1, 1, tzinfo=UTC),
                 "ratio": 0.5, **values})
    plain, fast = answers(Holder(rows=[row], maybe=row), "{ holder { rows { id count label ratio } maybe { count } } }")
    same(plain, fast)


def test_a_missing_attribute_fails_as_graphql_core_fails_it():
    class Bare:
        id = "x"

    plain, fast = answers(Holder(rows=[Bare()], maybe=None), "{ holder { rows { id label } } }")  # type: ignore[list-item]
    assert plain.errors
    same(plain, fast)


async def test_an_awaitable_attribute_is_awaited_as_graphql_core_awaits_it():
    async def failing():
        raise ValueError("the payload could not be read")

    async def payload():
        return {"ok": True}

    def build(fast: bool) -> strawberry.Schema:
        @strawberry.type
        class Query:
            @strawberry.field
            def blobs(self) -> list[Blob]:  # fresh coroutines for each run
                return [Blob(name="a", payload=failing()), Blob(name="b", payload=payload())]

        return built_schema(Query, fast)

    plain, fast = [await build(flag).execute("{ blobs { name payload } }") for flag in (False, True)]
    assert plain.data == {"blobs": [{"name": "a", "payload": None}, {"name": "b", "payload": {"ok": True}}]}
    same(plain, fast)


# Simple resolvers (no arguments) are called directly, plain fields read directly, and
# query plans (api/execution/query_plans.py): a plannable query runs its resolvers once; anything a plan does not
# cover (an error, directives, introspection, interfaces) runs again on graphql-core, which reports it.

@strawberry.interface
class Named:
    name: str


@strawberry.type
class Shop(Named):
    city: str


@strawberry.type
class Tag:
    label: str


@strawberry.type
class Coupon:
    code: str

    @classmethod
    def is_type_of(cls, obj, info) -> bool:
        assert info.field_name == "coupon"  # its own check gets the info, as graphql-core gives it
        return isinstance(obj, cls)


@strawberry.type
class Item:
    id: strawberry.ID
    price: int
    note: str | None = None
    sizes: list[int | None] | None = strawberry.field(default_factory=lambda: [36, None])

    @strawberry.field
    async def tags(self, info: strawberry.Info, first: int = 2) -> list[Tag]:
        info.context["calls"].append(f"tags:{self.id}")
        return await info.context["tag_loader"].load((self.id, first))

    @strawberry.field
    async def shop(self, info: strawberry.Info) -> Shop | None:
        assert info.field_name == "shop" and info.context["calls"]  # strawberry's Info, as without shortcuts
        return None if self.id == "2" else Shop(name="总店", city="杭州")

    @strawberry.field
    def coupon(self) -> Coupon:
        return Coupon(code=f"C{self.id}")

    @strawberry.field
    def grid(self) -> list[list[int | None]]:
        return [[1, None], [self.price]]


def catalogue(fast: bool) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        async def items(self, info: strawberry.Info, first: int = 3, fail: bool = False,
                        moods: list[Mood] | None = None) -> list[Item]:
            info.context["calls"].append("items" if moods is None else f"items:{[m.value for m in moods]}")
            if fail:
                raise ValueError("the shelf is locked")
            return [Item(id=str(i), price=100 * i, note=None if i % 2 else "新品") for i in range(first)]

        @strawberry.field
        def shops(self) -> list[Named]:
            return [Shop(name="分店", city="苏州")]

        @strawberry.field
        @staticmethod
        def motto() -> str:
            return "积少成多"

        @strawberry.field
        def later(self, info: strawberry.Info) -> int:
            async def value():
                return 1
            coroutine = value()
            info.context["calls"].append(coroutine)
            return coroutine  # type: ignore[return-value]

        @strawberry.field
        def broken(self) -> int:
            raise RuntimeError("the counter is broken")

    return built_schema(Query, fast, types=[Shop])


def run_catalogue(query: str, variables: dict | None = None):
    from strawberry.dataloader import DataLoader

    async def run(fast: bool):
        batches = []

        async def load_tags(keys):
            batches.append(len(keys))
            return [[Tag(label=f"{item}-{n}") for n in range(first)] for item, first in keys]

        context = {"calls": [], "tag_loader": DataLoader(load_tags)}
        result = await catalogue(fast).execute(query, variable_values=variables, context_value=context)
        return result, context["calls"], batches
    return run


PLANNED = """query Shelf($n: Int!) { motto items(first: $n, moods: [SAD, HAPPY]) { id ...priced tagged: tags(first: 1) { label }
  ... on Item { note __typename } shop { name city } coupon { code } grid sizes } }
  fragment priced on Item { price id }"""


async def test_a_planned_query_answers_as_graphql_core_does_running_each_resolver_once():
    run = run_catalogue(PLANNED, {"n": 3})
    (plain, plain_calls, plain_batches), (fast, fast_calls, fast_batches) = await run(False), await run(True)
    assert not plain.errors and plain.data["items"][2]["tagged"] == [{"label": "2-0"}]
    same(plain, fast)
    assert list(fast.data["items"][0]) == list(plain.data["items"][0])  # the same keys in the same order
    assert fast_calls == plain_calls == ["items:['SAD', 'HAPPY']", "tags:0", "tags:1", "tags:2"]  # no second run
    assert fast_batches == plain_batches == [3]  # siblings still load in one batch


@pytest.mark.parametrize("query, variables", [
    ("{ items(fail: true) { id } }", None),  # a resolver's error
    ("query($skip: Boolean!) { items { id note @skip(if: $skip) price @include(if: $skip) } }", {"skip": True}),
    ("{ shops { name ... on Shop { city } __typename } }", None),  # an interface
    ("{ __schema { queryType { name } } items { id } }", None),  # introspection
    ("{ items { id } } query Other { items { price } }", None),  # strawberry's error: which operation?
    ("{ motto broken items { id } }", None),  # a simple resolver's error
])
async def test_what_a_plan_does_not_cover_is_answered_as_graphql_core_answers_it(query, variables):
    run = run_catalogue(query, variables)
    (plain, _, _), (fast, _, _) = await run(False), await run(True)
    same(plain, fast)
    assert fast.data is not None or fast.errors


async def test_a_plan_given_up_closes_the_coroutines_it_had_not_awaited_yet():
    import inspect

    fast, calls, _ = await run_catalogue("{ later broken }")(True)
    plain, _, _ = await run_catalogue("{ later broken }")(False)
    same(plain, fast)
    planned, general = [c for c in calls if inspect.iscoroutine(c)]  # the plan's run, then graphql-core's
    assert inspect.getcoroutinestate(planned) == inspect.CORO_CLOSED  # closed: no "never awaited" warning
    general.close()  # graphql-core leaves its own unawaited when an error nulls the data: not ours to test


# Arguments: resolvers called directly get their arguments converted as strawberry's chain converts
# them, input objects included, and an argument only strawberry can convert keeps strawberry's chain.

@strawberry.input
class Line:
    sku: str
    quantity: int = 1
    mood: Mood | None = None


@strawberry.input
class Order:
    lines: list[Line]
    note: str | None
    at: datetime | None = None
    tags: list[str] = strawberry.field(default_factory=lambda: ["新"])
    extra: JSON | None = None
    gift: Line | None = None


@strawberry.input
class Patch:
    note: strawberry.Maybe[str | None]


def ordering(fast: bool) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def order(self, order: Order, ids: list[strawberry.ID] | None = None) -> str:
            return repr((order, ids))

        @strawberry.field
        def patch(self, patch: Patch) -> str:
            return repr(patch)

    return built_schema(Query, fast)


@pytest.mark.parametrize("query, variables", [
    ("""{ order(order: {lines: [{sku: "A"}, {sku: "B", quantity: 3, mood: SAD}], note: null}, ids: ["1", "2"]) }""",
     None),
    ("""query($o: Order!) { order(order: $o) }""",
     {"o": {"lines": [], "note": "快", "at": "2026-12-05T10:00:00+08:00", "tags": ["a", "b"], "extra": {"k": [1]},
            "gift": {"sku": "G", "mood": None}}}),
    ("""query($o: Order!) { order(order: $o) }""", {"o": {"lines": [{"sku": "A", "quantity": None}], "note": None}}),
    ("""query($o: Order!) { order(order: $o) }""", {"o": {"lines": [{"sku": "A"}]}}),
    ("""{ patch(patch: {}) } """, None),
    ("""{ patch(patch: {note: null}) } """, None),
])
def test_arguments_reach_a_resolver_called_directly_as_strawberry_converts_them(query, variables):
    plain, fast = (ordering(flag).execute_sync(query, variable_values=variables) for flag in (False, True))
    same(plain, fast)
    assert plain.data is not None or plain.errors
    fields = ordering(True)._schema.query_type.fields
    assert hasattr(fields["order"].resolve, "takes_info")  # called directly
    assert not hasattr(fields["patch"].resolve, "takes_info")  # a Maybe: strawberry's chain


def test_every_input_of_the_api_converts_as_strawberry_converts_it():
    """Each argument of every field of Jifen's schema, with every field of its inputs given and with only
    the required ones: the directly called resolver would get what strawberry's chain gives."""
    from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLList, GraphQLNonNull
    from strawberry.schema.schema_converter import GraphQLCoreConverter
    from strawberry.types.arguments import convert_argument

    from api.execution.execution import ArgumentConverters
    from api.execution.schema import build_schema

    api = build_schema(introspection=True)
    registry = api.schema_converter.scalar_registry
    converters = ArgumentConverters(api.config.name_converter, registry)

    def sample(graphql_type, full: bool):
        if isinstance(graphql_type, GraphQLNonNull):
            return sample(graphql_type.of_type, full)
        if isinstance(graphql_type, GraphQLList):
            return [sample(graphql_type.of_type, full), sample(graphql_type.of_type, full)]
        if isinstance(graphql_type, GraphQLEnumType):
            return list(graphql_type.values.values())[-1].value
        if isinstance(graphql_type, GraphQLInputObjectType):
            return {name: sample(field.type, full) for name, field in graphql_type.fields.items()
                    if full or isinstance(field.type, GraphQLNonNull)}
        return f"{graphql_type.name}-value"

    checked = 0
    for graphql_type in api._schema.type_map.values():
        for graphql_field in getattr(graphql_type, "fields", {}).values():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            for argument in getattr(field, "arguments", None) or []:
                convert = converters.of(argument.type)
                assert convert is not None, f"{graphql_type.name}.{argument.python_name} takes strawberry's chain"
                graphql_argument = graphql_field.args[api.config.name_converter.from_argument(argument)]
                for full in (True, False):
                    value = sample(graphql_argument.type, full)
                    assert convert(value) == convert_argument(value, argument.type, registry, api.config)
                    checked += 1
    assert checked > 100


# Mutations with a plan: each mutation's resolver runs once, in order; a payload the plan does not
# cover is completed by graphql-core from the value already resolved (its read-only fields resolved
# again, as a query's are), and errors are graphql-core's.

@strawberry.type
class Receipt:
    number: int
    lines: list[Row]
    maybe: Row | None = None

    @strawberry.field
    def checked(self, info: strawberry.Info) -> str:
        info.context["calls"].append(f"checked:{self.number}")
        if self.number == 13:
            raise ValueError("unlucky receipt")
        return "ok"


def shop(fast: bool) -> strawberry.Schema:
    @strawberry.type
    class Query:
        motto: str = "积少成多"

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        async def buy(self, info: strawberry.Info, order: Order, number: int = 1) -> Receipt:
            info.context["calls"].append(f"buy:{number}")
            if number < 0:
                raise ValueError("a negative receipt")
            lines = rows()[:len(order.lines)]
            return Receipt(number=number, lines=lines if number != 7 else [Broken()])

        @strawberry.mutation
        def maybe_buy(self, info: strawberry.Info, number: int) -> Receipt | None:
            info.context["calls"].append(f"maybe:{number}")
            if number < 0:
                raise ValueError("not today")
            return Receipt(number=number, lines=[])

    built = strawberry.Schema(query=Query, mutation=Mutation, execution_context_class=FastLeaves if fast else None)
    if fast:
        read_plain_fields_directly(built)
        call_simple_resolvers_directly(built)
    return built


ORDER = '{lines: [{sku: "A"}, {sku: "B"}], note: null}'


@pytest.mark.parametrize("mutation", [
    f"mutation {{ buy(order: {ORDER}, number: 2) {{ number lines {{ id mood at }} checked __typename }} }}",
    f"mutation {{ first: buy(order: {ORDER}) {{ number }} second: buy(order: {ORDER}, number: 3) {{ number }} "
    "__typename }",
    f"mutation {{ buy(order: {ORDER}, number: -1) {{ number }} after: buy(order: {ORDER}) {{ number }} }}",
    f"mutation {{ maybeBuy(number: -1) {{ number }} after: buy(order: {ORDER}, number: 4) {{ number }} }}",
    f"mutation {{ buy(order: {ORDER}, number: 13) {{ number checked }} }}",
    f"mutation {{ maybeBuy(number: 13) {{ number checked }} after: buy(order: {ORDER}, number: 5) {{ number }} }}",
    f"mutation {{ buy(order: {ORDER}, number: 7) {{ number lines {{ id count }} }} }}",
])
async def test_a_planned_mutation_answers_as_graphql_core_does_running_each_resolver_once(mutation):
    async def run(fast: bool):
        context = {"calls": []}
        return await shop(fast).execute(mutation, context_value=context), context["calls"]

    (plain, plain_calls), (fast, fast_calls) = await run(False), await run(True)
    same(plain, fast)
    mutations = [[call for call in calls if call.startswith(("buy", "maybe"))] for calls in (plain_calls, fast_calls)]
    assert mutations[0] == mutations[1] and mutations[0]
    assert [e.locations for e in fast.errors or []] == [e.locations for e in plain.errors or []]
