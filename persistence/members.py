"""Members and their points accounts: one row each, locked for every change of points."""
from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.ledger import NEVER, GrowthChange, GrowthReason, HoldStatus, LedgerEntry, PointsAccount, with_id
from domain.members import NO_SIGNALS, Member, MemberSignals
from domain.orders import OrderStatus
from domain.realtime import PointsChanged, PointsSnapshot
from domain.tiers import TierChange
from persistence.direct_statements import direct
from persistence.tables import (growth_changes, holds, ledger_entries, members, point_lots, purchase_orders,
                                tier_changes)


def member_from_row(row) -> Member:
    account = PointsAccount(row.id, row.balance, row.held, row.lifetime_earned, row.growth, row.pending, row.debt,
                            row.period_growth, row.last_active_at)
    return Member(row.id, row.external_id, row.nickname, row.created_at, row.tier_level, account, row.next_due_at,
                  row.keep_until, row.device_id, row.phone_hash)


# Built once: the statements every request (and every change of points) runs skip construction and
# cache-key generation, which cost more than running them on SQLite.
MEMBER_BY_ID = direct(select(members).where(members.c.id == bindparam("member_id")))
MEMBER_BY_EXTERNAL_ID = direct(select(members).where(members.c.external_id == bindparam("external_id")))
LOCK_MEMBER = MEMBER_BY_ID.with_for_update()
LIVE_LOTS = direct(select(point_lots.c.expires_at, point_lots.c.remaining).where(
    point_lots.c.member_id == bindparam("member_id"), point_lots.c.remaining > 0))
INSERT_ENTRY = direct(insert(ledger_entries).returning(ledger_entries.c.id))  # the columns are the parameters'
SAVE_ACCOUNT = direct(update(members).where(members.c.id == bindparam("member_key")))
DELETE_LOT = direct(delete(point_lots).where(point_lots.c.member_id == bindparam("member_id"),
                                             point_lots.c.expires_at == bindparam("expires_at")))


def on_device(device_id: str | None, phone_hash: str | None):
    """Members on this device or with this phone; None when neither is known (nothing to compare)."""
    checks = [members.c.device_id == device_id] if device_id else []
    checks += [members.c.phone_hash == phone_hash] if phone_hash else []
    return or_(*checks) if checks else None


def upsert(dialect: str):
    return (sqlite if dialect == "sqlite" else postgresql).insert


@functools.cache
def lot_upsert(dialect: str):
    statement = upsert(dialect)(point_lots)
    return direct(statement.on_conflict_do_update(index_elements=["member_id", "expires_at"],
                                                  set_={"remaining": statement.excluded.remaining}))


