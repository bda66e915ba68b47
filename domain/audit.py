"""The audit log: who changed which rule, catalogue object, key or balance, when, and how.

Every staff (and command-line) change writes one record in the same transaction as the change
itself, so the log holds exactly what committed. Staff read it newest first, filtered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.errors import InvalidInput

if TYPE_CHECKING:
    from domain.ports import Transactions

FILTER_PATTERN = re.compile(r"^[A-Za-z0-9_.:@{}-]{1,160}\Z")


@dataclass(frozen=True)
class AuditRecord:
    id: int
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # "staff:alice", "partner:skyway", "system:jifen"
    action: str | None = None  # an action ("partner.update") or a prefix of one ending in a dot ("partner.")
    target: str | None = None

    def __post_init__(self) -> None:
        for name in ("actor", "action", "target"):
            value = getattr(self, name)
            if value is not None and not FILTER_PATTERN.match(value):
                raise InvalidInput(f"{name} must be 1-160 letters, digits or _.:@-", (name,))


class AuditService:
    def __init__(self, transactions: "Transactions") -> None:
        self.transactions = transactions

    async def page(self, where: AuditFilter, before_id: int | None, limit: int) -> list[AuditRecord]:
        return await self.transactions.read(lambda uow: uow.audit.page(where, before_id, limit))
