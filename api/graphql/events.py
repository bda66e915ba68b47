"""Events from the brand's other systems and the staff-defined rules that turn them into points."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, LedgerReason, entry_type
from api.graphql.members import MemberType, fresh_member, member_key
from domain import events
from domain.errors import DomainError
from domain.ledger import LedgerReason as DomainReason

Beneficiary = strawberry.enum(events.Beneficiary, description="Who an event pays: the member, or their inviter.")


@strawberry.type(description="How one event type earns (or, with `revokes`, takes back) points.")
class EventRule:
    event_type: str
    name: str
    points: int
    reason: LedgerReason  # type: ignore[valid-type]
    beneficiary: Beneficiary  # type: ignore[valid-type]
    daily_cap: int | None = strawberry.field(description="Most points one beneficiary earns from it per local day.")
    revokes: str | None = strawberry.field(description="The event type whose points this event takes back.")
    revoke_within_days: int
    match_attribute: str | None = strawberry.field(description="Attribute that pairs events, e.g. groupId.")
    enabled: bool

    @classmethod
    def of(cls, r: events.EventRule) -> "EventRule":
        return cls(event_type=r.event_type, name=r.name, points=r.points, reason=r.reason, beneficiary=r.beneficiary,
                   daily_cap=r.daily_cap, revokes=r.revokes, revoke_within_days=r.revoke_within_days,
                   match_attribute=r.match_attribute, enabled=r.enabled)


@strawberry.input
class EventRuleInput:
    event_type: str
    name: str
    points: int = 0
    reason: LedgerReason = DomainReason.TASK  # type: ignore[valid-type]
    beneficiary: Beneficiary = events.Beneficiary.MEMBER  # type: ignore[valid-type]
    daily_cap: int | None = None
    revokes: str | None = None
    revoke_within_days: int = 0
    match_attribute: str | None = None
    enabled: bool = True


@strawberry.type
class EventRulePayload:
    rule: EventRule | None
    user_errors: list[UserError]


@strawberry.input
class EventAttributeInput:
    key: str
    value: str


@strawberry.input
class RecordEventInput:
    member_id: strawberry.ID = strawberry.field(description="Global id or the brand's member id.")
    event_type: str
    event_id: str = strawberry.field(description="Unique per event type: a repeat is DUPLICATE_EVENT.")
    attributes: list[EventAttributeInput] = strawberry.field(default_factory=list)
    idempotency_key: str


@strawberry.type
class RecordEventPayload:
    member: MemberType | None = strawberry.field(description="The member whose points moved (maybe the inviter).")
    entry: LedgerEntry | None = strawberry.field(description="Null when the event paid nothing (over the cap).")
    user_errors: list[UserError]


@strawberry.type
class EventQueries:
    @strawberry.field(description="Staff: the earning rules for outside events.")
    async def event_rules(self, info: Info) -> list[EventRule]:
        require_staff(info)
        return [EventRule.of(r) for r in await info.context.services.events.rules()]


@strawberry.type
class EventMutations:
    @strawberry.mutation(description="Staff: create or change the rule for one event type.")
    async def save_event_rule(self, info: Info, input: EventRuleInput) -> EventRulePayload:
        staff = require_staff(info)
        try:
            rule = events.EventRule(
                input.event_type, input.name.strip(), input.points, DomainReason(input.reason.value),
                events.Beneficiary(input.beneficiary.value), input.daily_cap, input.revokes,
                input.revoke_within_days, input.match_attribute, input.enabled)
            saved = await info.context.services.events.save_rule(staff.actor, rule)
        except DomainError as error:
            return EventRulePayload(rule=None, user_errors=user_errors(error))
        return EventRulePayload(rule=EventRule.of(saved), user_errors=[])

    @strawberry.mutation(description="Staff/system: something happened in a group chat, live stream or store.")
    async def record_event(self, info: Info, input: RecordEventInput) -> RecordEventPayload:
        system = require_staff(info)
        services = info.context.services
        try:
            attributes = {a.key: a.value for a in input.attributes[:events.MAX_ATTRIBUTES + 1]}
            await services.events.preflight(input.event_type, input.event_id, attributes)
            member = await services.members.ensure(await member_key(input.member_id))
            outcome = await services.events.record(system.actor, member.id, input.event_type, input.event_id,
                                                   attributes, input.idempotency_key)
        except DomainError as error:
            return RecordEventPayload(member=None, entry=None, user_errors=user_errors(error))
        return RecordEventPayload(member=fresh_member(info, outcome.member_id), entry=entry_type(outcome.entry),
                                  user_errors=user_errors(outcome.error))
