"""Partner brands, their keys and nonces, exchanges, and the sums a settlement statement needs."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, delete, func, insert, literal, select, update

from domain.ledger import LedgerReason
from domain.partners import (HOLD_REF_PREFIX, ExchangeDirection, ExchangeRate, ExchangeStatus, ExchangeTotals,
                             Partner, PartnerExchange, PartnerKey)
from persistence.members import upsert
from persistence.tables import ledger_entries, partner_exchanges, partner_keys, partner_nonces, partners

PARTNER_FIELDS = ("name", "fen_per_100_points", "daily_points_per_member", "daily_points", "confirm_minutes",
                  "enabled", "created_at", "min_tier_level")
EXCHANGE_FIELDS = ("partner_code", "member_id", "points", "partner_points", "fen_per_100_points", "partner_account",
                   "partner_ref", "failure_reason", "created_at", "expires_at", "resolved_at")
MARGIN = timedelta(days=1)
COUNTED = (ExchangeStatus.PENDING.value, ExchangeStatus.COMPLETED.value)


def partner_from_row(row) -> Partner:
    return Partner(row.code, row.name, ExchangeRate(row.rate_points, row.rate_partner_points), row.created_at,
                   row.fen_per_100_points, row.daily_points_per_member, row.daily_points, row.confirm_minutes,
                   row.enabled, row.min_tier_level)


def partner_values(partner: Partner) -> dict:
    return {**{name: getattr(partner, name) for name in PARTNER_FIELDS},
            "rate_points": partner.rate.points, "rate_partner_points": partner.rate.partner_points}


def exchange_from_row(row) -> PartnerExchange:
    return PartnerExchange(row.partner_code, row.member_id, ExchangeDirection(row.direction), row.points,
                           row.partner_points, row.fen_per_100_points, row.created_at, row.expires_at,
                           row.partner_account, ExchangeStatus(row.status), row.partner_ref, row.failure_reason,
                           row.resolved_at, row.id)


def exchange_values(exchange: PartnerExchange) -> dict:
    return {**{name: getattr(exchange, name) for name in EXCHANGE_FIELDS},
            "direction": exchange.direction.value, "status": exchange.status.value}


class SqlPartnerRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.insert = upsert(connection.dialect.name)

    async def get(self, code: str) -> Partner | None:
        row = (await self.connection.execute(select(partners).where(partners.c.code == code))).first()
        return partner_from_row(row) if row else None

    async def lock(self, code: str) -> Partner | None:
        row = (await self.connection.execute(
            select(partners).where(partners.c.code == code).with_for_update())).first()
        return partner_from_row(row) if row else None

    async def all(self) -> list[Partner]:
        return [partner_from_row(row) for row in await self.connection.execute(
            select(partners).order_by(partners.c.code))]

    async def add(self, partner: Partner) -> None:
        await self.connection.execute(insert(partners).values(code=partner.code, **partner_values(partner)))

    async def update(self, partner: Partner) -> None:
        await self.connection.execute(update(partners).where(partners.c.code == partner.code)
                                      .values(**partner_values(partner)))

    async def add_key(self, key: PartnerKey) -> None:
        await self.connection.execute(insert(partner_keys).values(
            key_id=key.key_id, partner_code=key.partner_code, secret=key.secret, created_at=key.created_at))

    async def key(self, key_id: str) -> PartnerKey | None:
        row = (await self.connection.execute(select(partner_keys).where(partner_keys.c.key_id == key_id))).first()
        return PartnerKey(row.key_id, row.partner_code, row.secret, row.created_at, row.revoked_at) if row else None

    async def keys_of(self, code: str) -> list[PartnerKey]:
        rows = await self.connection.execute(select(partner_keys).where(partner_keys.c.partner_code == code)
                                             .order_by(partner_keys.c.created_at, partner_keys.c.key_id))
        return [PartnerKey(r.key_id, r.partner_code, r.secret, r.created_at, r.revoked_at) for r in rows]

    async def revoke_key(self, key_id: str, at: datetime) -> None:
        await self.connection.execute(update(partner_keys).where(partner_keys.c.key_id == key_id)
                                      .values(revoked_at=at))

    async def remember_nonce(self, key_id: str, nonce: str, at: datetime) -> bool:
        statement = self.insert(partner_nonces).values(key_id=key_id, nonce=nonce, seen_at=at)
        result = await self.connection.execute(statement.on_conflict_do_nothing(
            index_elements=["key_id", "nonce"]).returning(partner_nonces.c.nonce))
        return result.first() is not None

    async def forget_nonces_before(self, moment: datetime) -> int:
        result = await self.connection.execute(delete(partner_nonces).where(partner_nonces.c.seen_at < moment))
        return result.rowcount

    async def add_exchange(self, exchange: PartnerExchange) -> None:
        result = await self.connection.execute(insert(partner_exchanges).values(**exchange_values(exchange))
                                               .returning(partner_exchanges.c.id))
        exchange.id = result.scalar_one()

    async def exchange(self, exchange_id: int) -> PartnerExchange | None:
        row = (await self.connection.execute(
            select(partner_exchanges).where(partner_exchanges.c.id == exchange_id))).first()
        return exchange_from_row(row) if row else None

    async def update_exchange(self, exchange: PartnerExchange) -> None:
        await self.connection.execute(update(partner_exchanges).where(partner_exchanges.c.id == exchange.id)
                                      .values(**exchange_values(exchange)))

    async def exchanges_page(self, *, partner_code: str | None, member_id: int | None,
                             status: ExchangeStatus | None, before_id: int | None,
                             limit: int) -> list[PartnerExchange]:
        query = select(partner_exchanges)
        if partner_code is not None:
            query = query.where(partner_exchanges.c.partner_code == partner_code)
        if member_id is not None:
            query = query.where(partner_exchanges.c.member_id == member_id)
        if status is not None:
            query = query.where(partner_exchanges.c.status == status.value)
        if before_id is not None:
            query = query.where(partner_exchanges.c.id < before_id)
        rows = await self.connection.execute(query.order_by(partner_exchanges.c.id.desc()).limit(limit))
        return [exchange_from_row(row) for row in rows]

    async def points_since(self, code: str, since: datetime, member_id: int | None = None) -> int:
        query = select(func.coalesce(func.sum(partner_exchanges.c.points), 0)).where(
            partner_exchanges.c.partner_code == code, partner_exchanges.c.created_at >= since,
            partner_exchanges.c.status.in_(COUNTED))
        if member_id is not None:
            query = query.where(partner_exchanges.c.member_id == member_id)
        return int((await self.connection.execute(query)).scalar_one())

    async def expire_pending_in(self, now: datetime) -> int:
        result = await self.connection.execute(update(partner_exchanges).where(
            partner_exchanges.c.status == ExchangeStatus.PENDING.value,
            partner_exchanges.c.direction == ExchangeDirection.IN.value,
            partner_exchanges.c.expires_at <= now).values(status=ExchangeStatus.EXPIRED.value, resolved_at=now))
        return result.rowcount

    async def settlement_totals(self, code: str, start: datetime,
                                end: datetime) -> dict[ExchangeDirection, ExchangeTotals]:
        e = partner_exchanges.c
        rows = await self.connection.execute(
            select(e.direction, func.count(), func.sum(e.points), func.sum(e.partner_points),
                   func.sum(e.points * e.fen_per_100_points))
            .where(e.partner_code == code, e.status == ExchangeStatus.COMPLETED.value,
                   e.resolved_at >= start, e.resolved_at < end)
            .group_by(e.direction))
        return {ExchangeDirection(direction): ExchangeTotals(count, int(points), int(partner_points), int(value))
                for direction, count, points, partner_points, value in rows}

    async def ledger_totals(self, code: str, start: datetime, end: datetime) -> dict[ExchangeDirection, int]:
        e, entry = partner_exchanges.c, ledger_entries.c
        linked = entry.ref == literal(HOLD_REF_PREFIX) + cast(e.id, String)
        rows = await self.connection.execute(
            select(e.direction, func.sum(entry.delta))
            .select_from(partner_exchanges.join(ledger_entries, and_(linked, entry.member_id == e.member_id)))
            # The day of the entry decides; the exchange's own times only narrow the index scan.
            .where(e.partner_code == code, e.resolved_at >= start - MARGIN, e.resolved_at < end + MARGIN,
                   entry.occurred_at >= start, entry.occurred_at < end,
                   entry.reason.in_((LedgerReason.EXCHANGE_OUT.value, LedgerReason.EXCHANGE_IN.value)))
            .group_by(e.direction))
        moved = {ExchangeDirection(direction): int(delta) for direction, delta in rows}
        return {direction: -delta if direction is ExchangeDirection.OUT else delta for direction, delta in moved.items()}
