"""Bulk writes of an import (domain/imports.py): new members, their first lots and growth, in a few
statements per batch, and the checkpoint of each file."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select

from domain.imports import NewMember
from domain.ledger import NEVER, GrowthChange, LedgerEntry, LedgerReason
from persistence.members import upsert
from persistence.tables import (growth_changes, import_checkpoints, ledger_entries, members, point_lots,
                               purchase_orders)

E, M = ledger_entries.c, members.c


class SqlImportRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        # What the day summaries add at commit, as for the entries members' accounts save.
        self.saved_entries: list[tuple[int, list[LedgerEntry], datetime | None]] = []

    async def checkpoint(self, kind: str, source: str) -> int:
        c = import_checkpoints.c
        found = await self.connection.scalar(select(c.last_line).where(c.kind == kind, c.source == source))
        return int(found or 0)

    async def save_checkpoint(self, kind: str, source: str, last_line: int, now: datetime) -> None:
        statement = upsert(self.connection.dialect.name)(import_checkpoints).values(
            kind=kind, source=source, last_line=last_line, updated_at=now)
        await self.connection.execute(statement.on_conflict_do_update(
            index_elements=["kind", "source"], set_={"last_line": last_line, "updated_at": now}))

    async def existing_members(self, external_ids: Sequence[str]) -> set[str]:
        if not external_ids:
            return set()
        rows = await self.connection.execute(select(M.external_id).where(M.external_id.in_(list(external_ids))))
        return {external_id for external_id, in rows}

    async def existing_orders(self, order_ids: Sequence[str]) -> set[str]:
        if not order_ids:
            return set()
        o = purchase_orders.c
        return {order_id for order_id, in await self.connection.execute(
            select(o.order_id).where(o.order_id.in_(list(order_ids))))}

    async def member_ids(self, external_ids: Sequence[str]) -> dict[str, int]:
        if not external_ids:
            return {}
        rows = await self.connection.execute(select(M.external_id, M.id).where(M.external_id.in_(list(external_ids))))
        return {external_id: member_id for external_id, member_id in rows}

    async def add_members(self, new: Sequence[NewMember], now: datetime) -> dict[str, int]:
        if not new:
            return {}
        await self.connection.execute(insert(members), [{
            "external_id": m.external_id, "nickname": m.nickname, "created_at": m.joined_at, "tier_level": m.tier_level,
            "growth": m.growth, "balance": m.opening.points if m.opening else 0,
            "lifetime_earned": m.opening.points if m.opening else 0, "held": 0, "pending": 0, "debt": 0,
            "period_growth": 0, "keep_until": m.keep_until, "next_due_at": m.next_due_at} for m in new])
        return await self.member_ids([m.external_id for m in new])

    async def add_growth(self, changes: Sequence[GrowthChange]) -> None:
        if changes:
            await self.connection.execute(insert(growth_changes), [{
                "member_id": c.member_id, "delta": c.delta, "growth_after": c.growth_after, "reason": c.reason.value,
                "occurred_at": c.occurred_at, "actor": c.actor, "memo": c.memo, "ref": c.ref} for c in changes])

    async def add_first_lots(self, entries: Sequence[LedgerEntry]) -> None:
        """New members' first entries and lots (their balances were written with them)."""
        if not entries:
            return
        await self.connection.execute(insert(ledger_entries), [{
            "member_id": e.member_id, "delta": e.delta, "balance_after": e.balance_after, "reason": e.reason.value,
            "occurred_at": e.occurred_at, "expires_at": e.expires_at, "memo": e.memo, "actor": e.actor, "ref": e.ref}
            for e in entries])
        await self.connection.execute(insert(point_lots), [
            {"member_id": e.member_id, "expires_at": e.expires_at or NEVER, "remaining": e.delta} for e in entries])
        self.saved_entries.extend((e.member_id, [e], None) for e in entries)

    async def opened(self, keys: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
        """Of these (member, ref) pairs, the opening lots already in the ledger."""
        if not keys:
            return set()
        rows = await self.connection.execute(select(E.member_id, E.ref).where(
            E.member_id.in_(sorted({member_id for member_id, _ in keys})), E.reason == LedgerReason.OPENING.value))
        return set(keys) & {(member_id, ref) for member_id, ref in rows}
