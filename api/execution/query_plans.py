"""Operation plans: a validated query or mutation turned once into a tree of small functions, run for
every request.

graphql-core works out, for every field of every response, which selections apply, what the field's
type is, how to complete it and where errors go: on a home page of fifty fields that bookkeeping
costs more than the database reads behind it. A plan does that work once per distinct operation
(documents come from the prepared-document cache, so one operation object serves every request)
and a run only reads attributes, calls the resolvers there are, coerces scalars and gathers what
resolvers await, concurrently, so DataLoaders still batch each hop.

A plan covers the common case only, and hands anything else to graphql-core untouched: subscriptions,
directives (skip, include, defer, stream), introspection, interfaces and unions, and at run time any
error, null in a non-null field or value of an unexpected shape. A query is read-only, so running it
again on graphql-core's general path is safe; that path then reports the errors with their
locations, paths and null propagation, exactly as without plans. A mutation never runs twice: its
root fields run one after another (api/execution/execution.py), and a payload the plan gives up on is
completed by graphql-core from the value its resolver returned.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import CoroutineType, GeneratorType
from dataclasses import dataclass, field
from typing import Any

from graphql import (GraphQLBoolean, GraphQLID, GraphQLInt, GraphQLLeafType, GraphQLList, GraphQLNonNull,
                     GraphQLObjectType, GraphQLString, OperationType, Undefined,
                     get_argument_values)
from graphql.execution.collect_fields import collect_fields, collect_subfields
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from graphql.pyutils import Path

from api.execution.document_memos import MISSING, DocumentMemo

MAX_PLANS = 1024


class Fallback(Exception):
    """Raised inside a run: the operation goes to graphql-core instead."""


class NotPlannable(Exception):
    """Raised while planning: this operation always goes to graphql-core."""


# How a resolved value becomes response data: (executor, value, field plan, the value's own path) -> data
# or an awaitable of it. A list item's path ends in its index.
Completer = Callable[[Any, Any, "FieldPlan", Path | None], Any]


@dataclass(slots=True)
class FieldPlan:
    key: str
    parent: GraphQLObjectType
    definition: Any  # GraphQLField
    details: list  # graphql-core's FieldDetails, for argument values
    nodes: list[FieldNode]
    attribute: str | None  # a plain field: read this attribute, call nothing
    typename: str | None  # __typename: a constant
    complete: Completer = field(repr=False, default=None)
    needs_path: bool = True  # False for a scalar read or resolved without info: no path to build
    leaf: bool = False  # a scalar or an enum: its completed value is never awaited


def plan_for(executor) -> list[FieldPlan] | None:
    """The plan of the executor's operation, made on first sight; None: graphql-core runs it."""
    operation, schema_key = executor.operation, id(executor.schema)
    plan = _plans.get(operation, schema_key)
    if plan is MISSING:
        try:
            plan = _plan_operation(executor)
        except NotPlannable:
            plan = None
        _plans.put(operation, schema_key, plan)
    return plan


_plans = DocumentMemo(MAX_PLANS)
PLANNED = frozenset({OperationType.QUERY, OperationType.MUTATION})  # the prepared-document cache holds 512 documents


def _plan_operation(executor) -> list[FieldPlan]:
    operation = executor.operation
    if operation.operation not in PLANNED:
        raise NotPlannable
    if _has_directives(operation.selection_set, executor.fragment_definitions, set()):
        raise NotPlannable
    root = executor.schema.get_root_type(operation.operation)
    grouped, _, _ = collect_fields(executor.schema, executor.fragments, executor.variable_values, root, operation)
    return _plan_fields(executor, root, grouped)


def _has_directives(selection_set: SelectionSetNode | None, fragments: dict, seen: set[str]) -> bool:
    if selection_set is None:
        return False
    for selection in selection_set.selections:
        if selection.directives:
            return True
        if isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen:
                seen.add(name)
                fragment = fragments.get(name)
                if fragment is None or fragment.directives or \
                        _has_directives(fragment.selection_set, fragments, seen):
                    return True
        elif isinstance(selection, (FieldNode, InlineFragmentNode)) and \
                _has_directives(selection.selection_set, fragments, seen):
            return True
    return False


