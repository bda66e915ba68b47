"""Member badges: one row per member and badge, inserted at most once."""
from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import select

from domain.badges import Badge, BadgeCode
from persistence.direct_statements import direct
from persistence.members import upsert
from persistence.tables import member_badges


@functools.cache
def badge_insert(dialect: str):
    """Built once per dialect: a first check-in, order or invitation awards a badge inside its write."""
    return direct(upsert(dialect)(member_badges).on_conflict_do_nothing(index_elements=["member_id", "code"])
                  .returning(member_badges.c.code))


class SqlBadgeRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def add(self, badge: Badge) -> bool:
        result = await self.connection.execute(badge_insert(self.connection.dialect.name), {
            "member_id": badge.member_id, "code": badge.code.value, "awarded_at": badge.awarded_at})
        return result.first() is not None

    async def of_members(self, member_ids: Sequence[int]) -> dict[int, list[Badge]]:
        rows = await self.connection.execute(select(member_badges).where(member_badges.c.member_id.in_(member_ids))
                                             .order_by(member_badges.c.awarded_at, member_badges.c.code))
        found: dict[int, list[Badge]] = {member_id: [] for member_id in member_ids}
        for row in rows:
            found[row.member_id].append(Badge(row.member_id, BadgeCode(row.code), row.awarded_at))
        return found
