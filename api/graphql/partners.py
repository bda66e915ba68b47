"""Partner brands: rates, members' exchanges, the partner's confirmations, settlement, staff terms."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql.errors import (BadUserInput, Forbidden, UserError, caller, may_see_private, require_member,
                                require_partner, require_staff, user_errors)
from api.graphql.members import MemberType, fresh_member
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.relay import Connection, Node, check_first, connection, decode_cursor, int_key, to_global_id
from api.graphql.scalars import Long
from domain import partners
from domain.errors import DomainError, InvalidInput, NotFound

ExchangeDirection = strawberry.enum(partners.ExchangeDirection,
                                    description="OUT: the member's points go to the partner; IN: they come from it.")
ExchangeStatus = strawberry.enum(partners.ExchangeStatus,
                                 description="PENDING until the partner confirms (COMPLETED) or rejects (FAILED), "
                                             "or its window runs out (EXPIRED).")


@strawberry.type(description="What a partner's points are worth here: `points` of ours = `partnerPoints` of theirs.")
class ExchangeRate:
    partner_code: str
    partner_name: str
    points: int
    partner_points: int
    daily_points_per_member: int = strawberry.field(description="Points a member may exchange with this partner "
                                                                "per day, both directions together.")
    confirm_minutes: int = strawberry.field(description="How long an exchange waits for the partner to confirm.")
    min_tier_level: int = strawberry.field(description="Members below this tier may not exchange with the partner "
                                                       "(TIER_TOO_LOW).")


def rate_type(partner: partners.Partner) -> ExchangeRate:
    return ExchangeRate(partner_code=partner.code, partner_name=partner.name, points=partner.rate.points,
                        partner_points=partner.rate.partner_points,
                        daily_points_per_member=partner.daily_points_per_member,
                        confirm_minutes=partner.confirm_minutes, min_tier_level=partner.min_tier_level)


@strawberry.type(name="PartnerExchange", description="Points moving between a member and a partner brand.")
class ExchangeType(Node):
    _exchange: strawberry.Private[partners.PartnerExchange]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("PartnerExchange", self._exchange.id)

    @strawberry.field
    def partner_code(self) -> str:
        return self._exchange.partner_code

    @strawberry.field(description="The member and staff: the member's global id. The partner: a pseudonym that "
                                  "stands for the member at this partner only (stable, so exchanges group by "
                                  "member; never the brand's member id).")
    async def member_id(self, info: Info) -> strawberry.ID:
        if not may_see_private(info, self._exchange.member_id):
            return strawberry.ID(info.context.pseudonyms.of(f"partner:{self._exchange.partner_code}",
                                                            self._exchange.member_id))
        member = await info.context.loaders.members.load(self._exchange.member_id)
        return to_global_id("Member", member.external_id)

    @strawberry.field
    def direction(self) -> ExchangeDirection:  # type: ignore[valid-type]
        return self._exchange.direction

    @strawberry.field(description="The brand's points that move.")
    def points(self) -> int:
        return self._exchange.points

    @strawberry.field(description="The partner's points they are worth at the rate of the day.")
    def partner_points(self) -> int:
        return self._exchange.partner_points

    @strawberry.field
    def status(self) -> ExchangeStatus:  # type: ignore[valid-type]
        return self._exchange.status

    @strawberry.field(description="The member's account at the partner, as the member gave it.")
    def partner_account(self) -> str | None:
        return self._exchange.partner_account

    @strawberry.field(description="The partner's reference, given when it confirmed.")
    def partner_ref(self) -> str | None:
        return self._exchange.partner_ref

    @strawberry.field(description="Why the partner rejected it.")
    def failure_reason(self) -> str | None:
        return self._exchange.failure_reason

    @strawberry.field
    def created_at(self) -> datetime:
        return self._exchange.created_at

    @strawberry.field(description="Unconfirmed by then, the exchange expires (held points return).")
    def expires_at(self) -> datetime:
        return self._exchange.expires_at

    @strawberry.field
    def resolved_at(self) -> datetime | None:
        return self._exchange.resolved_at


@strawberry.type(description="The totals of one direction of a statement.")
class ExchangeTotals:
    exchanges: int
    points: Long
    partner_points: Long


@strawberry.type(description="A partner's settlement for one day (brand time zone): the exchanges completed in it.")
class SettlementStatement:
    _statement: strawberry.Private[partners.Statement]

    @strawberry.field
    def partner_code(self) -> str:
        return self._statement.partner_code

    @strawberry.field
    def day(self) -> date:
        return self._statement.day

    @strawberry.field(name="out", description="Points that went to the partner.")
    def points_out(self) -> ExchangeTotals:
        return totals_type(self._statement.out)

    @strawberry.field(name="in", description="Points that came from the partner.")
    def points_in(self) -> ExchangeTotals:
        return totals_type(self._statement.into)

    @strawberry.field(description="What the brand owes the partner for the day in fen (negative: the partner owes).")
    def net_fen(self) -> Long:
        return self._statement.net_fen

    @strawberry.field(description="Points out as the ledger's EXCHANGE_OUT entries of the day say.")
    def ledger_points_out(self) -> Long:
        return self._statement.ledger_points_out

    @strawberry.field(description="Points in as the ledger's EXCHANGE_IN entries of the day say.")
    def ledger_points_in(self) -> Long:
        return self._statement.ledger_points_in

    @strawberry.field(description="True when the exchanges and the ledger agree to the point.")
    def reconciled(self) -> bool:
        return self._statement.reconciled


def totals_type(totals: partners.ExchangeTotals) -> ExchangeTotals:
    return ExchangeTotals(exchanges=totals.count, points=totals.points, partner_points=totals.partner_points)


@strawberry.type(description="A partner's signing key; the secret is shown once, when the key is made.")
class PartnerKey:
    key_id: str
    created_at: datetime
    revoked_at: datetime | None


@strawberry.type(name="Partner", description="Staff: a partner brand and its terms.")
class PartnerType:
    _partner: strawberry.Private[partners.Partner]

    @strawberry.field
    def code(self) -> str:
        return self._partner.code

    @strawberry.field
    def name(self) -> str:
        return self._partner.name

    @strawberry.field
    def rate(self) -> ExchangeRate:
        return rate_type(self._partner)

    @strawberry.field(description="What 100 of the brand's points are worth when a day settles.")
    def fen_per_100_points(self) -> int:
        return self._partner.fen_per_100_points

    @strawberry.field
    def daily_points(self) -> int:
        return self._partner.daily_points

    @strawberry.field
    def enabled(self) -> bool:
        return self._partner.enabled

    @strawberry.field
    async def keys(self, info: Info) -> list[PartnerKey]:
        keys = await info.context.services.partners.keys_of(self._partner.code)
        return [PartnerKey(key_id=k.key_id, created_at=k.created_at, revoked_at=k.revoked_at) for k in keys]


def exchange_key(global_id: str) -> int:
    try:
        return int_key(global_id, "PartnerExchange")
    except BadUserInput as error:
        raise InvalidInput(error.message, ("exchangeId",)) from None


@strawberry.input
class ExchangePointsInput:
    partner_code: str
    direction: ExchangeDirection  # type: ignore[valid-type]
    points: int = strawberry.field(description="The brand's points; a multiple of the rate's `points`.")
    partner_account: str | None = strawberry.field(default=None,
                                                   description="Your account at the partner, if it needs one.")
    idempotency_key: str


@strawberry.input
class ConfirmExchangeInput:
    exchange_id: strawberry.ID
    partner_ref: str
    idempotency_key: str


@strawberry.input
class RejectExchangeInput:
    exchange_id: strawberry.ID
    reason: str
    idempotency_key: str


@strawberry.input
class ExchangeRateInput:
    points: int
    partner_points: int


@strawberry.input
class UpdatePartnerInput:
    code: str
    name: str | None = None
    rate: ExchangeRateInput | None = None
    fen_per_100_points: int | None = None
    daily_points_per_member: int | None = None
    daily_points: int | None = None
    confirm_minutes: int | None = None
    enabled: bool | None = None
    min_tier_level: int | None = None


@strawberry.input
class CreatePartnerInput:
    code: str
    name: str
    rate: ExchangeRateInput
    fen_per_100_points: int = 100
    daily_points_per_member: int = 10_000
    daily_points: int = 1_000_000
    confirm_minutes: int = 30
    min_tier_level: int = 1


@strawberry.input
class PartnerKeyInput:
    code: str


@strawberry.input
class RevokePartnerKeyInput:
    key_id: str


@strawberry.type(description="The new key's secret is in this payload and nowhere else, ever again.")
class PartnerKeyPayload:
    partner: PartnerType | None
    key_id: str | None
    secret: str | None
    user_errors: list[UserError]


@strawberry.type
class RevokePartnerKeyPayload:
    revoked: bool
    user_errors: list[UserError]


@strawberry.type
class ExchangePointsPayload:
    exchange: ExchangeType | None
    member: MemberType | None
    entry: LedgerEntry | None = strawberry.field(description="Null: nothing is spent until the partner confirms "
                                                             "(an OUT exchange holds the points meanwhile).")
    user_errors: list[UserError]


@strawberry.type
class PartnerExchangePayload:
    exchange: ExchangeType | None
    user_errors: list[UserError]


@strawberry.type
class UpdatePartnerPayload:
    partner: PartnerType | None
    user_errors: list[UserError]


async def exchange_of(info: Info, outcome) -> ExchangeType | None:
    if not outcome.subject_id:
        return None
    found = await info.context.services.partners.get_exchange(outcome.subject_id)
    return ExchangeType(_exchange=found) if found else None


def statement_partner(info: Info, partner_code: str | None) -> str:
    """Staff name the partner; a partner reads its own statements and no one else's."""
    who = caller(info)
    if who.is_partner:
        if partner_code not in (None, who.name):
            raise Forbidden("a partner sees only its own statements")
        return who.name
    require_staff(info)
    if partner_code is None:
        raise BadUserInput("staff name the partner: partnerCode")
    return partner_code


