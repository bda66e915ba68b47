"""Points as a discount on an ordinary order, shipping or a service fee (积分抵现)."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_member, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member, resolve_member_id
from api.graphql.scalars import Long
from domain import deductions
from domain.errors import DomainError

DeductionPurpose = strawberry.enum(deductions.DeductionPurpose, description="What the points pay towards.")


@strawberry.type(description="How many points a member can apply to an amount, and what they are worth.")
class DeductionQuote:
    points: Long
    fen: Long


@strawberry.type(description="How points pay for orders: the rate, the cap and the smallest order that qualifies.")
class DeductionRule:
    points_per_yuan: int
    max_percent: int
    min_order_fen: int


@strawberry.input
class UpdateDeductionRuleInput:
    points_per_yuan: int
    max_percent: int
    min_order_fen: int


@strawberry.type
class UpdateDeductionRulePayload:
    rule: DeductionRule | None
    user_errors: list[UserError]


def rule_type(rule: deductions.DeductionRule) -> DeductionRule:
    return DeductionRule(points_per_yuan=rule.points_per_yuan, max_percent=rule.max_percent,
                         min_order_fen=rule.min_order_fen)


@strawberry.input
class ApplyDeductionInput:
    order_id: str
    order_amount_fen: int
    points: int
    purpose: DeductionPurpose = deductions.DeductionPurpose.ORDER  # type: ignore[valid-type]
    idempotency_key: str


@strawberry.type
class ApplyDeductionPayload:
    member: MemberType | None
    entry: LedgerEntry | None
    deducted_fen: Long = strawberry.field(description="The discount the points bought, in fen.")
    points_used: Long
    user_errors: list[UserError]


@strawberry.input
class RefundDeductionInput:
    member_id: strawberry.ID
    order_id: str
    purpose: DeductionPurpose = deductions.DeductionPurpose.ORDER  # type: ignore[valid-type]
    idempotency_key: str


@strawberry.type
class DeductionQueries:
    @strawberry.field(description="Member: the largest deduction the rules and your points allow on an amount.")
    async def best_deduction(self, info: Info, order_amount_fen: int) -> DeductionQuote:
        member = require_member(info)
        points, fen = await info.context.services.deductions.best(member.member_id, order_amount_fen)
        return DeductionQuote(points=points, fen=fen)

    @strawberry.field(description="The rule deductions follow (public: pages show it).")
    async def deduction_rule(self, info: Info) -> DeductionRule:
        return rule_type(await info.context.services.deductions.rule())


@strawberry.type
class DeductionMutations:
    @strawberry.mutation(description="Staff: change the deduction rate, cap and minimum order.")
    async def update_deduction_rule(self, info: Info, input: UpdateDeductionRuleInput) -> UpdateDeductionRulePayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.deductions.update_rule(staff.actor, deductions.DeductionRule(
                input.points_per_yuan, input.max_percent, input.min_order_fen))
        except DomainError as error:
            return UpdateDeductionRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateDeductionRulePayload(rule=rule_type(rule), user_errors=[])

    @strawberry.mutation(description="Member: pay part of an order with points (100 points = 1 yuan, capped).")
    async def apply_deduction(self, info: Info, input: ApplyDeductionInput) -> ApplyDeductionPayload:
        member = require_member(info)
        service = info.context.services.deductions
        try:
            outcome = await service.apply(member.actor, member.member_id, input.order_id, input.order_amount_fen,
                                          input.points, deductions.DeductionPurpose(input.purpose.value),
                                          input.idempotency_key)
        except DomainError as error:
            return ApplyDeductionPayload(member=None, entry=None, deducted_fen=0, points_used=0,
                                         user_errors=user_errors(error))
        deduction = await service.get(outcome.subject_id) if outcome.subject_id else None
        return ApplyDeductionPayload(member=fresh_member(info, member.member_id),
                                     entry=entry_type(outcome.entry), deducted_fen=deduction.fen if deduction else 0,
                                     points_used=deduction.points if deduction else 0,
                                     user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Staff/system: the order was refunded; the deducted points come back.")
    async def refund_deduction(self, info: Info, input: RefundDeductionInput) -> ApplyDeductionPayload:
        system = require_staff(info)
        try:
            member_id = await resolve_member_id(info, input.member_id)
            outcome = await info.context.services.deductions.refund(
                system.actor, member_id, input.order_id, deductions.DeductionPurpose(input.purpose.value),
                input.idempotency_key)
        except DomainError as error:
            return ApplyDeductionPayload(member=None, entry=None, deducted_fen=0, points_used=0,
                                         user_errors=user_errors(error))
        return ApplyDeductionPayload(member=fresh_member(info, member_id), entry=entry_type(outcome.entry),
                                     deducted_fen=0, points_used=0, user_errors=user_errors(outcome.error))
