"""Ledger entries and the points summary as GraphQL types."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.relay import Node, to_global_id
from api.graphql.scalars import Long
from domain import ledger

LedgerReason = strawberry.enum(ledger.LedgerReason, description="Why a member's points changed.")


@strawberry.type(description="One immutable change of a member's points. Corrections are new entries.")
class LedgerEntry(Node):
    # Plain fields, filled in once: pages of entries are on every home screen, and a field that
    # is a method costs the executor several times what an attribute does.
    _entry: strawberry.Private[ledger.LedgerEntry]
    id: strawberry.ID
    delta: Long
    balance_after: Long
    # The reason's name, not the enum member: strawberry serialises a member by scanning every value.
    reason: LedgerReason  # type: ignore[valid-type]
    occurred_at: datetime
    expires_at: datetime | None = strawberry.field(
        description="When the points of this credit expire; null for debits and non-expiring points.")
    memo: str | None

    @strawberry.field(description="Who wrote the entry (staff name for adjustments). Staff only; null otherwise.")
    def created_by(self, info: Info) -> str | None:
        return self._entry.actor if info.context.caller.is_staff else None


def entry_type(entry: ledger.LedgerEntry | None) -> LedgerEntry | None:
    if entry is None:
        return None
    expires_at = entry.expires_at
    return LedgerEntry(_entry=entry, id=to_global_id("LedgerEntry", entry.id), delta=entry.delta,
                       balance_after=entry.balance_after, reason=entry.reason.value, occurred_at=entry.occurred_at,
                       expires_at=None if expires_at is None or expires_at >= ledger.NEVER else expires_at,
                       memo=entry.memo)


@strawberry.type(description="Points earned together that expire together (first earned, first expired).")
class PointsLot:
    points: Long
    expires_at: datetime


@strawberry.type(description="A member's points. `available` = entries summed minus active holds.")
class Points:
    available: Long
    pending: Long = strawberry.field(description="From orders still inside their return window.")
    held: Long
    lifetime_earned: Long
    debt: Long = strawberry.field(description="Points reversed after they were spent; later earnings repay it first.")
    _member_id: strawberry.Private[int]

    @strawberry.field(description="Open lots that expire, soonest first.")
    async def expiring_lots(self, info: Info) -> list[PointsLot]:
        lots = await info.context.services.points_queries.lots(self._member_id)
        return [PointsLot(points=points, expires_at=expires_at) for expires_at, points in lots]

    @strawberry.field(description="Points that expire within `days` days unless spent first.")
    async def expiring_soon(self, info: Info, days: int | None = 30) -> Long:
        return await info.context.services.points_queries.expiring_soon(self._member_id, 30 if days is None else days)