class SqlMemberRepository:
    def __init__(self, connection: AsyncConnection, changes: list[PointsChanged] | None = None) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        # What this transaction changed, announced by the unit of work only after it commits.
        self.changes = changes if changes is not None else []
        self._loaded: dict[int, tuple[int, int]] = {}  # (held, pending) of each locked member, as read
        self._active: dict[int, datetime | None] = {}  # each locked member's last activity, as last saved
        # (member id, entries saved, last activity before them): what the day summaries add up at the end.
        self.saved_entries: list[tuple[int, list[LedgerEntry], datetime | None]] = []

    async def get(self, member_id: int) -> Member | None:
        row = (await self.connection.execute(MEMBER_BY_ID, {"member_id": member_id})).first()
        return member_from_row(row) if row else None

    async def get_by_external_id(self, external_id: str) -> Member | None:
        row = (await self.connection.execute(MEMBER_BY_EXTERNAL_ID, {"external_id": external_id})).first()
        return member_from_row(row) if row else None

    async def get_many(self, member_ids: Sequence[int]) -> list[Member]:
        rows = await self.connection.execute(select(members).where(members.c.id.in_(member_ids)))
        return [member_from_row(row) for row in rows]

    async def external_ids(self, member_ids: Sequence[int]) -> dict[int, str]:
        rows = await self.connection.execute(select(members.c.id, members.c.external_id)
                                             .where(members.c.id.in_(member_ids)))
        return {row.id: row.external_id for row in rows}

    async def add_if_absent(self, external_id: str, nickname: str, tier_level: int, at: datetime,
                            signals: MemberSignals = NO_SIGNALS) -> None:
        statement = upsert(self.dialect)(members).values(
            external_id=external_id, nickname=nickname, created_at=at, tier_level=tier_level,
            growth=0, balance=0, held=0, pending=0, lifetime_earned=0, debt=0, period_growth=0,
            device_id=signals.device_id, phone_hash=signals.phone_hash)
        await self.connection.execute(statement.on_conflict_do_nothing(index_elements=["external_id"]))

    async def lock(self, member_id: int) -> Member | None:
        row = (await self.connection.execute(LOCK_MEMBER, {"member_id": member_id})).first()
        if row is None:
            return None
        member = member_from_row(row)
        lots = await self.connection.execute(LIVE_LOTS, {"member_id": member_id})
        member.account.lots = {lot.expires_at: lot.remaining for lot in lots}
        self._loaded.setdefault(member.id, (member.account.held, member.account.pending))
        self._active.setdefault(member.id, member.account.last_active_at)
        return member

    async def save(self, member: Member) -> list[LedgerEntry]:
        account = member.account
        saved = [await self._insert_entry(entry) for entry in account.new_entries]
        await self._save_lots(account)
        await self._save_holds(account)
        for change in member.new_tier_changes:
            await self.connection.execute(insert(tier_changes).values(
                member_id=change.member_id, from_level=change.from_level, to_level=change.to_level,
                growth=change.growth, changed_at=change.changed_at))
        for growth in account.new_growth_changes:
            await self.connection.execute(insert(growth_changes).values(
                member_id=growth.member_id, delta=growth.delta, growth_after=growth.growth_after,
                reason=growth.reason.value, occurred_at=growth.occurred_at, actor=growth.actor, memo=growth.memo,
                ref=growth.ref))
        member.next_due_at = await self._next_due_at(member)
        await self.connection.write_behind(SAVE_ACCOUNT, {
            "member_key": member.id, "balance": account.balance, "held": account.held, "growth": account.growth,
            "pending": account.pending, "debt": account.debt, "lifetime_earned": account.lifetime_earned,
            "tier_level": member.tier_level, "next_due_at": member.next_due_at,
            "period_growth": account.period_growth, "keep_until": member.keep_until,
            "device_id": member.device_id, "phone_hash": member.phone_hash,
            "last_active_at": account.last_active_at})
        account.mark_saved()
        member.new_tier_changes.clear()
        self._record_changes(member, saved)
        if saved:
            self.saved_entries.append((member.id, saved, self._active.get(member.id)))
        self._active[member.id] = account.last_active_at
        return saved

    def _record_changes(self, member: Member, saved: list[LedgerEntry]) -> None:
        account = member.account
        held, pending = self._loaded.get(member.id, (account.held, account.pending))
        self._loaded[member.id] = (account.held, account.pending)
        snapshot = PointsSnapshot.of(account)
        held_delta, pending_delta = account.held - held, account.pending - pending
        if saved:
            self.changes.extend(PointsChanged(member.id, entry, snapshot, held_delta, pending_delta)
                                for entry in saved)
        elif held_delta or pending_delta:
            self.changes.append(PointsChanged(member.id, None, snapshot, held_delta, pending_delta))

    async def _next_due_at(self, member: Member) -> datetime | None:
        account = member.account
        moments = [expires_at for expires_at, points in account.lots.items() if points and expires_at < NEVER]
        moments.append(member.keep_until)
        if account.held:
            moments.append(await self.connection.scalar(select(func.min(holds.c.expires_at)).where(
                holds.c.member_id == account.member_id, holds.c.status == HoldStatus.ACTIVE.value)))
        if account.pending:
            moments.append(await self.connection.scalar(select(func.min(purchase_orders.c.release_at)).where(
                purchase_orders.c.member_id == account.member_id,
                purchase_orders.c.status == OrderStatus.PENDING.value)))
        return min((m for m in moments if m is not None), default=None)

    async def due_ids(self, now: datetime, after_id: int, limit: int) -> list[int]:
        rows = await self.connection.execute(
            select(members.c.id).where(members.c.next_due_at <= now, members.c.id > after_id)
            .order_by(members.c.id).limit(limit))
        return [row.id for row in rows]

    async def _insert_entry(self, entry: LedgerEntry) -> LedgerEntry:
        result = await self.connection.execute(INSERT_ENTRY, {
            "member_id": entry.member_id, "delta": entry.delta, "balance_after": entry.balance_after,
            "reason": entry.reason.value, "occurred_at": entry.occurred_at, "expires_at": entry.expires_at,
            "memo": entry.memo, "actor": entry.actor, "ref": entry.ref})
        return with_id(entry, result.scalar_one())

    async def _save_lots(self, account: PointsAccount) -> None:
        for expires_at in sorted(account.changed_lots):
            remaining = account.lots.get(expires_at, 0)
            lot = {"member_id": account.member_id, "expires_at": expires_at}
            if remaining == 0:
                await self.connection.write_behind(DELETE_LOT, lot)
            else:
                await self.connection.write_behind(lot_upsert(self.dialect), {**lot, "remaining": remaining})

    async def _save_holds(self, account: PointsAccount) -> None:
        for hold in account.new_holds:
            result = await self.connection.execute(insert(holds).values(
                member_id=hold.member_id, amount=hold.amount, reason=hold.reason.value, ref=hold.ref,
                status=hold.status.value, created_at=hold.created_at, expires_at=hold.expires_at,
                resolved_at=hold.resolved_at).returning(holds.c.id))
            hold.id = result.scalar_one()
        for hold in account.changed_holds:
            await self.connection.execute(update(holds).where(holds.c.id == hold.id).values(
                status=hold.status.value, resolved_at=hold.resolved_at))

    async def ids_below_tier(self, thresholds: Sequence[tuple[int, int]], after_id: int, limit: int) -> list[int]:
        deserved = case(*[(members.c.growth >= threshold, level) for level, threshold in sorted(thresholds, reverse=True)],
                        else_=1)
        rows = await self.connection.execute(
            select(members.c.id).where(members.c.id > after_id, members.c.tier_level < deserved)
            .order_by(members.c.id).limit(limit))
        return [row.id for row in rows]

    async def start_upkeep_periods(self, keep_until: datetime) -> int:
        due = bindparam("until", keep_until, type_=members.c.keep_until.type)
        result = await self.connection.execute(
            update(members).where(members.c.tier_level > 1, members.c.keep_until.is_(None))
            .values(keep_until=due, period_growth=0,
                    next_due_at=case((or_(members.c.next_due_at.is_(None), members.c.next_due_at > due), due),
                                     else_=members.c.next_due_at)))
        return result.rowcount

    async def end_upkeep_periods(self) -> None:
        await self.connection.execute(update(members).where(members.c.keep_until.is_not(None)).values(keep_until=None))

    async def growth_changes_page(self, member_id: int, before_id: int | None, limit: int) -> list[GrowthChange]:
        query = select(growth_changes).where(growth_changes.c.member_id == member_id)
        if before_id is not None:
            query = query.where(growth_changes.c.id < before_id)
        rows = await self.connection.execute(query.order_by(growth_changes.c.id.desc()).limit(limit))
        return [GrowthChange(r.member_id, r.delta, r.growth_after, GrowthReason(r.reason), r.occurred_at, r.actor,
                             r.memo, r.ref, r.id) for r in rows]

    async def tier_changes(self, member_id: int) -> list[TierChange]:
        rows = await self.connection.execute(
            select(tier_changes).where(tier_changes.c.member_id == member_id).order_by(tier_changes.c.id))
        return [TierChange(r.member_id, r.from_level, r.to_level, r.growth, r.changed_at) for r in rows]