@strawberry.type
class PartnerQueries:
    @strawberry.field(description="The partners a member can exchange points with, and at what rate.")
    async def exchange_rates(self, info: Info) -> list[ExchangeRate]:
        return [rate_type(p) for p in await info.context.services.partners.all(enabled_only=True)]

    @strawberry.field(description="Partner callers only: your own exchanges, newest first.")
    async def partner_exchanges(self, info: Info, first: int, after: str | None = None,
                                status: ExchangeStatus | None = None  # type: ignore[valid-type]
                                ) -> Connection[ExchangeType]:
        partner = require_partner(info)
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.partners.exchanges(partner_code=partner.name, status=status,
                                                               before_id=before, limit=first + 1)
        return connection([ExchangeType(_exchange=e) for e in found], [e.id for e in found], first,
                          before is not None)

    @strawberry.field(description="Staff or the partner itself: one statement per day from `from` to `to` "
                                  "(at most 92 days).")
    async def settlement_statements(self, info: Info, from_: Annotated[date, strawberry.argument(name="from")],
                                    to: date, partner_code: str | None = None) -> list[SettlementStatement]:
        code = statement_partner(info, partner_code)
        found = await info.context.services.partners.statements(code, from_, to)
        return [SettlementStatement(_statement=s) for s in found]

    @strawberry.field(description="Staff: every partner brand with its terms and keys.")
    async def partners(self, info: Info) -> list[PartnerType]:
        require_staff(info)
        return [PartnerType(_partner=p) for p in await info.context.services.partners.all(enabled_only=False)]


