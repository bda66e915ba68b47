"""Small imports through GraphQL (at most 1,000 rows a call), by the rules of `jifen import`."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_scope, user_errors
from domain.errors import DomainError
from domain.imports import ImportKind, ImportReport

IMPORT_SCOPE = "import"


@strawberry.input(description="A member as the brand's earlier system held them.")
class ImportMemberRow:
    member_id: str = strawberry.field(description="The brand's member id (the member token's subject).")
    nickname: str | None = None
    joined_at: datetime | None = None
    growth: int = strawberry.field(default=0, description="成长值 carried over: the tier follows the thresholds.")
    points: int = strawberry.field(default=0, description="The balance, as one lot.")
    points_expire_at: datetime | None = strawberry.field(
        default=None, description="When those points expire (null: the brand's rule, from the import).")


@strawberry.input(description="A lot of an existing member's balance: points and their expiry.")
class ImportBalanceRow:
    member_id: str
    points: int
    expires_at: datetime | None = strawberry.field(
        default=None, description="Null: the brand's rule, from the import. One lot a member and date.")
    memo: str | None = None


@strawberry.input(description="An order from the brand's history: recorded for segments and store figures, "
                                  "earning nothing.")
class ImportOrderRow:
    order_id: str
    member_id: str
    amount_fen: int
    placed_at: datetime
    channel: str = strawberry.field(default="ONLINE", description="ONLINE or OFFLINE_STORE.")
    store_id: str | None = None
    refunded_fen: int = 0


@strawberry.input(description="An event from the brand's systems, paid by the event earning rules.")
class ImportEventRow:
    event_id: str
    member_id: str
    event_type: str
    attributes: str | None = strawberry.field(default=None, description="A JSON object of text values.")


@strawberry.input
class ImportOrdersInput:
    rows: list[ImportOrderRow]


@strawberry.input
class ImportEventsInput:
    rows: list[ImportEventRow]


@strawberry.input
class ImportMembersInput:
    rows: list[ImportMemberRow]


@strawberry.input
class ImportBalancesInput:
    rows: list[ImportBalanceRow]


@strawberry.type(description="A row that was not imported: its position in `rows` (from 1) and why.")
class ImportRejection:
    row: int
    reason: str


@strawberry.type
class ImportPayload:
    imported: int = strawberry.field(description="Rows written now.")
    already_there: int = strawberry.field(description="Rows imported before (by member id; a lot by member "
                                                      "and expiry): left as they are.")
    rejected: list[ImportRejection]
    user_errors: list[UserError]


def _record(row) -> dict:
    return {name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in vars(row).items() if value is not None}


def _payload(report: ImportReport) -> ImportPayload:
    return ImportPayload(imported=report.imported, already_there=report.already_there,
                         rejected=[ImportRejection(row=r.line, reason=r.reason) for r in report.rejected],
                         user_errors=[])


async def _import(info: Info, kind: ImportKind, rows: list) -> ImportPayload:
    require_scope(info, IMPORT_SCOPE)
    try:
        return _payload(await info.context.services.imports.rows(kind, [_record(row) for row in rows]))
    except DomainError as error:
        return ImportPayload(imported=0, already_there=0, rejected=[], user_errors=user_errors(error))


@strawberry.type
class ImportMutations:
    @strawberry.mutation(description="Staff or an integration (scope import): up to 1,000 members in one "
                                     "transaction, as `jifen import members` imports them.")
    async def import_members(self, info: Info, input: ImportMembersInput) -> ImportPayload:
        return await _import(info, ImportKind.MEMBERS, input.rows)

    @strawberry.mutation(description="Staff or an integration (scope import): up to 1,000 opening lots of "
                                     "existing members, as `jifen import balances` imports them.")
    async def import_balances(self, info: Info, input: ImportBalancesInput) -> ImportPayload:
        return await _import(info, ImportKind.BALANCES, input.rows)

    @strawberry.mutation(description="Staff or an integration (scope import): up to 1,000 orders of history, as "
                                     "`jifen import orders` imports them (by order id; they earn nothing).")
    async def import_orders(self, info: Info, input: ImportOrdersInput) -> ImportPayload:
        return await _import(info, ImportKind.ORDERS, input.rows)

    @strawberry.mutation(description="Staff or an integration (scope import): up to 1,000 events through the event "
                                     "earning rules, as `jifen import events` (by type and id, each once).")
    async def import_events(self, info: Info, input: ImportEventsInput) -> ImportPayload:
        return await _import(info, ImportKind.EVENTS, input.rows)