def _plan_fields(executor, parent: GraphQLObjectType, grouped) -> list[FieldPlan]:
    plans = []
    for key, details in grouped.items():
        nodes = [detail.node for detail in details]
        name = nodes[0].name.value
        if name == "__typename":
            plans.append(FieldPlan(key, parent, None, details, nodes, None, parent.name))
            continue
        definition = parent.fields.get(name)
        if definition is None:  # introspection (__schema, __type)
            raise NotPlannable
        resolve = definition.resolve
        attribute = getattr(resolve, "attribute", None) if not definition.args else None
        plan = FieldPlan(key, parent, definition, details, nodes, attribute, None)
        plan.complete = _completer(executor, definition.type, details)
        is_leaf = leaf_type(definition.type) is not None
        plan.needs_path = not is_leaf or (attribute is None and getattr(resolve, "takes_info", True))
        plan.leaf = is_leaf
        plans.append(plan)
    return plans


def leaf_type(output_type) -> GraphQLLeafType | None:
    named = output_type.of_type if isinstance(output_type, GraphQLNonNull) else output_type
    return named if isinstance(named, GraphQLLeafType) else None


def _completer(executor, output_type, details) -> Completer:
    """One function per field: the null check and, for a scalar, the coercion, with no call between."""
    nullable = not isinstance(output_type, GraphQLNonNull)
    named = output_type if nullable else output_type.of_type
    if isinstance(named, GraphQLLeafType):
        return _leaf_completer(named, nullable)
    if isinstance(named, GraphQLList):
        inner = _list_completer(_completer(executor, named.of_type, details))
    elif isinstance(named, GraphQLObjectType):
        grouped, _, _ = collect_subfields(executor.schema, executor.fragments, executor.variable_values,
                                          executor.operation, named, details)
        inner = _object_completer(named, _plan_fields(executor, named, grouped))
    else:
        raise NotPlannable  # an interface or a union: graphql-core resolves the runtime type

    def complete(run, value, plan, path):
        if value is None or value is Undefined:
            if nullable:
                return None
            raise Fallback
        if isinstance(value, Exception):  # a resolver may return its error: graphql-core reports it
            raise Fallback
        return inner(run, value, plan, path)
    return complete


# Values these built-in scalars hand back unchanged (graphql-core's serialize returns them as they
# are); anything else goes through the scalar's own coercion.
_UNCHANGED = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}
_INT_RANGE = range(-2 ** 31, 2 ** 31)
_PLAIN = frozenset({str, int, bool, float})


def _leaf_completer(leaf: GraphQLLeafType, nullable: bool) -> Completer:
    coerce = leaf.coerce_output_value
    unchanged = _UNCHANGED.get(leaf)
    is_int = leaf is GraphQLInt

    def complete_leaf(run, value, plan, path):
        kind = type(value)
        if kind is unchanged or (is_int and kind is int and value in _INT_RANGE):
            return value
        if value is None or value is Undefined:
            if nullable:
                return None
            raise Fallback
        if kind not in _PLAIN and isinstance(value, Exception):
            raise Fallback
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Fallback
        return coerced
    return complete_leaf


def _list_completer(item: Completer) -> Completer:
    def complete_list(run, value, plan, path):
        if not isinstance(value, (list, tuple)):
            raise Fallback  # another iterable, an async one: graphql-core knows them all
        completed = []
        waiting = []
        try:
            for index, element in enumerate(value):
                if _awaitable(run, element):
                    raise Fallback
                done = item(run, element, plan, path.add_key(index, None))
                if _awaitable(run, done):
                    waiting.append((index, done))
                completed.append(done)
        except BaseException:
            _abandon(waiting)
            raise
        return _Gathered(completed, waiting) if waiting else completed
    return complete_list


def _object_completer(object_type: GraphQLObjectType, fields: list[FieldPlan]) -> Completer:
    is_type_of = object_type.is_type_of
    wants_info = is_type_of is not None and not _is_strawberrys_own(is_type_of)

    def complete_object(run, value, plan, path):
        if is_type_of is not None:
            info = None
            if wants_info:
                field_path = path
                while type(field_path.key) is int:  # an item's check gets its list field's info, as graphql-core
                    field_path = field_path.prev
                info = run.build_resolve_info(plan.definition, plan.nodes, plan.parent, field_path)
            verdict = is_type_of(value, info)
            if verdict is not True:  # False, or an awaitable verdict: graphql-core's business
                raise Fallback
        return run_fields(run, fields, value, path)
    return complete_object


