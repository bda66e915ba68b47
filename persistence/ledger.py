"""Reads of the ledger: entry pages, lots, holds, and what the sweep and the reconciliation need."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, case, func, select

from domain.ledger import GROWTH_REASONS, AccountSnapshot, Hold, HoldStatus, LedgerEntry, LedgerReason, MemberTotals
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


ORDERS = purchase_orders.c
# What a pending order is worth once its refunds are taken off (as PurchaseOrder.worth computes it).
PENDING_WORTH = ((ORDERS.base_points + ORDERS.bonus_points) * (ORDERS.amount_fen - ORDERS.refunded_fen)
                 // ORDERS.amount_fen)
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

    async def members_with_entries_after(self, entry_id: int, after_id: int, limit: int) -> list[int]:
        rows = await self.connection.execute(
            select(ledger_entries.c.member_id).where(ledger_entries.c.id > entry_id,
                                                     ledger_entries.c.member_id > after_id)
            .group_by(ledger_entries.c.member_id).order_by(ledger_entries.c.member_id).limit(limit))
        return [row.member_id for row in rows]

    async def member_count(self) -> int:
        return int(await self.connection.scalar(select(func.count()).select_from(members)))

    async def last_entry_id(self) -> int:
        return int(await self.connection.scalar(select(func.coalesce(func.max(ledger_entries.c.id), 0))))

    async def audit_totals(self, member_ids: Sequence[int], *, whole_range: bool = False) -> list[MemberTotals]:
        """The sums each check compares, for many members in a handful of grouped queries (run in one
        read transaction: one snapshot on SQLite; PostgreSQL's flagged members are checked again locked).
        ``whole_range``: the ids are every member from the first to the last, so the queries take that
        range instead of an IN list (one parameter per member costs more to compile than to run)."""
        wanted = list(member_ids)

        def among(column):
            return column.between(wanted[0], wanted[-1]) if whole_range else column.in_(wanted)

        totals = {row.id: dict(balance=row.balance, held=row.held, pending=row.pending, debt=row.debt,
                               growth=row.growth)
                  for row in await self.connection.execute(select(
                      members.c.id, members.c.balance, members.c.held, members.c.pending, members.c.debt,
                      members.c.growth).where(among(members.c.id)))}
        # A member who joined since the members were read (PostgreSQL reads each statement afresh) is
        # left for the next run: only the members read first are checked.
        for member_id, values in (await self._entry_sums(among)).items():
            totals.get(member_id, {}).update(values)
        for member_id, broken in (await self._first_breaks(among)).items():
            totals.get(member_id, {})["first_broken_entry"] = broken
        sums = ((point_lots.c.member_id, point_lots.c.remaining, "lots_remaining", None),
                (holds.c.member_id, holds.c.amount, "active_holds", holds.c.status == HoldStatus.ACTIVE.value),
                (growth_changes.c.member_id, growth_changes.c.delta, "growth_changed", None))
        for member_col, value, name, condition in sums:
            query = select(member_col, func.sum(value)).where(among(member_col)).group_by(member_col)
            query = query if condition is None else query.where(condition)
            for member_id, total in await self.connection.execute(query):
                totals.get(member_id, {})[name] = int(total)
        for member_id, total in await self.connection.execute(
                select(ORDERS.member_id, func.sum(PENDING_WORTH)).where(among(ORDERS.member_id),
                                                                       ORDERS.status == OrderStatus.PENDING.value)
                .group_by(ORDERS.member_id)):
            totals.get(member_id, {})["pending_orders"] = int(total)
        return [MemberTotals(member_id, **values) for member_id, values in sorted(totals.items())]

    async def _entry_sums(self, among) -> dict[int, dict]:
        e = ledger_entries.c
        growth_reasons = sorted(reason.value for reason in GROWTH_REASONS)
        rows = await self.connection.execute(
            select(e.member_id, func.sum(e.delta),
                   func.sum(case((and_(e.delta > 0, e.reason.in_(growth_reasons)), e.delta), else_=0)))
            .where(among(e.member_id)).group_by(e.member_id))
        return {member_id: {"entries_sum": int(total), "growth_earned": int(growth)}
                for member_id, total, growth in rows}

    async def _first_breaks(self, among) -> dict[int, tuple[int, int, int]]:
        """Each member's first entry whose balanceAfter is not the running sum of the entries up to it."""
        e = ledger_entries.c
        chain = select(e.member_id, e.balance_after,
                       func.sum(e.delta).over(partition_by=e.member_id, order_by=e.id).label("running"),
                       func.row_number().over(partition_by=e.member_id, order_by=e.id).label("position")
                       ).where(among(e.member_id)).subquery()
        rows = await self.connection.execute(
            select(chain.c.member_id, chain.c.position, chain.c.balance_after, chain.c.running)
            .where(chain.c.running != chain.c.balance_after).order_by(chain.c.member_id, chain.c.position))
        found: dict[int, tuple[int, int, int]] = {}
        for member_id, position, after, running in rows:
            found.setdefault(member_id, (int(position), int(after), int(running)))
        return found

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
        pending_orders = await self.connection.scalar(select(func.coalesce(func.sum(PENDING_WORTH), 0)).where(
            ORDERS.member_id == member_id, ORDERS.status == OrderStatus.PENDING.value))
        return AccountSnapshot(member_id, member.balance, member.held, [e.delta for e in entries],
                               [e.balance_after for e in entries], int(lots), int(active), member.pending,
                               int(pending_orders), member.debt, member.growth,
                               sum(e.delta for e in entries if e.delta > 0 and e.reason in growth_reasons),
                               int(growth_changed))
