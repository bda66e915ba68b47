"""Member badges: one row per member and badge, inserted at most once."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from domain.badges import Badge, BadgeCode
from persistence.members import upsert
from persistence.tables import member_badges


class SqlBadgeRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.insert = upsert(connection.dialect.name)

    async def add(self, badge: Badge) -> bool:
        statement = self.insert(member_badges).values(member_id=badge.member_id, code=badge.code.value,
                                                      awarded_at=badge.awarded_at)
        result = await self.connection.execute(statement.on_conflict_do_nothing(
            index_elements=["member_id", "code"]).returning(member_badges.c.code))
        return result.first() is not None

    async def of_members(self, member_ids: Sequence[int]) -> dict[int, list[Badge]]:
        rows = await self.connection.execute(select(member_badges).where(member_badges.c.member_id.in_(member_ids))
                                             .order_by(member_badges.c.awarded_at, member_badges.c.code))
        found: dict[int, list[Badge]] = {member_id: [] for member_id in member_ids}
        for row in rows:
            found[row.member_id].append(Badge(row.member_id, BadgeCode(row.code), row.awarded_at))
        return found
