"""Tasks (任务): small actions that earn points, each with a period and a cap per period.

A task's period is counted in the brand's time zone: DAILY resets at local
midnight, WEEKLY on Monday at local midnight (ISO weeks), ONCE never.

Who may complete a task is the task's ``confirmed_by``: MEMBER tasks pay on the member's word
(low-value ones: browse, share); SERVER tasks pay only when staff complete them for a member or
the member presents a ticket the brand's server signed (see ``domain.task_tickets``).

A *challenge* is a task made of steps: "do 5 of these this week". It is never completed
directly; when a member's completions of its step tasks within the challenge's current period
reach ``target``, the challenge pays in the same transaction (up to its own cap per period).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain.chances import ChanceSource, chances_earned
from domain.brand import brand_settings
from domain.campaigns import boost_for
from domain.configuration import Actor, check_presence
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import LedgerReason
from domain.task_tickets import TICKETS_KEY, TicketKey, TicketKeys, verified_ticket
from domain.text import checked_text

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}\Z")
MAX_CAP = 100


class TaskPeriod(str, Enum):
    ONCE = "ONCE"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"


class TaskConfirmation(str, Enum):
    MEMBER = "MEMBER"  # the member's word is enough
    SERVER = "SERVER"  # staff, or a ticket the brand's server signed


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
    steps: tuple[str, ...] = ()  # a challenge: the tasks whose completions count towards it
    target: int = 0  # ... and how many of them within its period
    confirmed_by: TaskConfirmation = TaskConfirmation.MEMBER

    @property
    def is_challenge(self) -> bool:
        return bool(self.steps)

    def __post_init__(self) -> None:
        if not CODE_PATTERN.match(self.code):
            raise InvalidInput("code must be 1-40 lowercase letters, digits, _ or -", ("code",))
        checked_text(self.name, "name", max_length=60)
        checked_text(self.description, "description", max_length=500, required=False, multiline=True)
        if not 1 <= self.points <= 100_000:
            raise InvalidInput("points must be 1-100000", ("points",))
        if not 1 <= self.cap <= MAX_CAP:
            raise InvalidInput(f"cap must be 1-{MAX_CAP} per period", ("cap",))
        if self.steps or self.target:
            if not self.steps or len(self.steps) > 20 or any(not CODE_PATTERN.match(s) for s in self.steps):
                raise InvalidInput("a challenge names 1-20 step tasks", ("steps",))
            if self.code in self.steps:
                raise InvalidInput("a challenge cannot be its own step", ("steps",))
            if not 1 <= self.target <= 1000:
                raise InvalidInput("a challenge's target is 1-1000 step completions", ("target",))

    def period_start(self, local_day: date) -> date:
        if self.period is TaskPeriod.DAILY:
            return local_day
        if self.period is TaskPeriod.WEEKLY:
            return local_day - timedelta(days=local_day.weekday())
        return date(1970, 1, 1)

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
    steps_done: int = 0

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
            brand = await brand_settings(uow)
            keys = [(t.code, t.period_key(today)) for t in tasks]
            counts = await uow.tasks.completion_counts(member_id, keys)
            progress = []
            for task, key in zip(tasks, keys):
                steps = await uow.tasks.completions_since(
                    member_id, task.steps, brand.start_of_local_day(task.period_start(today))) if task.steps else 0
                progress.append(TaskProgress(task, counts.get(key, 0), steps))
            return progress

        return await self.transactions.read(work)

    async def complete(self, actor: Actor, member_id: int, code: str, key: str,
                       ticket: str | None = None) -> "PointsOutcome":
        """A task done: by the member (``actor`` is them; a SERVER task needs ``ticket``) or by staff for
        the member (``actor`` is staff: their word confirms any task)."""
        if not CODE_PATTERN.match(code):
            raise NotFound(f"no task {code[:40]!r}", ("taskCode",))

        async def rule(ctx: "OperationContext") -> None:
            task = await ctx.uow.tasks.get(code)
            if task is None:
                raise NotFound(f"no task {code}", ("taskCode",))
            if not task.enabled:
                raise Refusal(ErrorCode.TASK_DISABLED, f"task {code} is not running", ("taskCode",))
            if task.is_challenge:
                raise Refusal(ErrorCode.TASK_IS_CHALLENGE, f"{code} completes by itself when its steps are done",
                              ("taskCode",))
            if actor.kind == "member" and (ticket is not None or task.confirmed_by is TaskConfirmation.SERVER):
                await self._redeem_ticket(ctx, task, ticket)
            period = task.period_key(ctx.brand.local_date(ctx.now))
            if await ctx.uow.tasks.completions(ctx.member.id, code, period) >= task.cap:
                raise Refusal(ErrorCode.TASK_LIMIT_REACHED,
                              f"task {code} already done {task.cap} time(s) this period", ("taskCode",))
            expires_at = ctx.brand.expiry_for(ctx.now)
            ref = f"task:{code}:{period}"
            ctx.member.account.credit(task.points, LedgerReason.TASK, ctx.now, expires_at, actor.label, task.name, ref)
            boost = await boost_for(ctx.uow, task.points, ctx.now, LedgerReason.TASK, ctx.member)
            if boost:
                ctx.member.account.credit(boost.bonus_points, LedgerReason.CAMPAIGN_BONUS, ctx.now, expires_at,
                                          actor.label, f"活动 {boost.campaign.name} · {task.name}", ref)
            await ctx.uow.tasks.add_completion(ctx.member.id, code, period, ctx.now)
            await chances_earned(ctx.uow, ctx.member.id, ChanceSource.TASK, ref, ctx.now, lambda r: r.task_chances)
            await self._advance_challenges(ctx, actor, code)

        return await self.operations.run(actor=actor, key=key, operation="completeTask", member_id=member_id,
                                         payload={"taskCode": code, **({"ticket": ticket} if ticket else {})},
                                         rule=rule)

    @staticmethod
    async def _redeem_ticket(ctx: "OperationContext", task: Task, ticket: str | None) -> None:
        """Under the member's lock: the ticket's nonce is taken in the transaction that pays, so a
        ticket sent twice at once pays once."""
        if ticket is None:
            raise Refusal(ErrorCode.TASK_NEEDS_TICKET, f"{task.name} is confirmed by the brand: complete it "
                                                       "with the ticket its server signed", ("ticket",))
        keys = await ticket_keys(ctx.uow)
        found = verified_ticket(ticket, keys, ctx.member.external_id, task.code, ctx.now)
        if not await ctx.uow.tasks.use_ticket_nonce(found.key_id, found.nonce, ctx.member.id, ctx.now):
            raise Refusal(ErrorCode.TICKET_USED, "this completion ticket was already used", ("ticket",))

    async def rotate_ticket_key(self, staff: Actor) -> TicketKey:
        """A new signing key for completion tickets; the previous one still verifies until the next rotation."""
        async def work(uow: "UnitOfWork") -> TicketKey:
            now = self.clock.now()
            current = await ticket_keys(uow)
            keys = current.rotated(now) if current else TicketKeys(TicketKey.new(now))
            await uow.settings.put(TICKETS_KEY, keys.to_record(), staff.label, now)
            # The secret never goes into the audit log.
            await uow.audit.record(staff.label, "task_tickets.rotate", TICKETS_KEY,
                                   {"keyId": keys.current.key_id}, now)
            return keys.current

        return await self.transactions.write(work)

    async def ticket_key(self) -> TicketKey | None:
        keys = await self.transactions.read(ticket_keys)
        return keys.current if keys else None

    @staticmethod
    async def _advance_challenges(ctx: "OperationContext", member: Actor, step_code: str) -> None:
        today = ctx.brand.local_date(ctx.now)
        for challenge in await ctx.uow.tasks.challenges_with_step(step_code):
            period = challenge.period_key(today)
            already = await ctx.uow.tasks.completions(ctx.member.id, challenge.code, period)
            if already >= challenge.cap:
                continue
            since = ctx.brand.start_of_local_day(challenge.period_start(today))
            done = await ctx.uow.tasks.completions_since(ctx.member.id, challenge.steps, since)
            # Each payout uses up `target` steps: a cap of 2 a week needs 2 x target steps that week.
            if done < challenge.target * (already + 1):
                continue
            ctx.member.account.credit(challenge.points, LedgerReason.TASK, ctx.now, ctx.brand.expiry_for(ctx.now),
                                      member.label, f"挑战完成 · {challenge.name}",
                                      f"task:{challenge.code}:{period}")
            await ctx.uow.tasks.add_completion(ctx.member.id, challenge.code, period, ctx.now)

    async def save(self, staff: Actor, task: Task, *, create: bool) -> Task:
        async def work(uow: "UnitOfWork") -> Task:
            exists = await uow.tasks.get(task.code) is not None
            check_presence(exists, create=create, what="task", code=task.code)
            await uow.tasks.put(task)
            await uow.audit.record(staff.label, "task.create" if create else "task.update", task.code,
                                   {"name": task.name, "points": task.points, "period": task.period.value,
                                    "cap": task.cap, "enabled": task.enabled,
                                    "confirmedBy": task.confirmed_by.value}, self.clock.now())
            return task

        return await self.transactions.write(work)


async def ticket_keys(uow: "UnitOfWork") -> TicketKeys | None:
    record = await uow.settings.get(TICKETS_KEY)
    return TicketKeys.from_record(record) if record else None
