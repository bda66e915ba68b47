"""Tasks (任务): small actions that earn points, each with a period and a cap per period.

A task's period is counted in the brand's time zone: DAILY resets at local
midnight, WEEKLY on Monday at local midnight (ISO weeks), ONCE never.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING

from domain.brand import brand_settings
from domain.campaigns import boost_for
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import LedgerReason
from domain.text import checked_text

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_CAP = 100


class TaskPeriod(str, Enum):
    ONCE = "ONCE"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"


class TaskKind(str, Enum):
    BROWSE_ITEM = "BROWSE_ITEM"
    WATCH_VIDEO = "WATCH_VIDEO"
    SHARE_LINK = "SHARE_LINK"
    COMPLETE_PROFILE = "COMPLETE_PROFILE"
    JOIN_GROUP = "JOIN_GROUP"
    FOLLOW_ACCOUNT = "FOLLOW_ACCOUNT"
    OTHER = "OTHER"


@dataclass(frozen=True)
class Task:
    code: str
    name: str
    kind: TaskKind
    points: int
    period: TaskPeriod
    cap: int = 1
    description: str = ""
    enabled: bool = True
    position: int = 0

    def __post_init__(self) -> None:
        if not CODE_PATTERN.match(self.code):
            raise InvalidInput("code must be 1-40 lowercase letters, digits, _ or -", ("code",))
        checked_text(self.name, "name", max_length=60)
        checked_text(self.description, "description", max_length=500, required=False, multiline=True)
        if not 1 <= self.points <= 100_000:
            raise InvalidInput("points must be 1-100000", ("points",))
        if not 1 <= self.cap <= MAX_CAP:
            raise InvalidInput(f"cap must be 1-{MAX_CAP} per period", ("cap",))

    def period_key(self, local_day: date) -> str:
        if self.period is TaskPeriod.DAILY:
            return local_day.isoformat()
        if self.period is TaskPeriod.WEEKLY:
            year, week, _ = local_day.isocalendar()
            return f"{year}-W{week:02d}"
        return "once"


@dataclass(frozen=True)
class TaskProgress:
    task: Task
    done: int

    @property
    def completed(self) -> bool:
        return self.done >= self.task.cap


class TaskService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def catalogue(self, *, include_disabled: bool = False) -> list[Task]:
        tasks = await self.transactions.read(lambda uow: uow.tasks.all())
        return [t for t in tasks if include_disabled or t.enabled]

    async def progress(self, member_id: int, tasks: list[Task]) -> list[TaskProgress]:
        async def work(uow: "UnitOfWork") -> list[TaskProgress]:
            today = (await brand_settings(uow)).local_date(self.clock.now())
            keys = [(t.code, t.period_key(today)) for t in tasks]
            counts = await uow.tasks.completion_counts(member_id, keys)
            return [TaskProgress(t, counts.get(key, 0)) for t, key in zip(tasks, keys)]

        return await self.transactions.read(work)

    async def complete(self, member: Actor, member_id: int, code: str, key: str) -> "PointsOutcome":
        if not CODE_PATTERN.match(code):
            raise NotFound(f"no task {code[:40]!r}", ("taskCode",))

        async def rule(ctx: "OperationContext") -> None:
            task = await ctx.uow.tasks.get(code)
            if task is None:
                raise NotFound(f"no task {code}", ("taskCode",))
            if not task.enabled:
                raise Refusal(ErrorCode.TASK_DISABLED, f"task {code} is not running", ("taskCode",))
            period = task.period_key(ctx.brand.local_date(ctx.now))
            if await ctx.uow.tasks.completions(ctx.member.id, code, period) >= task.cap:
                raise Refusal(ErrorCode.TASK_LIMIT_REACHED,
                              f"task {code} already done {task.cap} time(s) this period", ("taskCode",))
            expires_at = ctx.brand.expiry_for(ctx.now)
            ref = f"task:{code}:{period}"
            ctx.member.account.credit(task.points, LedgerReason.TASK, ctx.now, expires_at, member.label, task.name, ref)
            boost = await boost_for(ctx.uow, task.points, ctx.now, LedgerReason.TASK, ctx.member.tier_level)
            if boost:
                ctx.member.account.credit(boost.bonus_points, LedgerReason.CAMPAIGN_BONUS, ctx.now, expires_at,
                                          member.label, f"活动 {boost.campaign.name} · {task.name}", ref)
            await ctx.uow.tasks.add_completion(ctx.member.id, code, period, ctx.now)

        return await self.operations.run(actor=member, key=key, operation="completeTask", member_id=member_id,
                                         payload={"taskCode": code}, rule=rule)

    async def save(self, staff: Actor, task: Task, *, create: bool) -> Task:
        async def work(uow: "UnitOfWork") -> Task:
            exists = await uow.tasks.get(task.code) is not None
            if create and exists:
                raise Refusal(ErrorCode.ALREADY_EXISTS, f"task {task.code} exists", ("code",))
            if not create and not exists:
                raise Refusal(ErrorCode.NOT_FOUND, f"no task {task.code}", ("code",))
            await uow.tasks.put(task)
            await uow.audit.record(staff.label, "task.create" if create else "task.update", task.code,
                                   {"name": task.name, "points": task.points, "period": task.period.value,
                                    "cap": task.cap, "enabled": task.enabled}, self.clock.now())
            return task

        return await self.transactions.write(work)
