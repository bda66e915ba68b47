"""Queries that reach every object type of the live schema, for tests that look at what a caller can see.

From each root query field, every path through object fields (no type twice on one path, at most
``MAX_STEPS`` deep) becomes one probe that selects the scalars of every object along the way.
Arguments are filled in: `first` small, enums with their first value, dates with a fixed day, ids from
what the test knows (by argument name, or every id for `node`). A root field whose required
arguments cannot be filled is left out, and `skipped` says which.

A field the caller may not read fails, and its error nulls its parent and hides its siblings; so a
probe is sent again without the fields that failed until it answers cleanly (`explore`), and what it
finally shows is everything the caller can reach along that path.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from graphql import (GraphQLEnumType, GraphQLField, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLList,
                     GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLUnionType, get_named_type,
                     is_leaf_type, is_required_argument)

MAX_STEPS = 5
PAGE = 3
MAX_ROUNDS = 12
SCALARS = {"Int": 1, "Float": 1.0, "Boolean": True, "String": "x", "Date": "2026-03-12",
           "DateTime": "2026-03-12T02:00:00+00:00", "Long": 1}


@dataclass(frozen=True)
class Probe:
    """One root field with arguments, and a path below it; rendered without the excluded field paths."""

    schema: GraphQLSchema
    root: str
    arguments: str
    path: tuple  # ((type name, field name), ...)
    only: str | None = None  # for `node`: the one type the id can be

    def render(self, excluded: frozenset = frozenset()) -> str:
        root_type = self.schema.query_type.fields[self.root].type
        below = self._below(root_type, self.path, (self.root,), excluded)
        return f"query {{ {self.root}{self.arguments} {{ {below} }} }}"

    def _below(self, field_type, path: tuple, at: tuple, excluded: frozenset) -> str:
        named = get_named_type(field_type)
        parts = ["__typename"]
        if isinstance(named, GraphQLObjectType):
            parts.append(leaves(named, at, excluded))
        elif self.only and not path:
            parts.append(f"... on {self.only} {{ {leaves(self.schema.get_type(self.only), at, excluded)} }}")
        if path and at + (path[0][1],) not in excluded:
            (owner, step), rest = path[0], path[1:]
            owner_type = self.schema.get_type(owner)
            child = owner_type.fields[step]
            inner = f"{step}{nested_arguments(child)} {{ {self._below(child.type, rest, at + (step,), excluded)} }}"
            if owner_type is not named:
                inner = f"... on {owner} {{ {leaves(owner_type, at, excluded)} {inner} }}"
            parts.append(inner)
        return " ".join(p for p in parts if p)


def explore(post: Callable[[str], dict], probe: Probe) -> tuple[list[tuple[str, dict]], list[str]]:
    """Send a probe, again and again without the fields that failed, until it answers without errors.

    Returns every (document, answer) sent, and the errors that were not a refusal (no code, or an
    internal error, or a throttle): those are defects whatever the caller."""
    excluded: set[tuple] = set()
    exchanges, defects = [], []
    for _ in range(MAX_ROUNDS):
        document = probe.render(frozenset(excluded))
        body = post(document)
        exchanges.append((document, body))
        errors = body.get("errors") or []
        for error in errors:
            code = (error.get("extensions") or {}).get("code")
            if code in (None, "INTERNAL_SERVER_ERROR", "THROTTLED"):
                defects.append(f"{error}: {document}")
        refused = {tuple(p for p in error.get("path") or () if isinstance(p, str)) for error in errors}
        if not errors or not refused - excluded or () in refused or any(len(p) <= 1 for p in refused):
            break  # clean, or nothing more to take away, or the root itself refused
        excluded |= refused
    return exchanges, defects


@dataclass
class Probes:
    schema: GraphQLSchema
    ids: dict[str, list[str]]  # argument name ("drawId", "id", ...) -> ids to try
    node_ids: list[str] = field(default_factory=list)  # every global id `node(id:)` should be asked for
    skipped: set[str] = field(default_factory=set)

    def __iter__(self) -> Iterator[Probe]:
        for name, root in self.schema.query_type.fields.items():
            if name == "node":
                yield from self._node_probes()
                continue
            argument_sets = self._root_arguments(root)
            if argument_sets is None:
                self.skipped.add(name)
                continue
            for arguments in argument_sets:
                for path in paths(self.schema, root.type, MAX_STEPS):
                    yield Probe(self.schema, name, arguments, path)

    def _node_probes(self) -> Iterator[Probe]:
        node = self.schema.get_type("Node")
        for global_id in self.node_ids:
            type_name = base64.b64decode(global_id).decode().partition(":")[0]
            arguments = f"(id: {json.dumps(global_id)})"
            for path in paths(self.schema, node, MAX_STEPS):
                if not path or path[0][0] == type_name:  # a fragment on another type selects nothing for this id
                    yield Probe(self.schema, "node", arguments, path, only=type_name)

    def _root_arguments(self, root: GraphQLField) -> list[str] | None:
        """The argument lists to call a root field with (one per known id for an id argument)."""
        written: list[str] = []
        id_argument = None
        for name, argument in root.args.items():
            if not is_required_argument(argument) and name != "first":
                continue
            if get_named_type(argument.type).name == "ID":
                id_argument = name
                continue
            value = literal(name, argument.type)
            if value is None:
                return None
            written.append(f"{name}: {value}")
        if id_argument is None:
            return [f"({', '.join(written)})" if written else ""]
        candidates = self.ids.get(id_argument, [])
        return [f"({', '.join([*written, f'{id_argument}: {json.dumps(i)}'])})" for i in candidates] or None


def paths(schema: GraphQLSchema, field_type, steps: int, seen: frozenset = frozenset()) -> list[tuple]:
    """Every way down from a type through object-typed fields: tuples of (type name, field name)."""
    found: list[tuple] = [()]
    if steps == 0:
        return found
    for owner in implementations(schema, get_named_type(field_type)):
        if owner.name in seen:
            continue
        for name, child in owner.fields.items():
            if is_leaf_type(get_named_type(child.type)) or nested_arguments(child) is None:
                continue
            found.extend(((owner.name, name), *rest)
                         for rest in paths(schema, child.type, steps - 1, seen | {owner.name}))
    return found


def implementations(schema: GraphQLSchema, named) -> list[GraphQLObjectType]:
    if isinstance(named, GraphQLUnionType):
        return list(named.types)
    if isinstance(named, GraphQLInterfaceType):
        return list(schema.get_implementations(named).objects)
    return [named] if isinstance(named, GraphQLObjectType) else []


def leaves(object_type: GraphQLObjectType, at: tuple = (), excluded: frozenset = frozenset()) -> str:
    """Every scalar and enum field whose arguments can be filled, but those excluded at this path."""
    chosen = []
    for name, child in object_type.fields.items():
        if is_leaf_type(get_named_type(child.type)) and at + (name,) not in excluded:
            arguments = nested_arguments(child)
            if arguments is not None:
                chosen.append(name + arguments)
    return " ".join(chosen)


def nested_arguments(child: GraphQLField) -> str | None:
    """Required arguments (and `first`) of a field below the root; None if one cannot be filled."""
    written = []
    for name, argument in child.args.items():
        if not is_required_argument(argument) and name != "first":
            continue
        value = literal(name, argument.type)
        if value is None:
            return None
        written.append(f"{name}: {value}")
    return f"({', '.join(written)})" if written else ""


def literal(name: str, argument_type) -> str | None:
    """A valid literal for an argument that is not an id, or None."""
    if name == "first":
        return str(PAGE)
    inner = argument_type.of_type if isinstance(argument_type, GraphQLNonNull) else argument_type
    if isinstance(inner, GraphQLList):
        item = literal(name, inner.of_type)
        return None if item is None else f"[{item}]"
    named = get_named_type(argument_type)
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    if isinstance(named, GraphQLInputObjectType) or named.name not in SCALARS:
        return None
    return json.dumps(SCALARS[named.name])
