"""Reads of the ledger: entry pages, lots, holds, and what the sweep and the reconciliation need."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, select

from domain.ledger import GROWTH_REASONS, AccountSnapshot, Hold, HoldStatus, LedgerEntry, LedgerReason
from domain.orders import OrderStatus
from persistence.direct_statements import direct
from persistence.tables import growth_changes, holds, ledger_entries, members, point_lots, purchase_orders


# A dictionary lookup: calling the enum for each row of a page showed in request profiles.
REASONS = {reason.value: reason for reason in LedgerReason}


def entry_from_row(row) -> LedgerEntry:
    return LedgerEntry(row.member_id, row.delta, row.balance_after, REASONS[row.reason], row.occurred_at,
                       row.actor, row.expires_at, row.memo, row.ref, row.id)


def hold_from_row(row) -> Hold:
    return Hold(row.member_id, row.amount, REASONS[row.reason], row.created_at, row.expires_at, row.ref,
                HoldStatus(row.status), row.resolved_at, row.id)


FIRST_PAGE = direct(select(ledger_entries).where(ledger_entries.c.member_id == bindparam("member_id"))
                    .order_by(ledger_entries.c.id.desc()).limit(bindparam("limit", literal_execute=False)))


class SqlLedgerRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def entries_page(self, member_id: int, before_id: int | None, limit: int,
                           reasons: Sequence[LedgerReason] | None) -> list[LedgerEntry]:
        if before_id is None and not reasons:  # the first page, on every home screen
            rows = await self.connection.execute(FIRST_PAGE, {"member_id": member_id, "limit": limit})
            return [entry_from_row(row) for row in rows]
        query = select(ledger_entries).where(ledger_entries.c.member_id == member_id)
        if before_id is not None:
            query = query.where(ledger_entries.c.id < before_id)
        if reasons:
            query = query.where(ledger_entries.c.reason.in_([r.value for r in reasons]))
        rows = await self.connection.execute(query.order_by(ledger_entries.c.id.desc()).limit(limit))
        return [entry_from_row(row) for row in rows]

    async def entries_by_id(self, entry_ids: Sequence[int]) -> list[LedgerEntry]:
        if not entry_ids:
            return []
        rows = await self.connection.execute(
            select(ledger_entries).where(ledger_entries.c.id.in_(entry_ids)).order_by(ledger_entries.c.id))
        return [entry_from_row(row) for row in rows]

    async def open_lots(self, member_id: int) -> dict[datetime, int]:
        rows = await self.connection.execute(
            select(point_lots.c.expires_at, point_lots.c.remaining)
            .where(point_lots.c.member_id == member_id, point_lots.c.remaining > 0))
        return {row.expires_at: row.remaining for row in rows}

    async def hold(self, hold_id: int) -> Hold | None:
        row = (await self.connection.execute(select(holds).where(holds.c.id == hold_id))).first()
        return hold_from_row(row) if row else None

    async def active_holds_due(self, member_id: int, now: datetime) -> list[Hold]:
        rows = await self.connection.execute(select(holds).where(
            holds.c.member_id == member_id, holds.c.status == HoldStatus.ACTIVE.value, holds.c.expires_at <= now))
        return [hold_from_row(row) for row in rows]

    async def active_holds_count(self) -> int:
        return await self.connection.scalar(select(func.count()).select_from(holds).where(
            holds.c.status == HoldStatus.ACTIVE.value))

    async def hold_by_ref(self, member_id: int, ref: str) -> Hold | None:
        row = (await self.connection.execute(select(holds).where(holds.c.member_id == member_id, holds.c.ref == ref)
                                             .order_by(holds.c.id.desc()).limit(1))).first()
        return hold_from_row(row) if row else None

    async def member_ids(self, after_id: int, limit: int) -> list[int]:
        rows = await self.connection.execute(
            select(members.c.id).where(members.c.id > after_id).order_by(members.c.id).limit(limit))
        return [row.id for row in rows]

    async def audit_snapshot(self, member_id: int) -> AccountSnapshot:
        # FOR SHARE waits for a writer of this member to commit, so the reads below see one consistent state.
        member = (await self.connection.execute(select(
            members.c.balance, members.c.held, members.c.pending, members.c.debt, members.c.growth)
            .where(members.c.id == member_id).with_for_update(read=True))).one()
        entries = (await self.connection.execute(
            select(ledger_entries.c.delta, ledger_entries.c.balance_after, ledger_entries.c.reason)
            .where(ledger_entries.c.member_id == member_id).order_by(ledger_entries.c.id))).all()
        growth_changed = await self.connection.scalar(
            select(func.coalesce(func.sum(growth_changes.c.delta), 0)).where(growth_changes.c.member_id == member_id))
        growth_reasons = {reason.value for reason in GROWTH_REASONS}
        lots = await self.connection.scalar(
            select(func.coalesce(func.sum(point_lots.c.remaining), 0)).where(point_lots.c.member_id == member_id))
        active = await self.connection.scalar(
            select(func.coalesce(func.sum(holds.c.amount), 0))
            .where(holds.c.member_id == member_id, holds.c.status == HoldStatus.ACTIVE.value))
        orders = purchase_orders.c
        worth = (orders.base_points + orders.bonus_points) * (orders.amount_fen - orders.refunded_fen) // orders.amount_fen
        pending_orders = await self.connection.scalar(select(func.coalesce(func.sum(worth), 0)).where(
            orders.member_id == member_id, orders.status == OrderStatus.PENDING.value))
        return AccountSnapshot(member_id, member.balance, member.held, [e.delta for e in entries],
                               [e.balance_after for e in entries], int(lots), int(active), member.pending,
                               int(pending_orders), member.debt, member.growth,
                               sum(e.delta for e in entries if e.delta > 0 and e.reason in growth_reasons),
                               int(growth_changed))
