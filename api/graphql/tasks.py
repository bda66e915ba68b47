"""Tasks: the catalogue (public), each member's progress, completing a task, staff management."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_member, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member, resolve_member_id
from domain import tasks
from domain.errors import DomainError

TaskPeriod = strawberry.enum(tasks.TaskPeriod, description="Caps reset at local midnight (DAILY) or Monday (WEEKLY).")
TaskKind = strawberry.enum(tasks.TaskKind)
TaskConfirmation = strawberry.enum(tasks.TaskConfirmation, description=(
    "MEMBER: pays on the member's word (low-value tasks). SERVER: staff complete it for a member, or the member "
    "presents a completion ticket the brand's server signed."))


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
    confirmed_by: TaskConfirmation  # type: ignore[valid-type]
    progress: TaskProgress | None = strawberry.field(description="Null unless a member asks.")

    @classmethod
    def of(cls, task: tasks.Task, progress: tasks.TaskProgress | None = None) -> "Task":
        return cls(code=task.code, name=task.name, description=task.description, kind=task.kind, points=task.points,
                   period=task.period, cap=task.cap, enabled=task.enabled, steps=list(task.steps), target=task.target,
                   confirmed_by=task.confirmed_by,
                   progress=TaskProgress(done=progress.done, completed=progress.completed,
                                         steps_done=progress.steps_done) if progress else None)


@strawberry.input
class CompleteTaskInput:
    task_code: str
    idempotency_key: str
    ticket: str | None = strawberry.field(default=None, description=(
        "For a SERVER task: the completion ticket the brand's server signed for this member and task "
        "(see docs/tasks.md). Used once."))


@strawberry.input
class CompleteTaskForInput:
    member_id: strawberry.ID
    task_code: str
    idempotency_key: str


@strawberry.type
class RotateTaskTicketKeyPayload:
    key_id: str | None
    secret: str | None = strawberry.field(description="Shown once: the brand's server signs tickets with it.")
    user_errors: list[UserError]


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
    confirmed_by: TaskConfirmation = tasks.TaskConfirmation.MEMBER  # type: ignore[valid-type]


@strawberry.type
class TaskPayload:
    task: Task | None
    user_errors: list[UserError]


async def save(info: Info, data: TaskInput, *, create: bool) -> TaskPayload:
    staff = require_staff(info)
    try:
        task = tasks.Task(data.code, data.name.strip(), tasks.TaskKind(data.kind.value), data.points,
                          tasks.TaskPeriod(data.period.value), data.cap, data.description.strip(), data.enabled,
                          data.position, tuple(data.steps[:21]), data.target,
                          tasks.TaskConfirmation(data.confirmed_by.value))
        saved = await info.context.services.tasks.save(staff.actor, task, create=create)
    except DomainError as error:
        return TaskPayload(task=None, user_errors=user_errors(error))
    return TaskPayload(task=Task.of(saved), user_errors=[])


def completed(info: Info, member_id: int, outcome) -> CompleteTaskPayload:
    return CompleteTaskPayload(member=fresh_member(info, member_id), entry=entry_type(outcome.entry),
                               entries=[entry_type(e) for e in outcome.entries], user_errors=user_errors(outcome.error))


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
                                                                 input.idempotency_key, input.ticket)
        except DomainError as error:
            return CompleteTaskPayload(member=None, entry=None, entries=[], user_errors=user_errors(error))
        return completed(info, member.member_id, outcome)

    @strawberry.mutation(description="Staff: a member did a task (any task, SERVER-confirmed ones included).")
    async def complete_task_for(self, info: Info, input: CompleteTaskForInput) -> CompleteTaskPayload:
        staff = require_staff(info)
        try:
            member_id = await resolve_member_id(info, input.member_id)
            outcome = await info.context.services.tasks.complete(staff.actor, member_id, input.task_code,
                                                                 input.idempotency_key)
        except DomainError as error:
            return CompleteTaskPayload(member=None, entry=None, entries=[], user_errors=user_errors(error))
        return completed(info, member_id, outcome)

    @strawberry.mutation(description="Staff: a new key for signing completion tickets; the previous key still "
                                     "verifies tickets until the next rotation.")
    async def rotate_task_ticket_key(self, info: Info) -> RotateTaskTicketKeyPayload:
        staff = require_staff(info)
        key = await info.context.services.tasks.rotate_ticket_key(staff.actor)
        return RotateTaskTicketKeyPayload(key_id=key.key_id, secret=key.secret, user_errors=[])

    @strawberry.mutation(description="Staff: add a task.")
    async def create_task(self, info: Info, input: TaskInput) -> TaskPayload:
        return await save(info, input, create=True)

    @strawberry.mutation(description="Staff: change a task (by code); `enabled: false` takes it off the list.")
    async def update_task(self, info: Info, input: TaskInput) -> TaskPayload:
        return await save(info, input, create=False)
