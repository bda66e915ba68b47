"""Members' birthdays (set once) and the years their gift was claimed."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert, select

from persistence.members import upsert
from persistence.tables import birthday_claims, member_birthdays


class SqlBirthdayRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def birthday_of(self, member_id: int) -> date | None:
        return await self.connection.scalar(
            select(member_birthdays.c.birthday).where(member_birthdays.c.member_id == member_id))

    async def set_birthday(self, member_id: int, birthday: date) -> None:
        statement = upsert(self.connection.dialect.name)(member_birthdays).values(member_id=member_id,
                                                                                  birthday=birthday)
        await self.connection.execute(statement.on_conflict_do_nothing(index_elements=["member_id"]))

    async def claimed(self, member_id: int, year: int) -> bool:
        found = await self.connection.scalar(select(birthday_claims.c.year).where(
            birthday_claims.c.member_id == member_id, birthday_claims.c.year == year))
        return found is not None

    async def record_claim(self, member_id: int, year: int, at: datetime) -> None:
        await self.connection.execute(insert(birthday_claims).values(member_id=member_id, year=year, claimed_at=at))
