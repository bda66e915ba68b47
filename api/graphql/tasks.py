"""Tasks: the catalogue (public), each member's progress, completing a task, staff management."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_member, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member
from domain import tasks
from domain.errors import DomainError

TaskPeriod = strawberry.enum(tasks.TaskPeriod, description="Caps reset at local midnight (DAILY) or Monday (WEEKLY).")
TaskKind = strawberry.enum(tasks.TaskKind)


@strawberry.type(description="The caller's progress in the current period.")
class TaskProgress:
    done: int
    completed: bool
    steps_done: int = strawberry.field(description="For a challenge: step tasks done this period.")


@strawberry.type
class Task:
    code: str
    name: str
    description: str
    kind: TaskKind  # type: ignore[valid-type]
    points: int
    period: TaskPeriod  # type: ignore[valid-type]
    cap: int = strawberry.field(description="How many times the task pays per period.")
    enabled: bool
    steps: list[str] = strawberry.field(description="For a challenge: the tasks that count towards it.")
    target: int = strawberry.field(description="For a challenge: step completions needed per payout.")
    progress: TaskProgress | None = strawberry.field(description="Null unless a member asks.")

    @classmethod
    def of(cls, task: tasks.Task, progress: tasks.TaskProgress | None = None) -> "Task":
        return cls(code=task.code, name=task.name, description=task.description, kind=task.kind, points=task.points,
                   period=task.period, cap=task.cap, enabled=task.enabled, steps=list(task.steps), target=task.target,
                   progress=TaskProgress(done=progress.done, completed=progress.completed,
                                         steps_done=progress.steps_done) if progress else None)


@strawberry.input
class CompleteTaskInput:
    task_code: str
    idempotency_key: str


@strawberry.type
class CompleteTaskPayload:
    member: MemberType | None
    entry: LedgerEntry | None
    entries: list[LedgerEntry]
    user_errors: list[UserError]


@strawberry.input
class TaskInput:
    code: str
    name: str
    kind: TaskKind  # type: ignore[valid-type]
    points: int
    period: TaskPeriod  # type: ignore[valid-type]
    cap: int = 1
    description: str = ""
    enabled: bool = True
    position: int = 0
    steps: list[str] = strawberry.field(default_factory=list, description="Makes the task a challenge.")
    target: int = 0


@strawberry.type
class TaskPayload:
    task: Task | None
    user_errors: list[UserError]


async def save(info: Info, data: TaskInput, *, create: bool) -> TaskPayload:
    staff = require_staff(info)
    try:
        task = tasks.Task(data.code, data.name.strip(), tasks.TaskKind(data.kind.value), data.points,
                          tasks.TaskPeriod(data.period.value), data.cap, data.description.strip(), data.enabled,
                          data.position, tuple(data.steps[:21]), data.target)
        saved = await info.context.services.tasks.save(staff.actor, task, create=create)
    except DomainError as error:
        return TaskPayload(task=None, user_errors=user_errors(error))
    return TaskPayload(task=Task.of(saved), user_errors=[])


@strawberry.type
class TaskQueries:
    @strawberry.field(description="Running tasks; with the caller's progress when a member asks (staff see all).")
    async def tasks(self, info: Info) -> list[Task]:
        caller = info.context.caller
        service = info.context.services.tasks
        catalogue = await service.catalogue(include_disabled=caller.is_staff)
        if not caller.is_member:
            return [Task.of(t) for t in catalogue]
        return [Task.of(p.task, p) for p in await service.progress(caller.member_id, catalogue)]


@strawberry.type
class TaskMutations:
    @strawberry.mutation(description="Member: report a task done; pays up to the task's cap per period.")
    async def complete_task(self, info: Info, input: CompleteTaskInput) -> CompleteTaskPayload:
        member = require_member(info)
        try:
            outcome = await info.context.services.tasks.complete(member.actor, member.member_id, input.task_code,
                                                                 input.idempotency_key)
        except DomainError as error:
            return CompleteTaskPayload(member=None, entry=None, entries=[], user_errors=user_errors(error))
        return CompleteTaskPayload(member=fresh_member(info, member.member_id), entry=entry_type(outcome.entry),
                                   entries=[entry_type(e) for e in outcome.entries],
                                   user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Staff: add a task.")
    async def create_task(self, info: Info, input: TaskInput) -> TaskPayload:
        return await save(info, input, create=True)

    @strawberry.mutation(description="Staff: change a task (by code); `enabled: false` takes it off the list.")
    async def update_task(self, info: Info, input: TaskInput) -> TaskPayload:
        return await save(info, input, create=False)
