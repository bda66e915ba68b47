"""Staff: the audit log, newest first."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.errors import BadUserInput, require_staff
from api.graphql.relay import Connection, Node, check_first, connection, decode_cursor, to_global_id
from domain import audit
from domain.errors import DomainError


@strawberry.type(name="AuditRecord", description="One change: who made it, when, to what, and the new values.")
class AuditRecordType(Node):
    _record: strawberry.Private[audit.AuditRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("AuditRecord", self._record.id)

    @strawberry.field(description="`staff:<name>`, `partner:<code>` or `system:jifen` (the command line and jobs).")
    def actor(self) -> str:
        return self._record.actor

    @strawberry.field(description="What was done, such as `partner.update` or `settings.checkin.update`.")
    def action(self) -> str:
        return self._record.action

    @strawberry.field(description="What it was done to: a code, a member id, a settings key.")
    def target(self) -> str:
        return self._record.target

    @strawberry.field(description="The values the change set.")
    def details(self) -> JSON:
        return self._record.details

    @strawberry.field
    def at(self) -> datetime:
        return self._record.at


@strawberry.type
class AuditQueries:
    @strawberry.field(description="Staff: the audit log, newest first. `action` is exact, or a prefix ending in "
                                  "a dot (`partner.`).")
    async def audit_log(self, info: Info, first: int, after: str | None = None, actor: str | None = None,
                        action: str | None = None, target: str | None = None) -> Connection[AuditRecordType]:
        require_staff(info)
        check_first(first)
        before = decode_cursor(after)
        try:
            where = audit.AuditFilter(actor, action, target)
        except DomainError as error:
            raise BadUserInput(error.message) from None
        found = await info.context.services.audit.page(where, before, first + 1)
        return connection([AuditRecordType(_record=r) for r in found], [r.id for r in found], first,
                          before is not None)
