"""Monthly perk grants: one row per member, perk and month; the key makes a grant happen once."""
from __future__ import annotations

from sqlalchemy import and_, exists, select

from domain.perks import PerkGrant
from persistence.members import upsert
from persistence.tables import members, perk_grants

G = perk_grants.c


class SqlPerkRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def ungranted(self, tier_level: int, perk_key: str, period: str, after_id: int, limit: int) -> list[int]:
        granted = exists().where(and_(G.member_id == members.c.id, G.perk_key == perk_key, G.period == period))
        rows = await self.connection.execute(
            select(members.c.id).where(members.c.tier_level == tier_level, members.c.id > after_id, ~granted)
            .order_by(members.c.id).limit(limit))
        return [row.id for row in rows]

    async def add_grants(self, grants: list[PerkGrant]) -> list[int]:
        if not grants:
            return []
        statement = upsert(self.connection.dialect.name)(perk_grants).values([
            {"member_id": g.member_id, "perk_key": g.perk_key, "period": g.period, "granted_at": g.granted_at}
            for g in grants]).on_conflict_do_nothing(index_elements=["member_id", "perk_key", "period"])
        rows = await self.connection.execute(statement.returning(G.member_id))
        return sorted(row.member_id for row in rows)
