"""Relay conventions: global IDs, the Node interface, cursor connections with a capped ``first``."""
from __future__ import annotations

import base64
import binascii
import re
from typing import Generic, TypeVar

import strawberry

from api.graphql.errors import BadUserInput

MAX_PAGE_SIZE = 100
# Every key behind a global id (member ids, order ids, numbers) fits this; anything else is malformed.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}\Z")
T = TypeVar("T")


def to_global_id(type_name: str, key: str | int) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{type_name}:{key}".encode()).decode())


def from_global_id(global_id: str, expected: str | None = None) -> tuple[str, str]:
    try:
        type_name, _, key = base64.b64decode(global_id, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput(f"malformed id: {global_id[:64]!r}") from None
    if not type_name or not KEY_PATTERN.match(key) or (expected and type_name != expected):
        raise BadUserInput(f"not a {expected or 'global'} id: {global_id[:64]!r}")
    return type_name, key


def int_key(global_id: str, expected: str) -> int:
    _, key = from_global_id(global_id, expected)
    if not key.isdigit() or len(key) > 18:
        raise BadUserInput(f"not a {expected} id: {global_id[:64]!r}")
    return int(key)


def check_first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"first must be between 1 and {MAX_PAGE_SIZE}")
    return first


def encode_cursor(position: int) -> str:
    return base64.b64encode(f"cursor:{position}".encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        prefix, _, value = base64.b64decode(cursor, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput("malformed cursor") from None
    if prefix != "cursor" or not value.isdigit() or len(value) > 18:
        raise BadUserInput("malformed cursor")
    return int(value)


@strawberry.interface(description="An object with a global ID, refetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    _position: strawberry.Private[int]

    @strawberry.field
    def cursor(self) -> str:  # encoded when asked for: most pages never ask an edge for its cursor
        return encode_cursor(self._position)


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def connection(nodes: list[T], positions: list[int], first: int, has_previous: bool) -> Connection[T]:
    """Build a page from up to ``first + 1`` rows' positions: the extra row only says there is a next
    page, so its node may be left out (converting it would be wasted)."""
    page, page_positions = nodes[:first], positions[:first]
    edges = [Edge(node=n, _position=p) for n, p in zip(page, page_positions)]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=len(positions) > first, has_previous_page=has_previous,
        start_cursor=encode_cursor(page_positions[0]) if edges else None,
        end_cursor=encode_cursor(page_positions[-1]) if edges else None))
