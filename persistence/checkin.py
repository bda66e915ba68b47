"""Check-in days: one row per member per local date, so the database refuses a second one too."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, func, insert, select, tuple_

from domain.checkin import CheckIn
from persistence.direct_statements import direct
from persistence.tables import check_ins


# Built once: every check-in reads the member's last day and adds one.
LATEST_OF_ONE = direct(select(check_ins).where(check_ins.c.member_id == bindparam("member_id"))
                       .order_by(check_ins.c.local_date.desc()).limit(1))
INSERT_CHECK_IN = direct(insert(check_ins))


def check_in_from_row(row) -> CheckIn:
    return CheckIn(row.member_id, row.local_date, row.streak, row.checked_in_at, row.total_days, row.month_days)


class SqlCheckInRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def latest(self, member_ids: Sequence[int]) -> dict[int, CheckIn]:
        if not member_ids:
            return {}
        if len(member_ids) == 1:
            rows = await self.connection.execute(LATEST_OF_ONE, {"member_id": member_ids[0]})
            return {r.member_id: check_in_from_row(r) for r in rows}
        newest = (select(check_ins.c.member_id, func.max(check_ins.c.local_date).label("local_date"))
                  .where(check_ins.c.member_id.in_(member_ids)).group_by(check_ins.c.member_id))
        rows = await self.connection.execute(select(check_ins).where(
            tuple_(check_ins.c.member_id, check_ins.c.local_date).in_(newest)))
        return {r.member_id: check_in_from_row(r) for r in rows}

    async def add(self, check_in: CheckIn) -> None:
        await self.connection.write_behind(INSERT_CHECK_IN, {
            "member_id": check_in.member_id, "local_date": check_in.local_date, "streak": check_in.streak,
            "checked_in_at": check_in.checked_in_at, "total_days": check_in.total_days,
            "month_days": check_in.month_days})
