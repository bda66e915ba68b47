"""Ledger entries and the points summary as GraphQL types."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.relay import Node, to_global_id
from domain import ledger

LedgerReason = strawberry.enum(ledger.LedgerReason, description="Why a member's points changed.")


@strawberry.type(description="One immutable change of a member's points. Corrections are new entries.")
class LedgerEntry(Node):
    _entry: strawberry.Private[ledger.LedgerEntry]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("LedgerEntry", self._entry.id)

    @strawberry.field
    def delta(self) -> int:
        return self._entry.delta

    @strawberry.field
    def balance_after(self) -> int:
        return self._entry.balance_after

    @strawberry.field
    def reason(self) -> LedgerReason:  # type: ignore[valid-type]
        return self._entry.reason

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self._entry.occurred_at

    @strawberry.field(description="When the points of this credit expire; null for debits and non-expiring points.")
    def expires_at(self) -> datetime | None:
        expires_at = self._entry.expires_at
        return None if expires_at is None or expires_at >= ledger.NEVER else expires_at

    @strawberry.field
    def memo(self) -> str | None:
        return self._entry.memo

    @strawberry.field(description="Who wrote the entry (staff name for adjustments). Staff only; null otherwise.")
    def created_by(self, info: Info) -> str | None:
        return self._entry.actor if info.context.caller.is_staff else None


def entry_type(entry: ledger.LedgerEntry | None) -> LedgerEntry | None:
    return None if entry is None else LedgerEntry(_entry=entry)


@strawberry.type(description="Points earned together that expire together (first earned, first expired).")
class PointsLot:
    points: int
    expires_at: datetime


@strawberry.type(description="A member's points. `available` = entries summed minus active holds.")
class Points:
    available: int
    pending: int = strawberry.field(description="From orders still inside their return window.")
    held: int
    lifetime_earned: int
    debt: int = strawberry.field(description="Points reversed after they were spent; later earnings repay it first.")
    _member_id: strawberry.Private[int]

    @strawberry.field(description="Open lots that expire, soonest first.")
    async def expiring_lots(self, info: Info) -> list[PointsLot]:
        lots = await info.context.services.points_queries.lots(self._member_id)
        return [PointsLot(points=points, expires_at=expires_at) for expires_at, points in lots]

    @strawberry.field(description="Points that expire within `days` days unless spent first.")
    async def expiring_soon(self, info: Info, days: int | None = 30) -> int:
        return await info.context.services.points_queries.expiring_soon(self._member_id, 30 if days is None else days)
