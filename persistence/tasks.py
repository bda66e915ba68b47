"""Tasks and how often each member did each one in each period."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, tuple_

from domain.day_figures import FigureChange, FigureKind
from domain.tasks import Task, TaskConfirmation, TaskKind, TaskPeriod
from persistence.members import upsert
from persistence.tables import task_completions, task_ticket_nonces, tasks


def task_from_row(row) -> Task:
    return Task(row.code, row.name, TaskKind(row.kind), row.points, TaskPeriod(row.period), row.cap,
                row.description, row.enabled, row.position, tuple(row.steps), row.target,
                TaskConfirmation(row.confirmed_by))


class SqlTaskRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.figure_changes: list[FigureChange] = []  # to the tasks' day figures (domain/day_figures.py)

    async def get(self, code: str) -> Task | None:
        row = (await self.connection.execute(select(tasks).where(tasks.c.code == code))).first()
        return task_from_row(row) if row else None

    async def all(self) -> list[Task]:
        rows = await self.connection.execute(select(tasks).order_by(tasks.c.position, tasks.c.code))
        return [task_from_row(row) for row in rows]

    async def put(self, task: Task) -> None:
        values = {"name": task.name, "kind": task.kind.value, "points": task.points, "period": task.period.value,
                  "cap": task.cap, "description": task.description, "enabled": task.enabled,
                  "position": task.position, "steps": list(task.steps), "target": task.target,
                  "confirmed_by": task.confirmed_by.value}
        statement = upsert(self.connection.dialect.name)(tasks).values(code=task.code, **values)
        await self.connection.execute(statement.on_conflict_do_update(index_elements=["code"], set_=values))

    async def use_ticket_nonce(self, key_id: str, nonce: str, member_id: int, at: datetime) -> bool:
        statement = upsert(self.connection.dialect.name)(task_ticket_nonces).values(
            key_id=key_id, nonce=nonce, member_id=member_id, used_at=at)
        result = await self.connection.execute(statement.on_conflict_do_nothing(index_elements=["key_id", "nonce"]))
        return result.rowcount == 1

    async def purge_ticket_nonces(self, before: datetime) -> int:
        result = await self.connection.execute(delete(task_ticket_nonces).where(task_ticket_nonces.c.used_at < before))
        return result.rowcount

    async def completions(self, member_id: int, code: str, period_key: str) -> int:
        return await self.connection.scalar(select(func.count()).select_from(task_completions).where(
            task_completions.c.member_id == member_id, task_completions.c.task_code == code,
            task_completions.c.period_key == period_key))

    async def completion_counts(self, member_id: int,
                                keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        if not keys:
            return {}
        pair = tuple_(task_completions.c.task_code, task_completions.c.period_key)
        rows = await self.connection.execute(
            select(task_completions.c.task_code, task_completions.c.period_key, func.count().label("done"))
            .where(task_completions.c.member_id == member_id, pair.in_(list(keys)))
            .group_by(task_completions.c.task_code, task_completions.c.period_key))
        return {(row.task_code, row.period_key): row.done for row in rows}

    async def completions_since(self, member_id: int, codes: Sequence[str], since: datetime) -> int:
        return await self.connection.scalar(select(func.count()).select_from(task_completions).where(
            task_completions.c.member_id == member_id, task_completions.c.task_code.in_(list(codes)),
            task_completions.c.completed_at >= since))

    async def challenges_with_step(self, step_code: str) -> list[Task]:
        # Challenges are few; filtering their step lists here keeps the query portable across databases.
        return [t for t in await self.all() if t.enabled and step_code in t.steps]

    async def add_completion(self, member_id: int, code: str, period_key: str, at: datetime) -> None:
        await self.connection.execute(insert(task_completions).values(
            member_id=member_id, task_code=code, period_key=period_key, completed_at=at))
        self.figure_changes.append(FigureChange(FigureKind.TASK, code, member_id, at, times=1))