@strawberry.type
class PartnerMutations:
    @strawberry.mutation(description="Member: exchange points with a partner brand at its rate. Two-phase: "
                                     "PENDING until the partner confirms.")
    async def exchange_points(self, info: Info, input: ExchangePointsInput) -> ExchangePointsPayload:
        member = require_member(info)
        try:
            outcome = await info.context.services.partners.exchange(
                member.actor, member.member_id, input.partner_code, input.direction, input.points,
                input.partner_account, input.idempotency_key)
        except DomainError as error:
            return ExchangePointsPayload(exchange=None, member=None, entry=None, user_errors=user_errors(error))
        return ExchangePointsPayload(exchange=await exchange_of(info, outcome),
                                     member=fresh_member(info, outcome.member_id),
                                     entry=entry_type(outcome.entry), user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Partner: your side is done; the points move here (EXCHANGE_OUT or "
                                     "EXCHANGE_IN).")
    async def confirm_exchange(self, info: Info, input: ConfirmExchangeInput) -> PartnerExchangePayload:
        partner = require_partner(info)
        try:
            outcome = await info.context.services.partners.confirm(
                partner.actor, exchange_key(input.exchange_id), input.partner_ref, input.idempotency_key)
        except DomainError as error:
            return PartnerExchangePayload(exchange=None, user_errors=user_errors(error))
        return PartnerExchangePayload(exchange=await exchange_of(info, outcome), user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Partner: your side failed; held points return to the member.")
    async def reject_exchange(self, info: Info, input: RejectExchangeInput) -> PartnerExchangePayload:
        partner = require_partner(info)
        try:
            outcome = await info.context.services.partners.reject(
                partner.actor, exchange_key(input.exchange_id), input.reason, input.idempotency_key)
        except DomainError as error:
            return PartnerExchangePayload(exchange=None, user_errors=user_errors(error))
        return PartnerExchangePayload(exchange=await exchange_of(info, outcome), user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Staff: add a partner brand; the payload shows its first key's secret once.")
    async def create_partner(self, info: Info, input: CreatePartnerInput) -> PartnerKeyPayload:
        staff = require_staff(info)
        try:
            partner, key = await info.context.services.partners.create(
                input.code, input.name, partners.ExchangeRate(input.rate.points, input.rate.partner_points),
                staff.actor, fen_per_100_points=input.fen_per_100_points,
                daily_points_per_member=input.daily_points_per_member, daily_points=input.daily_points,
                confirm_minutes=input.confirm_minutes, min_tier_level=input.min_tier_level)
        except DomainError as error:
            return PartnerKeyPayload(partner=None, key_id=None, secret=None, user_errors=user_errors(error))
        return PartnerKeyPayload(partner=PartnerType(_partner=partner), key_id=key.key_id, secret=key.secret,
                                 user_errors=[])

    @strawberry.mutation(description="Staff: another signing key for a partner (rotation); its secret shows once.")
    async def issue_partner_key(self, info: Info, input: PartnerKeyInput) -> PartnerKeyPayload:
        staff = require_staff(info)
        try:
            key = await info.context.services.partners.issue_key(input.code, staff.actor)
        except DomainError as error:
            return PartnerKeyPayload(partner=None, key_id=None, secret=None, user_errors=user_errors(error))
        partner = await info.context.services.partners.get(input.code)
        return PartnerKeyPayload(partner=PartnerType(_partner=partner), key_id=key.key_id, secret=key.secret,
                                 user_errors=[])

    @strawberry.mutation(description="Staff: revoke a partner's key; requests signed with it are refused at once.")
    async def revoke_partner_key(self, info: Info, input: RevokePartnerKeyInput) -> RevokePartnerKeyPayload:
        staff = require_staff(info)
        if not await info.context.services.partners.revoke_key(input.key_id[:40], staff.actor):
            return RevokePartnerKeyPayload(revoked=False, user_errors=user_errors(
                NotFound("no live key with that id", ("keyId",))))
        return RevokePartnerKeyPayload(revoked=True, user_errors=[])

    @strawberry.mutation(description="Staff: change a partner's terms. New exchanges use them; settled ones keep "
                                     "theirs.")
    async def update_partner(self, info: Info, input: UpdatePartnerInput) -> UpdatePartnerPayload:
        staff = require_staff(info)
        try:
            rate = partners.ExchangeRate(input.rate.points, input.rate.partner_points) if input.rate else None
            changes = partners.PartnerChanges(input.name, rate, input.fen_per_100_points,
                                              input.daily_points_per_member, input.daily_points,
                                              input.confirm_minutes, input.enabled, input.min_tier_level)
            partner = await info.context.services.partners.update(staff.actor, input.code, changes)
        except DomainError as error:
            return UpdatePartnerPayload(partner=None, user_errors=user_errors(error))
        return UpdatePartnerPayload(partner=PartnerType(_partner=partner), user_errors=[])
