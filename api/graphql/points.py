"""Staff adjustments of a member's points."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member, resolve_member_id
from domain.errors import DomainError


@strawberry.input
class AdjustPointsInput:
    member_id: strawberry.ID
    delta: int = strawberry.field(description="Positive to grant, negative to take; never below available.")
    memo: str = strawberry.field(description="Why; required, shown to the member and kept in the audit log.")
    idempotency_key: str


@strawberry.type
class AdjustPointsPayload:
    member: MemberType | None
    entry: LedgerEntry | None
    user_errors: list[UserError]


@strawberry.type
class PointsMutations:
    @strawberry.mutation(description="Staff: grant or take points (ADJUSTMENT), audited with the staff name.")
    async def adjust_points(self, info: Info, input: AdjustPointsInput) -> AdjustPointsPayload:
        staff = require_staff(info)
        try:
            member_id = await resolve_member_id(info, input.member_id)
            outcome = await info.context.services.points.adjust(
                staff.actor, member_id, input.delta, input.memo, input.idempotency_key)
        except DomainError as error:
            return AdjustPointsPayload(member=None, entry=None, user_errors=user_errors(error))
        return AdjustPointsPayload(member=fresh_member(info, member_id), entry=entry_type(outcome.entry),
                                   user_errors=user_errors(outcome.error))
