"""How documents run fast: each distinct document parsed and validated once, plain fields read
without strawberry's resolver chain, and plain scalar fields completed without graphql-core's
per-field bookkeeping. Every shortcut takes only the common, error-free case and hands anything
else to the general path, which also reports the errors.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator

import strawberry
from graphql import (DocumentNode, ExecutionResult, GraphQLError, GraphQLLeafType, GraphQLObjectType, GraphQLSchema,
                     Undefined, parse, validate)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from api.error_masking import coded
from api.query_plans import leaf_type, plan_for, run_fields


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
    """A resolver without field extensions whose arguments strawberry would pass on as graphql-core
    coerced them (built-in scalars and enums, optional or in lists: `ledger(first, after, reasons)`,
    a relay id, a member's tier) needs only its object, those arguments and, if it asks, the info.
    Strawberry's chain around it converts arguments, runs extensions and looks for exception handlers
    on every call; one closure per field calls it as strawberry would. Not with exception handlers
    configured: strawberry's chain is what applies them."""
    if schema.exception_handlers:
        return
    info_class = schema.config.info_class
    name_of = schema.config.name_converter.from_argument
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type is schema._schema.subscription_type:
            continue
        for graphql_field in graphql_type.fields.values():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(field, StrawberryField) and is_simple_resolver(field):
                graphql_field.resolve = resolver_caller(field, info_class, name_of)


PLAIN_SCALARS = (int, str, bool, float, strawberry.ID)


def is_simple_resolver(field: StrawberryField) -> bool:
    resolver = field.base_resolver
    return (resolver is not None and not field.extensions and not field.is_subscription
            and resolver.root_parameter is None and resolver.parent_parameter is None
            and all(passed_as_coerced(argument.type) for argument in field.arguments))


def passed_as_coerced(argument_type) -> bool:
    """Whether strawberry hands this argument to the resolver as graphql-core coerced it (a list is
    copied). Maybe (set-or-unset) arguments, input objects, custom scalars and lazy types are not."""
    if isinstance(argument_type, StrawberryMaybe):
        return False
    if isinstance(argument_type, StrawberryOptional):
        argument_type = argument_type.of_type
    if isinstance(argument_type, StrawberryList):
        argument_type = argument_type.of_type
        if isinstance(argument_type, StrawberryOptional) and not isinstance(argument_type, StrawberryMaybe):
            argument_type = argument_type.of_type
    return argument_type in PLAIN_SCALARS or isinstance(argument_type, StrawberryEnumDefinition)


def resolver_caller(field: StrawberryField, info_class, name_of):
    function = field.base_resolver.wrapped_func
    takes_self = field.base_resolver.self_parameter is not None
    info_parameter = field.base_resolver.info_parameter
    info_name = info_parameter.name if info_parameter is not None else None
    # (GraphQL name, Python name, copy?): graphql-core gives every request that omits a list argument
    # the same default list, so the resolver gets a copy, as strawberry gives it.
    arguments = tuple((name_of(a), a.python_name, is_list(a.type)) for a in field.arguments)

    def call(source, info, **given):
        positional = (source,) if takes_self else ()
        keywords = {python: (list(given[name]) if copy and given[name] is not None else given[name])
                    for name, python, copy in arguments if name in given} if given else {}
        if info_name is not None:
            keywords[info_name] = info_class(_raw_info=info, _field=field)
        return function(*positional, **keywords)
    call.takes_info = info_name is not None  # query plans build resolve info only for those that take it
    return call


def is_list(argument_type) -> bool:
    if isinstance(argument_type, StrawberryOptional):
        argument_type = argument_type.of_type
    return isinstance(argument_type, StrawberryList)


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
        """A query with a plan runs it (api/query_plans.py); anything the plan does not cover runs here.
        A subscription event meant for every subscriber alike is run once per document."""
        shared = getattr(self.root_value, "same_for_every_subscriber", None)
        if shared is not None and serially is False:
            return self._shared_event(shared)
        plan = None if self.middleware_manager_wraps() or self.abort_signal is not None else plan_for(self)
        if plan is None:
            return super().execute_operation(serially)
        try:
            data = run_fields(self, plan, self.root_value, None)
        except Exception:  # noqa: BLE001 - the general path runs the (read-only) query and reports it
            return super().execute_operation(serially)
        return self._awaited(data, serially) if self.is_awaitable(data) else ExecutionResult(data, None)

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
