"""Group redemptions (拼团) and who joined them; a group's row is locked after its members'."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from domain.group_redemptions import GroupRedemption
from persistence.tables import group_members, group_redemptions

GROUP_FIELDS = ("item_id", "item_name", "owner_id", "size", "points_price", "created_at", "deadline", "filled",
                "filled_at")


class SqlGroupRedemptionRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def add(self, group: GroupRedemption) -> None:
        result = await self.connection.execute(insert(group_redemptions).values(
            **{name: getattr(group, name) for name in GROUP_FIELDS}).returning(group_redemptions.c.id))
        group.id = result.scalar_one()

    async def _load(self, rows) -> list[GroupRedemption]:
        found = [GroupRedemption(**{name: getattr(row, name) for name in GROUP_FIELDS}, id=row.id) for row in rows]
        if found:
            joined = await self.connection.execute(select(group_members).where(
                group_members.c.group_id.in_([g.id for g in found]))
                .order_by(group_members.c.joined_at, group_members.c.member_id))
            by_id = {g.id: g for g in found}
            for row in joined:
                by_id[row.group_id].member_ids.append(row.member_id)
            for group in found:  # the owner first, whatever the clock said
                group.member_ids.sort(key=lambda m, owner=group.owner_id: m != owner)
        return found

    async def get(self, group_id: int) -> GroupRedemption | None:
        rows = (await self.connection.execute(
            select(group_redemptions).where(group_redemptions.c.id == group_id))).all()
        found = await self._load(rows)
        return found[0] if found else None

    async def lock(self, group_id: int) -> GroupRedemption | None:
        rows = (await self.connection.execute(
            select(group_redemptions).where(group_redemptions.c.id == group_id).with_for_update())).all()
        found = await self._load(rows)
        return found[0] if found else None

    async def add_member(self, group_id: int, member_id: int, at: datetime) -> None:
        await self.connection.execute(insert(group_members).values(group_id=group_id, member_id=member_id,
                                                                   joined_at=at))

    async def update(self, group: GroupRedemption) -> None:
        await self.connection.execute(update(group_redemptions).where(group_redemptions.c.id == group.id).values(
            filled=group.filled, filled_at=group.filled_at))

    async def open_for_item(self, item_id: int, now: datetime, limit: int) -> list[GroupRedemption]:
        rows = (await self.connection.execute(select(group_redemptions).where(
            group_redemptions.c.item_id == item_id, group_redemptions.c.filled.is_(False),
            group_redemptions.c.deadline > now).order_by(group_redemptions.c.deadline).limit(limit))).all()
        return await self._load(rows)
