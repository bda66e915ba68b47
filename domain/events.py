"""Events from the brand's other systems (group chats, live streams, stores) and the rules that pay them.

Staff define one rule per ``eventType``:
- it pays ``points`` to the member the event is about, or, with ``beneficiary = INVITER``, to the
  member named by the event's ``inviterId`` attribute (joining a group through an invitation);
- ``daily_cap`` bounds what one beneficiary earns from the rule per local day; events past the cap
  are recorded and pay nothing (the sending system is not told off for a busy chat);
- a rule that ``revokes`` another event type (leaving a group revokes joining it) takes back what
  the latest unrevoked matching event paid, if it happened within ``revoke_within_days``. Events
  match when they concern the same member and carry the same ``match_attribute`` value (the group).

Every ``eventId`` counts once per event type: a repeat is ``DUPLICATE_EVENT``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain.configuration import Actor
from domain.errors import Conflict, ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import LedgerReason
from domain.text import checked_text

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}\Z")
EVENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")
MAX_ATTRIBUTES = 10
MAX_ATTEMPTS = 3
PAYABLE = frozenset({LedgerReason.TASK, LedgerReason.INVITE, LedgerReason.CAMPAIGN_BONUS})


class Beneficiary(str, Enum):
    MEMBER = "MEMBER"
    INVITER = "INVITER"


@dataclass(frozen=True)
class EventRule:
    event_type: str
    name: str
    points: int = 0
    reason: LedgerReason = LedgerReason.TASK
    beneficiary: Beneficiary = Beneficiary.MEMBER
    daily_cap: int | None = None
    revokes: str | None = None
    revoke_within_days: int = 0
    match_attribute: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if not CODE_PATTERN.match(self.event_type):
            raise InvalidInput("eventType must be 1-40 lowercase letters, digits, _ . or -", ("eventType",))
        checked_text(self.name, "name", max_length=60)
        if not 0 <= self.points <= 100_000:
            raise InvalidInput("points must be 0-100000", ("points",))
        if self.reason not in PAYABLE:
            raise InvalidInput("an event pays as TASK, INVITE or CAMPAIGN_BONUS", ("reason",))
        if self.daily_cap is not None and not 1 <= self.daily_cap <= 1_000_000:
            raise InvalidInput("dailyCap must be 1-1000000 points", ("dailyCap",))
        if self.revokes is not None:
            if not CODE_PATTERN.match(self.revokes) or self.revokes == self.event_type:
                raise InvalidInput("revokes names another event type", ("revokes",))
            if not 1 <= self.revoke_within_days <= 365:
                raise InvalidInput("revokeWithinDays must be 1-365", ("revokeWithinDays",))
        if self.match_attribute is not None and not CODE_PATTERN.match(self.match_attribute.lower()):
            raise InvalidInput("matchAttribute names an attribute", ("matchAttribute",))


@dataclass
class RecordedEvent:
    event_type: str
    event_id: str
    member_id: int
    beneficiary_id: int
    points: int
    match_value: str | None
    occurred_at: datetime
    revoked_at: datetime | None = None
    id: int | None = None


def validate_attributes(attributes: dict[str, str]) -> dict[str, str]:
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidInput(f"at most {MAX_ATTRIBUTES} attributes", ("attributes",))
    for key, value in attributes.items():
        checked_text(key, "attributes", max_length=40)
        checked_text(value, "attributes", max_length=200)
    return attributes


class EventService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def preflight(self, event_type: str, event_id: str, attributes: dict[str, str]) -> EventRule:
        """Everything that can be refused before anything is written (even before the member is created)."""
        if not EVENT_ID_PATTERN.match(event_id):
            raise InvalidInput("eventId must be 1-64 letters, digits or _.:-", ("eventId",))
        validate_attributes(attributes)
        rule = await self.transactions.read(lambda uow: uow.events.rule(event_type)) \
            if CODE_PATTERN.match(event_type) else None
        if rule is None or not rule.enabled:
            raise NotFound(f"no earning rule for event type {event_type[:40]!r}", ("eventType",))
        if rule.revokes and rule.match_attribute and not attributes.get(rule.match_attribute):
            raise InvalidInput(f"this event needs the attribute {rule.match_attribute}", ("attributes",))
        if rule.beneficiary is Beneficiary.INVITER and not attributes.get("inviterId"):
            raise InvalidInput("this event pays the inviter: attribute inviterId must name a member", ("attributes",))
        return rule

    async def record(self, system: Actor, member_id: int, event_type: str, event_id: str,
                     attributes: dict[str, str], key: str) -> "PointsOutcome":
        for _ in range(MAX_ATTEMPTS - 1):
            try:
                return await self._record(system, member_id, event_type, event_id, attributes, key)
            except Conflict:
                continue  # the matching event changed hands between the read and the lock: look again
        try:
            return await self._record(system, member_id, event_type, event_id, attributes, key)
        except Conflict:
            raise Refusal(ErrorCode.CONFLICT, "events for this member keep changing; send it again") from None

    async def _record(self, system: Actor, member_id: int, event_type: str, event_id: str,
                      attributes: dict[str, str], key: str) -> "PointsOutcome":
        rule = await self.preflight(event_type, event_id, attributes)
        match_attribute = rule.match_attribute or await self._revoker_match_attribute(event_type)
        match_value = attributes.get(match_attribute) if match_attribute else None
        beneficiary_id = await self._beneficiary(rule, member_id, attributes, match_value)
        payload = {"eventType": event_type, "eventId": event_id, "attributes": attributes, "memberId": member_id}

        async def rule_fn(ctx: "OperationContext") -> None:
            if await ctx.uow.events.get(event_type, event_id) is not None:
                raise Refusal(ErrorCode.DUPLICATE_EVENT, f"event {event_id} was already recorded", ("eventId",))
            event = RecordedEvent(event_type, event_id, member_id, ctx.member.id, 0, match_value, ctx.now)
            if rule.revokes:
                await self._revoke(ctx, rule, system, member_id, match_value)
            elif rule.points:
                event.points = await self._pay(ctx, rule, system, event_id)
            await ctx.uow.events.add(event)

        return await self.operations.run(actor=system, key=key, operation="recordEvent", member_id=beneficiary_id,
                                         payload=payload, rule=rule_fn)

    async def _revoker_match_attribute(self, event_type: str) -> str | None:
        """A join is paired with a later leave by the attribute the leave rule names (e.g. groupId)."""
        rules = await self.rules()
        return next((r.match_attribute for r in rules if r.revokes == event_type and r.match_attribute), None)

    async def _beneficiary(self, rule: EventRule, member_id: int, attributes: dict[str, str],
                           match_value: str | None) -> int:
        """Whose points move: the member, their inviter, or (revoking) whoever the earlier event paid."""
        if rule.revokes:
            earlier = await self.transactions.read(lambda uow: uow.events.latest_unrevoked(
                rule.revokes, member_id, match_value))
            return earlier.beneficiary_id if earlier else member_id
        if rule.beneficiary is Beneficiary.MEMBER:
            return member_id
        inviter = attributes.get("inviterId")
        found = await self.transactions.read(lambda uow: uow.members.get_by_external_id(inviter)) if inviter else None
        if found is None:
            raise InvalidInput("this event pays the inviter: attribute inviterId must name a member", ("attributes",))
        if found.id == member_id:
            raise Refusal(ErrorCode.SELF_INVITATION, "a member cannot invite themselves", ("attributes",))
        return found.id

    async def _pay(self, ctx: "OperationContext", rule: EventRule, system: Actor, event_id: str) -> int:
        points = rule.points
        if rule.daily_cap is not None:
            day_start = ctx.brand.start_of_day_of(ctx.now)
            paid_today = await ctx.uow.events.points_paid_since(rule.event_type, ctx.member.id, day_start)
            points = max(0, min(points, rule.daily_cap - paid_today))
        if points:
            ctx.member.account.credit(points, rule.reason, ctx.now, ctx.brand.expiry_for(ctx.now), system.label,
                                      rule.name, f"event:{rule.event_type}:{event_id}")
        return points

    async def _revoke(self, ctx: "OperationContext", rule: EventRule, system: Actor, member_id: int,
                      match_value: str | None) -> None:
        earlier = await ctx.uow.events.latest_unrevoked(rule.revokes, member_id, match_value)
        if earlier is None:
            return
        if earlier.beneficiary_id != ctx.member.id:
            raise Conflict("the event to revoke pays another member than the one locked")
        if ctx.now - earlier.occurred_at > timedelta(days=rule.revoke_within_days):
            return
        earlier.revoked_at = ctx.now
        await ctx.uow.events.update(earlier)
        if earlier.points:
            ctx.member.account.reverse(earlier.points, ctx.now, system.label, f"{rule.name} · 收回",
                                       f"event:{earlier.event_type}:{earlier.event_id}")

    async def rules(self) -> list[EventRule]:
        return await self.transactions.read(lambda uow: uow.events.rules())

    async def save_rule(self, staff: Actor, rule: EventRule) -> EventRule:
        async def work(uow: "UnitOfWork") -> EventRule:
            await uow.events.put_rule(rule)
            await uow.audit.record(staff.label, "event_rule.save", rule.event_type,
                                   {"points": rule.points, "dailyCap": rule.daily_cap, "revokes": rule.revokes,
                                    "enabled": rule.enabled}, self.clock.now())
            return rule

        return await self.transactions.write(work)
