"""Earning rules for outside events, and every event recorded (once per type and id)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update

from domain.events import Beneficiary, EventRule, RecordedEvent
from domain.ledger import LedgerReason
from persistence.members import upsert
from persistence.tables import brand_events, event_rules


def rule_from_row(row) -> EventRule:
    return EventRule(row.event_type, row.name, row.points, LedgerReason(row.reason), Beneficiary(row.beneficiary),
                     row.daily_cap, row.revokes, row.revoke_within_days, row.match_attribute, row.enabled)


def event_from_row(row) -> RecordedEvent:
    return RecordedEvent(row.event_type, row.event_id, row.member_id, row.beneficiary_id, row.points,
                         row.match_value, row.occurred_at, row.revoked_at, row.id)


class SqlEventRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def rule(self, event_type: str) -> EventRule | None:
        row = (await self.connection.execute(
            select(event_rules).where(event_rules.c.event_type == event_type))).first()
        return rule_from_row(row) if row else None

    async def rules(self) -> list[EventRule]:
        rows = await self.connection.execute(select(event_rules).order_by(event_rules.c.event_type))
        return [rule_from_row(row) for row in rows]

    async def put_rule(self, rule: EventRule) -> None:
        values = {"name": rule.name, "points": rule.points, "reason": rule.reason.value,
                  "beneficiary": rule.beneficiary.value, "daily_cap": rule.daily_cap, "revokes": rule.revokes,
                  "revoke_within_days": rule.revoke_within_days, "match_attribute": rule.match_attribute,
                  "enabled": rule.enabled}
        statement = upsert(self.connection.dialect.name)(event_rules).values(event_type=rule.event_type, **values)
        await self.connection.execute(statement.on_conflict_do_update(index_elements=["event_type"], set_=values))

    async def get(self, event_type: str, event_id: str) -> RecordedEvent | None:
        row = (await self.connection.execute(select(brand_events).where(
            brand_events.c.event_type == event_type, brand_events.c.event_id == event_id))).first()
        return event_from_row(row) if row else None

    async def add(self, event: RecordedEvent) -> None:
        result = await self.connection.execute(insert(brand_events).values(
            event_type=event.event_type, event_id=event.event_id, member_id=event.member_id,
            beneficiary_id=event.beneficiary_id, points=event.points, match_value=event.match_value,
            occurred_at=event.occurred_at, revoked_at=event.revoked_at).returning(brand_events.c.id))
        event.id = result.scalar_one()

    async def update(self, event: RecordedEvent) -> None:
        await self.connection.execute(update(brand_events).where(brand_events.c.id == event.id)
                                      .values(revoked_at=event.revoked_at))

    async def latest_unrevoked(self, event_type: str, member_id: int, match_value: str | None) -> RecordedEvent | None:
        query = select(brand_events).where(brand_events.c.event_type == event_type,
                                           brand_events.c.member_id == member_id, brand_events.c.revoked_at.is_(None))
        if match_value is not None:
            query = query.where(brand_events.c.match_value == match_value)
        row = (await self.connection.execute(query.order_by(brand_events.c.id.desc()).limit(1))).first()
        return event_from_row(row) if row else None

    async def points_paid_since(self, event_type: str, beneficiary_id: int, since: datetime) -> int:
        return await self.connection.scalar(select(func.coalesce(func.sum(brand_events.c.points), 0)).where(
            brand_events.c.event_type == event_type, brand_events.c.beneficiary_id == beneficiary_id,
            brand_events.c.occurred_at >= since))
