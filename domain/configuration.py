"""Brand rules kept as versionless JSON documents, each owned by its business area."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from domain.errors import ErrorCode, Refusal

if TYPE_CHECKING:
    from domain.ports import UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a member, a staff user, a partner or the system itself."""

    kind: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"


SYSTEM = Actor("system", "jifen")


def record_key(name: str) -> str:
    """A rule field's name in its stored record and the audit log, as GraphQL names it: camelCase."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def record_of(rule: Any) -> dict:
    """A rule dataclass as its stored record: each field under its GraphQL name."""
    return {record_key(name): getattr(rule, name) for name in rule.__dataclass_fields__}


def fields_in(rule_class: type, record: dict) -> dict:
    """The fields of ``rule_class`` a stored record holds; a field added since takes its default."""
    return {name: record[record_key(name)] for name in rule_class.__dataclass_fields__
            if record_key(name) in record}


def check_presence(exists: bool, *, create: bool, what: str, code: str) -> None:
    """Creating needs a new code, updating an existing one: catalogue objects are keyed by code."""
    if create and exists:
        raise Refusal(ErrorCode.ALREADY_EXISTS, f"{what} {code} exists", ("code",))
    if not create and not exists:
        raise Refusal(ErrorCode.NOT_FOUND, f"no {what} {code}", ("code",))


async def load(uow: UnitOfWork, key: str, decode: Callable[[Any], T], default: T) -> T:
    record = await uow.settings.get(key)
    return default if record is None else decode(record)


async def store(uow: UnitOfWork, key: str, record: Any, actor: Actor, at: datetime) -> None:
    await uow.settings.put(key, record, actor.label, at)
    await uow.audit.record(actor.label, f"settings.{key}.update", key, {"value": record}, at)
