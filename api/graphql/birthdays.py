"""Birthday gift (生日礼): set your birthday once, claim the gift once a year around it."""
from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_member, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member
from domain import birthdays
from domain.errors import DomainError


@strawberry.input
class SetBirthdayInput:
    birthday: date


@strawberry.type
class SetBirthdayPayload:
    birthday: date | None
    user_errors: list[UserError]


@strawberry.input
class ClaimBirthdayGiftInput:
    idempotency_key: str


@strawberry.type
class ClaimBirthdayGiftPayload:
    member: MemberType | None
    entry: LedgerEntry | None
    user_errors: list[UserError]


@strawberry.input
class UpdateBirthdayRuleInput:
    points: int
    window_days: int


@strawberry.type
class BirthdayRule:
    points: int = strawberry.field(description="Times the member's tier multiplier.")
    window_days: int


@strawberry.type
class UpdateBirthdayRulePayload:
    rule: BirthdayRule | None
    user_errors: list[UserError]


@strawberry.type
class BirthdayQueries:
    @strawberry.field
    async def birthday_rule(self, info: Info) -> BirthdayRule:
        rule = await info.context.services.transactions.read(birthdays.birthday_rule)
        return BirthdayRule(points=rule.points, window_days=rule.window_days)


@strawberry.type
class BirthdayMutations:
    @strawberry.mutation(description="Member: set your birthday (once; it cannot be changed later).")
    async def set_birthday(self, info: Info, input: SetBirthdayInput) -> SetBirthdayPayload:
        member = require_member(info)
        try:
            birthday = await info.context.services.birthdays.set_birthday(member.member_id, input.birthday)
        except DomainError as error:
            return SetBirthdayPayload(birthday=None, user_errors=user_errors(error))
        return SetBirthdayPayload(birthday=birthday, user_errors=[])

    @strawberry.mutation(description="Member: claim this year's birthday gift, in the days from your birthday.")
    async def claim_birthday_gift(self, info: Info, input: ClaimBirthdayGiftInput) -> ClaimBirthdayGiftPayload:
        member = require_member(info)
        try:
            outcome = await info.context.services.birthdays.claim(member.actor, member.member_id,
                                                                  input.idempotency_key)
        except DomainError as error:
            return ClaimBirthdayGiftPayload(member=None, entry=None, user_errors=user_errors(error))
        return ClaimBirthdayGiftPayload(member=fresh_member(info, member.member_id),
                                        entry=entry_type(outcome.entry), user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Staff: the gift's points and how many days it can be claimed.")
    async def update_birthday_rule(self, info: Info, input: UpdateBirthdayRuleInput) -> UpdateBirthdayRulePayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.birthdays.update_rule(
                staff.actor, birthdays.BirthdayRule(input.points, input.window_days))
        except DomainError as error:
            return UpdateBirthdayRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateBirthdayRulePayload(rule=BirthdayRule(points=rule.points, window_days=rule.window_days),
                                         user_errors=[])