def _is_strawberrys_own(is_type_of) -> bool:
    """Strawberry's check for a type with interfaces (an isinstance) ignores the info, which costs
    a dozen fields to build for every object; a type's own ``is_type_of`` gets one."""
    return (getattr(is_type_of, "__module__", None) == "strawberry.schema.schema_converter"
            and getattr(is_type_of, "__qualname__", "").endswith("._get_is_type_of.<locals>.is_type_of"))


def _awaitable(run, value) -> bool:
    """graphql-core's question, with the answer for a class remembered: most values are plain data or
    instances of a few classes, and none of those classes can be awaited."""
    kind = type(value)
    if kind in _NEVER_AWAITABLE:
        return False
    if run.is_awaitable(value):
        return True
    if not hasattr(kind, "__await__") and not issubclass(kind, (GeneratorType, CoroutineType)):
        _NEVER_AWAITABLE.add(kind)
    return False


_NEVER_AWAITABLE: set[type] = {str, int, bool, float, dict, list, tuple, type(None)}


def run_fields(run, fields: list[FieldPlan], source: Any, path: Path | None) -> Any:
    """The response object for ``source``: a dict, or an awaitable of it while resolvers wait."""
    data = {}
    waiting = []
    try:
        for plan in fields:
            if plan.typename is not None:
                data[plan.key] = plan.typename
                continue
            here = None
            if plan.needs_path:
                here = path.add_key(plan.key, plan.parent.name) if path is not None else \
                    Path(None, plan.key, plan.parent.name)
            if plan.attribute is not None:
                value = getattr(source, plan.attribute)
            else:
                value = resolve_planned(run, plan, source, here)
            if _awaitable(run, value):
                waiting.append((plan.key, _Later(run, plan, value, here)))
                data[plan.key] = None
                continue
            done = plan.complete(run, value, plan, here)
            if not plan.leaf and _awaitable(run, done):
                waiting.append((plan.key, done))
            data[plan.key] = done
    except BaseException:
        _abandon(waiting)
        raise
    return _Gathered(data, waiting) if waiting else data


def resolve_planned(run, plan: FieldPlan, source: Any, path: Path | None) -> Any:
    resolve = plan.definition.resolve or run.field_resolver
    # A resolver called directly that takes no info (api/execution/execution.py) is spared building one.
    info = run.build_resolve_info(plan.definition, plan.nodes, plan.parent, path) \
        if getattr(resolve, "takes_info", True) else None
    definition = plan.definition
    first = plan.details[0]
    arguments = get_argument_values(definition, first.node, run.variable_values, first.fragment_variable_values) \
        if definition.args or first.node.arguments else {}
    return resolve(source, info, **arguments)


class _Later:
    """A resolver's awaitable, completed once it settles."""

    __slots__ = ("run", "plan", "awaitable", "path")

    def __init__(self, run, plan: FieldPlan, awaitable, path: Path | None) -> None:
        self.run, self.plan, self.awaitable, self.path = run, plan, awaitable, path

    def __await__(self):
        return self._settle().__await__()

    async def _settle(self):
        done = self.plan.complete(self.run, await self.awaitable, self.plan, self.path)
        return await done if self.run.is_awaitable(done) else done

    def close(self) -> None:
        _abandon([(None, self.awaitable)])


class _Gathered:
    """A response object or list whose slots fill in as their awaitables settle, concurrently."""

    __slots__ = ("container", "waiting")

    def __init__(self, container, waiting: list[tuple[Any, Any]]) -> None:
        self.container, self.waiting = container, waiting

    def __await__(self):
        return self._fill().__await__()

    async def _fill(self):
        container, waiting = self.container, self.waiting
        if len(waiting) == 1:  # nothing to batch with: no task to schedule
            slot, awaitable = waiting[0]
            container[slot] = await awaitable
            return container
        results = await asyncio.gather(*(awaitable for _, awaitable in waiting), return_exceptions=True)
        for (slot, _), result in zip(waiting, results):
            if isinstance(result, BaseException):
                raise Fallback from result
            container[slot] = result
        return container

    def close(self) -> None:
        _abandon(self.waiting)


def _abandon(waiting: list[tuple[Any, Any]]) -> None:
    """A run given up before these were awaited: close the coroutines (and what they hold), as
    graphql-core's general path will resolve the fields again; an unawaited coroutine warns."""
    for _, awaitable in waiting:
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
