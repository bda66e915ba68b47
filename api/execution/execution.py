"""How documents run fast: each distinct document parsed and validated once, plain fields read
without strawberry's resolver chain, and plain scalar fields completed without graphql-core's
per-field bookkeeping. Every shortcut takes only the common, error-free case and hands anything
else to the general path, which also reports the errors.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator

import strawberry
from graphql import (DocumentNode, ExecutionResult, GraphQLError, GraphQLLeafType, GraphQLObjectType,
                     GraphQLResolveInfoHelpers, GraphQLSchema, OperationType, Undefined, parse, validate)
from graphql.pyutils import Path
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalID
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.scalars import is_scalar
from strawberry.types.unset import UNSET

from api.execution.error_masking import coded
from api.execution.query_plans import FieldPlan, leaf_type, plan_for, resolve_planned, run_fields


class PreparedDocuments(SchemaExtension):
    """Each distinct document is parsed (at most ``max_tokens`` tokens) and validated (with the given
    extra rules) once; repeats are a lookup by the query text.

    One extension rather than a parser cache, a token limiter, added rules and a validation cache:
    strawberry runs every hook of every extension on each request. Keyed by the text, not the
    parsed document: hashing a document walks every node of it."""

    def __init__(self, rules: tuple, max_tokens: int) -> None:
        self.rules = rules
        self.max_tokens = max_tokens
        self.errors: list[GraphQLError] | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        standard = tuple(context.validation_rules)
        context.validation_rules = (*standard, *self.rules)
        try:  # strawberry itself refuses a request without a query before this hook
            context.graphql_document, self.errors = prepared_document(
                context.schema._schema, context.query, standard, self.rules, self.max_tokens)
        except GraphQLError:
            pass  # strawberry parses it again (with the same limit) and answers the syntax error its way
        yield

    def on_validate(self) -> Iterator[None]:
        if self.errors is not None:
            self.execution_context.pre_execution_errors = self.errors
        yield


@functools.lru_cache(maxsize=512)
def prepared_document(schema: GraphQLSchema, query: str, standard: tuple, limits: tuple,
                      max_tokens: int) -> tuple[DocumentNode, list[GraphQLError]]:
    """The limit rules run on documents the standard rules accept: the depth limiter walks fragment
    spreads and fails on an unknown fragment that the standard rules name properly."""
    document = parse(query, max_tokens=max_tokens)
    errors = validate(schema, document, standard)
    if errors:
        return document, coded(errors, "GRAPHQL_VALIDATION_FAILED")
    return document, coded(validate(schema, document, limits), "LIMIT_EXCEEDED")


def read_plain_fields_directly(schema: strawberry.Schema) -> None:
    """A field with no resolver is an attribute read; strawberry reaches it through four calls (and
    the default resolver's property lookups) on every row. One closure per field does the same read.
    A plain field of a scalar or enum type also says so, for `FastLeaves`."""
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for graphql_field in graphql_type.fields.values():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(field, StrawberryField) and field.is_basic_field and field.python_name:
                graphql_field.resolve = attribute_reader(field.python_name, leaf_type(graphql_field.type))


def call_simple_resolvers_directly(schema: strawberry.Schema) -> None:
    """A resolver without field extensions whose arguments are built-in or custom scalars, enums, lists
    and input objects of those (`ledger(first, after, reasons)`, every mutation's `input`) needs only
    its object, its arguments as strawberry converts them and, if it asks, the info. Strawberry's
    chain around it converts arguments by inspecting their types, runs extensions and looks for
    exception handlers on every call; one closure per field, with its arguments' converters made
    once, calls it as strawberry would. Not with exception handlers configured: strawberry's chain
    is what applies them."""
    if schema.exception_handlers:
        return
    info_class = schema.config.info_class
    converters = ArgumentConverters(schema.config.name_converter, schema.schema_converter.scalar_registry)
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type is schema._schema.subscription_type:
            continue
        for graphql_field in graphql_type.fields.values():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(field, StrawberryField) and is_simple_resolver(field, converters):
                graphql_field.resolve = resolver_caller(field, info_class, converters)


PLAIN_SCALARS = (int, str, bool, float, strawberry.ID)


def is_simple_resolver(field: StrawberryField, converters: "ArgumentConverters") -> bool:
    resolver = field.base_resolver
    return (resolver is not None and not field.extensions and not field.is_subscription
            and resolver.root_parameter is None and resolver.parent_parameter is None
            and all(converters.of(argument.type) is not None for argument in field.arguments))


def _unchanged(value):
    return value


def _copied(value):
    # graphql-core gives every request that omits a list argument the same default list
    return list(value)


class ArgumentConverters:
    """How strawberry turns graphql-core's coerced value of a type into the resolver's, as one function
    per type made once (strawberry inspects the type on every call): scalars and enums as coerced,
    lists copied, input objects built from their fields with an unsent field's default. None for what
    only strawberry's chain converts: Maybe (set or unset), global ids, lazy types, inputs that build
    themselves (``from_input``). A converter is called with a value that is neither None nor UNSET
    (strawberry passes those on as they are)."""

    def __init__(self, name_converter, scalar_registry) -> None:
        self.name_converter = name_converter
        self.scalar_registry = scalar_registry
        self.made: dict[object, Callable | None] = {}

    def of(self, argument_type):
        key = argument_type if _hashable(argument_type) else id(argument_type)
        if key not in self.made:
            self.made[key] = None  # an input that contains itself is left to strawberry
            self.made[key] = self._make(argument_type)
        return self.made[key]

    def _make(self, argument_type):
        if isinstance(argument_type, StrawberryMaybe):
            return None
        if isinstance(argument_type, StrawberryOptional):
            return self.of(argument_type.of_type)
        if isinstance(argument_type, StrawberryList):
            return self._list(argument_type.of_type)
        if argument_type is GlobalID or isinstance(argument_type, LazyType):
            return None
        if argument_type in PLAIN_SCALARS or isinstance(argument_type, StrawberryEnumDefinition) \
                or has_enum_definition(argument_type) or is_scalar(argument_type, self.scalar_registry):
            return _unchanged
        definition = getattr(argument_type, "__strawberry_definition__", None)
        if definition is not None and definition.is_input and definition.from_input is None:
            return self._input(argument_type, definition)
        return None

    def _list(self, item_type):
        item = self.of(item_type)
        if item is None:
            return None
        if item is _unchanged:
            return _copied

        def convert_list(value):
            return [each if each is None or each is UNSET else item(each) for each in value]
        return convert_list

    def _input(self, input_class, definition):
        """Every field without a default starts as None (graphql-core has refused a missing required one),
        then each field sent is converted."""
        defaults = {field.python_name: None for field in definition.fields
                    if field.default_value is dataclasses.MISSING and field.default_factory is dataclasses.MISSING}
        fields = []
        for field in definition.fields:
            convert = self.of(field.resolve_type(type_definition=definition))
            if convert is None:
                return None
            fields.append((self.name_converter.from_field(field), field.python_name, convert))

        def convert_input(value):
            keywords = dict(defaults)
            for graphql_name, python_name, convert in fields:
                if graphql_name in value:
                    given = value[graphql_name]
                    keywords[python_name] = given if given is None or given is UNSET else convert(given)
            return input_class(**keywords)
        return convert_input


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def resolver_caller(field: StrawberryField, info_class, converters: ArgumentConverters):
    function = field.base_resolver.wrapped_func
    takes_self = field.base_resolver.self_parameter is not None
    info_parameter = field.base_resolver.info_parameter
    info_name = info_parameter.name if info_parameter is not None else None
    name_of = converters.name_converter.from_argument
    arguments = tuple((name_of(a), a.python_name, converters.of(a.type)) for a in field.arguments)

    def call(source, info, **given):
        positional = (source,) if takes_self else ()
        keywords = {}
        for name, python, convert in arguments:
            if name in given:
                value = given[name]
                keywords[python] = value if value is None or value is UNSET else convert(value)
        if info_name is not None:
            keywords[info_name] = info_class(_raw_info=info, _field=field)
        return function(*positional, **keywords)
    call.takes_info = info_name is not None  # query plans build resolve info only for those that take it
    return call


def attribute_reader(name: str, leaf: GraphQLLeafType | None):
    def read(source, _info):
        return getattr(source, name)
    read._is_default = True  # what strawberry's own plain-field resolvers say of themselves
    read.attribute = name
    read.leaf = leaf
    return read


class FastLeaves(StrawberryGraphQLCoreExecutionContext):
    """Most fields of a page are plain scalars of plain objects (an entry's id, delta, reason). For
    those graphql-core builds resolve info, checks for awaitables and walks the completion steps;
    here the attribute is read and coerced directly. A null, a missing attribute, an exception or
    a failed coercion goes the general way, so errors and null propagation are graphql-core's."""

    @property
    def async_helpers(self) -> GraphQLResolveInfoHelpers:
        # Made when asked, never kept: graphql-core keeps its executor's own bound methods on it, which
        # made every request's executor, context and request a reference cycle that only the cyclic
        # collector freed (7% of a refused flash-sale attempt's core, in 23 ms pauses).
        return GraphQLResolveInfoHelpers(gather=self.gather_async_work, track=self.track_async_work)

    @async_helpers.setter
    def async_helpers(self, _kept) -> None:
        pass

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        node = field_details_list[0].node
        field = parent_type.fields.get(node.name.value)
        leaf = getattr(field.resolve, "leaf", None) if field is not None else None
        if leaf is not None and not node.arguments and not self.middleware_manager_wraps():
            try:
                value = getattr(source, field.resolve.attribute)
                if value is not None and not isinstance(value, Exception) and not self.is_awaitable(value):
                    coerced = leaf.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # noqa: BLE001 - the general path below raises it again, located
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    @classmethod
    def build(cls, *args, **kwargs):
        """graphql-core answers a request whose variables do not coerce, or whose operationName names
        no operation, with errors and no code: these are the caller's, so they say so."""
        built = super().build(*args, **kwargs)
        if isinstance(built, list):
            for error in built:
                coded([error], "BAD_USER_INPUT" if error.message.startswith("Variable") else "BAD_REQUEST")
        return built

    def execute_operation(self, serially=None):
        """An operation with a plan runs it (api/execution/query_plans.py); anything the plan does not cover runs
        here. A subscription event meant for every subscriber alike is run once per document."""
        shared = getattr(self.root_value, "same_for_every_subscriber", None)
        if shared is not None and serially is False:
            return self._shared_event(shared)
        plan = None if self.middleware_manager_wraps() or self.abort_signal is not None else plan_for(self)
        if plan is None:
            return super().execute_operation(serially)
        if self.operation.operation is OperationType.MUTATION:
            return self._mutate(plan)
        try:
            data = run_fields(self, plan, self.root_value, None)
        except Exception:  # noqa: BLE001 - the general path runs the (read-only) query and reports it
            return super().execute_operation(serially)
        return self._awaited(data, serially) if self.is_awaitable(data) else ExecutionResult(data, None)

    async def _mutate(self, plan: list[FieldPlan]):
        """The root fields one after another, as graphql-core runs a mutation's. Each resolver runs once,
        whatever follows it: a payload the plan does not cover is completed by graphql-core from the
        value resolved, and errors are reported as graphql-core reports them."""
        data = {}
        try:
            for field in plan:
                data[field.key] = field.typename or await self._mutate_field(field)
        except GraphQLError as error:  # a non-null root field's error: the whole response is null
            self.collected_errors.add(error, None)
            return self.build_response(None)
        return self.build_response(data) if self.collected_errors.errors else ExecutionResult(data, None)

    async def _mutate_field(self, field: FieldPlan):
        path = Path(None, field.key, field.parent.name)
        try:
            value = resolve_planned(self, field, self.root_value, path)
            if self.is_awaitable(value):
                value = await value
        except Exception as raw_error:  # noqa: BLE001 - graphql-core's handling: located, maybe raised
            self.handle_field_error(raw_error, field.definition.type, field.details, path)
            return None
        try:
            done = field.complete(self, value, field, path)
            return await done if self.is_awaitable(done) else done
        except Exception:  # noqa: BLE001 - the general path completes the same value and reports it
            return await self._complete_generally(field, value, path)

    async def _complete_generally(self, field: FieldPlan, value, path: Path):
        info = self.build_resolve_info(field.definition, field.nodes, field.parent, path)
        try:
            completed = self.complete_value(field.definition.type, field.details, info, path, value, None)
            return await completed if self.is_awaitable(completed) else completed
        except Exception as raw_error:  # noqa: BLE001 - as above
            self.handle_field_error(raw_error, field.definition.type, field.details, path)
            return None

    def _shared_event(self, results: dict):
        """The event's result for this document and variables, run by the first subscriber to ask: it
        reads nothing of the caller, so two thousand feeds cost one execution, not two thousand."""
        try:  # the operation by identity: the prepared-document cache hands every request of a text the
            # same one, and hashing a node walks its whole tree
            key = (id(self.operation), tuple(sorted(self.variable_values.coerced.items())))
            hash(key)
        except TypeError:  # variables that are lists or objects: run it here, unshared
            return super().execute_operation(False)
        operation, result = results.get(key, (None, None))
        if operation is not self.operation:
            result = super().execute_operation(False)
            results[key] = (self.operation, result)
        return result

    async def _awaited(self, data, serially):
        try:
            data = await data
        except Exception:  # noqa: BLE001 - as above
            result = super().execute_operation(serially)
            return await result if self.is_awaitable(result) else result
        return ExecutionResult(data, None)

    def middleware_manager_wraps(self) -> bool:
        manager = self.middleware_manager
        return manager is not None and bool(manager.middlewares)
