"""Typed user errors for mutation payloads, and the GraphQL errors for auth and malformed input."""
from __future__ import annotations

from enum import Enum

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from api.http.auth import Caller
from domain.errors import DomainError, ErrorCode

UserErrorCode = strawberry.enum(Enum("UserErrorCode", {c.name: c.value for c in ErrorCode}),
                                description="Stable codes clients can branch on.")


@strawberry.type(description="A problem the caller can fix, returned in the payload instead of raising.")
class UserError:
    field: list[str] | None
    message: str
    code: UserErrorCode  # type: ignore[valid-type]


def user_errors(error: DomainError | None) -> list[UserError]:
    if error is None:
        return []
    return [UserError(field=list(error.field) or None, message=error.message, code=UserErrorCode(error.code.value))]


class ApiError(GraphQLError):
    """An error we raise on purpose: its message is safe to show and never masked."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class LimitExceeded(ApiError):
    code = "LIMIT_EXCEEDED"


def caller(info: Info) -> Caller:
    return info.context.caller


def require_role(info: Info, role: str) -> Caller:
    """The caller, if signed in with ``role``; otherwise UNAUTHENTICATED or FORBIDDEN."""
    who = caller(info)
    if who.kind == "anonymous":
        raise Unauthenticated(f"sign in as {role} to do this")
    if who.kind != role:
        raise Forbidden(f"only {role} can do this")
    return who


def require_member(info: Info) -> Caller:
    return require_role(info, "member")


def require_staff(info: Info) -> Caller:
    return require_role(info, "staff")


def require_signed_in(info: Info) -> Caller:
    """A member or staff. A partner acts only through the fields made for partners."""
    who = caller(info)
    if who.kind == "anonymous":
        raise Unauthenticated("sign in to do this")
    if who.kind not in ("member", "staff"):
        raise Forbidden("only members and staff can do this")
    return who


def require_scope(info: Info, scope: str) -> Caller:
    """An integration token holding ``scope``, or staff (who may do anything an integration does)."""
    who = caller(info)
    if who.holds(scope):
        return who
    require_role(info, "integration")
    raise Forbidden(f"this integration's token lacks the {scope} scope")


def require_partner(info: Info) -> Caller:
    return require_role(info, "partner")


def may_see_private(info: Info, member_id: int) -> bool:
    """Whether the caller may read what belongs to one member (codes, notes, balances, ids): that
    member and staff. Objects reachable from public fields check it for their private parts."""
    who = caller(info)
    return who.is_staff or (who.is_member and who.member_id == member_id)


def require_private(info: Info, member_id: int, what: str) -> None:
    """Refuse anyone but the member and staff a field that is theirs alone (``what``: its name)."""
    if not may_see_private(info, member_id):
        raise Forbidden(f"{what} are the member's and staff's only")
