"""Partner brands: signed requests, and points exchanged across programs in two phases.

A partner signs every request with a key id and a secret: ``X-Signature`` is the hex
HMAC-SHA256 of ``"{timestamp}.{nonce}.{raw body}"``. A request more than 300 s off the
clock, a nonce seen before or a signature that differs (compared in constant time) is refused;
a nonce is remembered only once the signature holds, so nobody can burn a partner's nonces.

An exchange moves a member's points at the partner's rate, in two phases:

* ``OUT`` (the member's points go to the partner): the points are held at once; the partner's
  ``confirmExchange`` spends the hold as one ``EXCHANGE_OUT`` entry, its ``rejectExchange`` or
  the confirmation window running out releases it.
* ``IN`` (the member brings points from the partner): nothing moves until the partner confirms
  that it took the points on its side; then one ``EXCHANGE_IN`` entry credits them (a lot that
  expires like earned points). A rejection or the window running out ends it with nothing moved.

Both directions count against a per-member and a per-partner daily limit (points of the
brand, in the brand's calendar day), pending and completed exchanges alike.

Settlement: a partner's day is the exchanges completed in it. Points out relieve the brand of a
liability the partner takes on, so the brand owes the partner their value; points in the other
way round. ``net_fen`` is the value of (points out - points in) at each exchange's agreed
settlement price, summed exactly and rounded half up once per statement. Every statement is also
recomputed from the ledger entries the exchanges wrote, so a statement that does not match the
ledger to the point says so.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import Enum
from fractions import Fraction
from typing import TYPE_CHECKING

from domain.brand import BrandSettings, brand_settings
from domain.configuration import SYSTEM, Actor, record_key
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import Hold, LedgerReason, require_positive_points
from domain.text import checked_text
from domain.tiers import tier_refusal

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}\Z")
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}\Z")
REF_PATTERN = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}\Z")
TIMESTAMP_PATTERN = re.compile(r"^[0-9]{1,12}\Z")  # ASCII digits: str.isdigit() also takes "²"
SIGNATURE_WINDOW = timedelta(seconds=300)
# A nonce can be replayed only while its timestamp is in the window, at most 600 s after it was seen.
NONCE_RETENTION = timedelta(minutes=15)
HOLD_REF_PREFIX = "exchange:"
MAX_RATE_TERM = 1_000_000
MAX_STATEMENT_DAYS = 92


class PartnerAuthError(Exception):
    """A partner request that is not authentic; the message is safe to send back."""


class ExchangeDirection(str, Enum):
    OUT = "OUT"
    IN = "IN"


class ExchangeStatus(str, Enum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class ExchangeRate:
    """``points`` of the brand's points are worth ``partner_points`` of the partner's."""

    points: int
    partner_points: int

    def __post_init__(self) -> None:
        if not (1 <= self.points <= MAX_RATE_TERM and 1 <= self.partner_points <= MAX_RATE_TERM):
            raise InvalidInput(f"both sides of a rate are 1-{MAX_RATE_TERM} points", ("rate",))

    @classmethod
    def parse(cls, text: str) -> "ExchangeRate":
        """``"10:1"`` (10 of ours for 1 of theirs), or one number: partner points per point of ours."""
        try:
            if ":" in text:
                ours, _, theirs = text.partition(":")
                return cls(int(ours), int(theirs))
            ratio = Fraction(text).limit_denominator(1000)
        except (ValueError, ZeroDivisionError):
            raise InvalidInput(f"a rate is 'ours:theirs' such as 10:1, or a number such as 0.1, not {text!r}",
                               ("rate",)) from None
        return cls(ratio.denominator, ratio.numerator)

    def partner_points_for(self, points: int) -> int:
        if points % self.points:
            raise InvalidInput(f"points must be a multiple of {self.points} at this rate", ("points",))
        return points // self.points * self.partner_points

    def __str__(self) -> str:
        return f"{self.points}:{self.partner_points}"


@dataclass
class Partner:
    code: str
    name: str
    rate: ExchangeRate
    created_at: datetime
    fen_per_100_points: int = 100  # what 100 of the brand's points are worth when the day settles
    daily_points_per_member: int = 10_000
    daily_points: int = 1_000_000
    confirm_minutes: int = 30
    enabled: bool = True
    min_tier_level: int = 1  # members below this tier may not exchange with the partner

    def __post_init__(self) -> None:
        if not CODE_PATTERN.match(self.code):
            raise InvalidInput("a partner code is 2-32 lowercase letters, digits, _ or -", ("code",))
        self.name = checked_text(self.name, "name", max_length=60, required=True)
        checks = ((0 <= self.fen_per_100_points <= 100_000, "fenPer100Points", "0-100000"),
                  (1 <= self.daily_points_per_member <= 100_000_000, "dailyPointsPerMember", "1-100000000"),
                  (1 <= self.daily_points <= 10_000_000_000, "dailyPoints", "1-10000000000"),
                  (1 <= self.confirm_minutes <= 7 * 24 * 60, "confirmMinutes", "1-10080"),
                  (1 <= self.min_tier_level <= 6, "minTierLevel", "1-6"))
        for ok, name, bounds in checks:
            if not ok:
                raise InvalidInput(f"{name} must be {bounds}", (name,))

    @property
    def actor(self) -> Actor:
        return Actor("partner", self.code)


@dataclass(frozen=True)
class PartnerKey:
    key_id: str
    partner_code: str
    secret: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass
class PartnerExchange:
    partner_code: str
    member_id: int
    direction: ExchangeDirection
    points: int
    partner_points: int
    fen_per_100_points: int
    created_at: datetime
    expires_at: datetime
    partner_account: str | None = None
    status: ExchangeStatus = ExchangeStatus.PENDING
    partner_ref: str | None = None
    failure_reason: str | None = None
    resolved_at: datetime | None = None
    id: int | None = None

    @property
    def ledger_ref(self) -> str:
        return f"{HOLD_REF_PREFIX}{self.id}"


@dataclass(frozen=True)
class ExchangeTotals:
    count: int = 0
    points: int = 0
    partner_points: int = 0
    value_centi_fen: int = 0  # sum of points x fen per 100 points: the exact value in hundredths of a fen


@dataclass(frozen=True)
class Statement:
    partner_code: str
    day: date
    out: ExchangeTotals
    into: ExchangeTotals
    ledger_points_out: int
    ledger_points_in: int

    @property
    def net_fen(self) -> int:
        """What the brand owes the partner for the day (negative: the partner owes the brand)."""
        net = self.out.value_centi_fen - self.into.value_centi_fen
        return (abs(net) + 50) // 100 * (1 if net >= 0 else -1)

    @property
    def reconciled(self) -> bool:
        return self.ledger_points_out == self.out.points and self.ledger_points_in == self.into.points


def sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()


def check_signature(key: PartnerKey | None, timestamp: str, signature: str, nonce: str, body: bytes,
                    now: datetime) -> None:
    if key is None or key.revoked_at is not None:
        raise PartnerAuthError("unknown or revoked partner key")
    if not TIMESTAMP_PATTERN.match(timestamp):
        raise PartnerAuthError("X-Timestamp must be unix seconds")
    if abs(now.timestamp() - int(timestamp)) > SIGNATURE_WINDOW.total_seconds():
        raise PartnerAuthError("X-Timestamp is more than 300 s off the server's clock")
    if not NONCE_PATTERN.match(nonce):
        raise PartnerAuthError("X-Nonce must be 8-64 letters, digits, _ or -")
    if not hmac.compare_digest(sign(key.secret, timestamp, nonce, body).encode(), signature.lower().encode()):
        raise PartnerAuthError("the signature does not match")


async def expire_exchange_for(uow: "UnitOfWork", hold: Hold, now: datetime) -> None:
    """An OUT exchange's hold timed out unconfirmed: the exchange expires (the member is locked)."""
    if not (hold.ref or "").startswith(HOLD_REF_PREFIX):
        return
    exchange = await uow.partners.exchange(int(hold.ref.removeprefix(HOLD_REF_PREFIX)))
    if exchange is not None and exchange.status is ExchangeStatus.PENDING:
        exchange.status, exchange.resolved_at = ExchangeStatus.EXPIRED, now
        await uow.partners.update_exchange(exchange)


def new_key(partner_code: str, at: datetime) -> PartnerKey:
    return PartnerKey(f"pk_{secrets.token_hex(8)}", partner_code, f"sk_{secrets.token_urlsafe(32)}", at)


@dataclass
class PartnerChanges:
    """What staff change on a partner; ``None`` leaves a field as it is."""

    name: str | None = None
    rate: ExchangeRate | None = None
    fen_per_100_points: int | None = None
    daily_points_per_member: int | None = None
    daily_points: int | None = None
    confirm_minutes: int | None = None
    enabled: bool | None = None
    min_tier_level: int | None = None
    changed: dict = field(init=False, default_factory=dict)

    def apply(self, partner: Partner) -> Partner:
        fields = {name: value for name, value in vars(self).items() if name != "changed" and value is not None}
        updated = replace(partner, **fields)
        self.changed = {record_key(name): str(value) if name == "rate" else value for name, value in fields.items()}
        return updated


class PartnerService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    # --- partners and their keys --------------------------------------------------------------

    async def create(self, partner_code: str, name: str, rate: ExchangeRate, actor: Actor = SYSTEM,
                     **terms) -> tuple[Partner, PartnerKey]:
        now = self.clock.now()
        partner = Partner(partner_code, name, rate, now, **terms)
        key = new_key(partner.code, now)

        async def work(uow: "UnitOfWork") -> tuple[Partner, PartnerKey]:
            if await uow.partners.get(partner.code) is not None:
                raise Refusal(ErrorCode.ALREADY_EXISTS, f"partner {partner.code} exists", ("code",))
            await uow.partners.add(partner)
            await uow.partners.add_key(key)
            await uow.audit.record(actor.label, "partner.create", partner.code,
                                   {"name": partner.name, "rate": str(rate), "keyId": key.key_id}, now)
            return partner, key

        return await self.transactions.write(work)

    async def issue_key(self, partner_code: str, actor: Actor = SYSTEM) -> PartnerKey:
        """Another key for a partner (rotation): the old keys keep working until revoked."""
        key = new_key(partner_code, self.clock.now())

        async def work(uow: "UnitOfWork") -> PartnerKey:
            if await uow.partners.get(partner_code) is None:
                raise NotFound(f"no partner {partner_code}", ("code",))
            await uow.partners.add_key(key)
            await uow.audit.record(actor.label, "partner.key.issue", partner_code, {"keyId": key.key_id}, key.created_at)
            return key

        return await self.transactions.write(work)

    async def revoke_key(self, key_id: str, actor: Actor = SYSTEM) -> bool:
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> bool:
            key = await uow.partners.key(key_id)
            if key is None or key.revoked_at is not None:
                return False
            await uow.partners.revoke_key(key_id, now)
            await uow.audit.record(actor.label, "partner.key.revoke", key.partner_code, {"keyId": key_id}, now)
            return True

        return await self.transactions.write(work)

    async def update(self, staff: Actor, partner_code: str, changes: PartnerChanges) -> Partner:
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> Partner:
            partner = await uow.partners.lock(partner_code)
            if partner is None:
                raise NotFound(f"no partner {partner_code}", ("code",))
            updated = changes.apply(partner)
            await uow.partners.update(updated)
            await uow.audit.record(staff.label, "partner.update", partner_code, changes.changed, now)
            return updated

        return await self.transactions.write(work)

    async def authenticate(self, key_id: str, timestamp: str, nonce: str, signature: str, body: bytes) -> str:
        """The code of the partner that signed this request, or PartnerAuthError."""
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> str:
            key = await uow.partners.key(key_id[:40])
            check_signature(key, timestamp, signature, nonce, body, now)
            partner = await uow.partners.get(key.partner_code)
            if partner is None or not partner.enabled:
                raise PartnerAuthError("this partner is disabled")
            if not await uow.partners.remember_nonce(key.key_id, nonce, now):
                raise PartnerAuthError("this nonce was used before")
            return partner.code

        return await self.transactions.write(work)

    async def get(self, partner_code: str) -> Partner | None:
        return await self.transactions.read(lambda uow: uow.partners.get(partner_code))

    async def all(self, *, enabled_only: bool) -> list[Partner]:
        partners = await self.transactions.read(lambda uow: uow.partners.all())
        return [p for p in partners if p.enabled or not enabled_only]

    async def keys_of(self, partner_code: str) -> list[PartnerKey]:
        return await self.transactions.read(lambda uow: uow.partners.keys_of(partner_code))

    # --- exchanges -----------------------------------------------------------------------------

    async def exchange(self, member: Actor, member_id: int, partner_code: str, direction: ExchangeDirection,
                       points: int, partner_account: str | None, key: str) -> "PointsOutcome":
        require_positive_points(points, ("points",))
        if partner_account is not None and not REF_PATTERN.match(partner_account):
            raise InvalidInput("partnerAccount must be 1-64 letters, digits or _.:@-", ("partnerAccount",))

        async def rule(ctx: "OperationContext") -> PartnerExchange:
            partner = await ctx.uow.partners.lock(partner_code)
            if partner is None or not partner.enabled:
                raise NotFound(f"no partner {partner_code[:32]!r} to exchange with", ("partnerCode",))
            if refusal := tier_refusal(ctx.member.tier_level, partner.min_tier_level,
                                       f"exchanging with {partner.name}", ("partnerCode",)):
                raise refusal
            partner_points = partner.rate.partner_points_for(points)
            expires_at = ctx.now + timedelta(minutes=partner.confirm_minutes)
            hold = ctx.member.account.place_hold(points, LedgerReason.EXCHANGE_OUT, ctx.now, expires_at) \
                if direction is ExchangeDirection.OUT else None
            await self._check_daily_limits(ctx, partner, points)
            exchange = PartnerExchange(partner.code, ctx.member.id, direction, points, partner_points,
                                       partner.fen_per_100_points, ctx.now, expires_at, partner_account)
            await ctx.uow.partners.add_exchange(exchange)
            if hold is not None:
                hold.ref = exchange.ledger_ref  # the hold is saved with the member, after this
            return exchange

        return await self.operations.run(
            actor=member, key=key, operation="exchangePoints", member_id=member_id, rule=rule,
            payload={"partner": partner_code, "direction": direction.value, "points": points,
                     "partnerAccount": partner_account})

    @staticmethod
    async def _check_daily_limits(ctx: "OperationContext", partner: Partner, points: int) -> None:
        """Under the member's lock and the partner's, so concurrent exchanges cannot both squeeze in."""
        since = ctx.brand.start_of_day_of(ctx.now)
        used = await ctx.uow.partners.points_since(partner.code, since, ctx.member.id)
        if used + points > partner.daily_points_per_member:
            raise Refusal(ErrorCode.DAILY_LIMIT_REACHED,
                          f"{max(0, partner.daily_points_per_member - used)} points left to exchange with "
                          f"{partner.name} today", ("points",))
        if await ctx.uow.partners.points_since(partner.code, since) + points > partner.daily_points:
            raise Refusal(ErrorCode.PARTNER_LIMIT_REACHED, f"{partner.name} takes no more exchanges today",
                          ("points",))

    async def confirm(self, partner: Actor, exchange_id: int, partner_ref: str, key: str) -> "PointsOutcome":
        if not REF_PATTERN.match(partner_ref):
            raise InvalidInput("partnerRef must be 1-64 letters, digits or _.:@-", ("partnerRef",))
        found = await self._own(partner, exchange_id)

        async def rule(ctx: "OperationContext") -> PartnerExchange:
            exchange = await self._pending(ctx, exchange_id)
            name = (await ctx.uow.partners.get(exchange.partner_code)).name
            memo = f"{'兑出' if exchange.direction is ExchangeDirection.OUT else '兑入'} · {name} " \
                   f"({exchange.partner_points} partner points)"
            account = ctx.member.account
            if exchange.direction is ExchangeDirection.OUT:
                hold = await ctx.uow.ledger.hold_by_ref(exchange.member_id, exchange.ledger_ref)
                account.settle_hold(hold, ctx.now, partner.label, memo, ref=exchange.ledger_ref)
            else:
                account.credit(exchange.points, LedgerReason.EXCHANGE_IN, ctx.now, ctx.brand.expiry_for(ctx.now),
                               partner.label, memo, exchange.ledger_ref)
            exchange.status, exchange.partner_ref, exchange.resolved_at = ExchangeStatus.COMPLETED, partner_ref, ctx.now
            await ctx.uow.partners.update_exchange(exchange)
            return exchange

        return await self.operations.run(actor=partner, key=key, operation="confirmExchange", rule=rule,
                                         member_id=found.member_id,
                                         payload={"exchange": exchange_id, "partnerRef": partner_ref})

    async def reject(self, partner: Actor, exchange_id: int, reason: str, key: str) -> "PointsOutcome":
        reason = checked_text(reason, "reason", max_length=200, required=True)
        found = await self._own(partner, exchange_id)

        async def rule(ctx: "OperationContext") -> PartnerExchange:
            exchange = await self._pending(ctx, exchange_id)
            if exchange.direction is ExchangeDirection.OUT:
                hold = await ctx.uow.ledger.hold_by_ref(exchange.member_id, exchange.ledger_ref)
                ctx.member.account.release_hold(hold, ctx.now)
            exchange.status, exchange.failure_reason, exchange.resolved_at = ExchangeStatus.FAILED, reason, ctx.now
            await ctx.uow.partners.update_exchange(exchange)
            return exchange

        return await self.operations.run(actor=partner, key=key, operation="rejectExchange", rule=rule,
                                         member_id=found.member_id, payload={"exchange": exchange_id, "reason": reason})

    async def _own(self, partner: Actor, exchange_id: int) -> PartnerExchange:
        """A partner sees only its own exchanges: another partner's is as good as absent."""
        found = await self.get_exchange(exchange_id)
        if found is None or found.partner_code != partner.name:
            raise NotFound("no such exchange", ("exchangeId",))
        return found

    @staticmethod
    async def _pending(ctx: "OperationContext", exchange_id: int) -> PartnerExchange:
        exchange = await ctx.uow.partners.exchange(exchange_id)  # again, under the member's lock
        if exchange.status is ExchangeStatus.PENDING and exchange.expires_at <= ctx.now:
            # An IN exchange holds nothing, so nothing timed it out: the late answer does.
            exchange.status, exchange.resolved_at = ExchangeStatus.EXPIRED, ctx.now
            await ctx.uow.partners.update_exchange(exchange)
        if exchange.status is not ExchangeStatus.PENDING:
            raise Refusal(ErrorCode.EXCHANGE_NOT_PENDING, f"the exchange is {exchange.status.value.lower()}",
                          ("exchangeId",))
        return exchange

    async def get_exchange(self, exchange_id: int) -> PartnerExchange | None:
        return await self.transactions.read(lambda uow: uow.partners.exchange(exchange_id))

    async def exchanges(self, *, partner_code: str | None = None, member_id: int | None = None,
                        status: ExchangeStatus | None = None, before_id: int | None, limit: int
                        ) -> list[PartnerExchange]:
        return await self.transactions.read(lambda uow: uow.partners.exchanges_page(
            partner_code=partner_code, member_id=member_id, status=status, before_id=before_id, limit=limit))

    async def expire_stale(self) -> int:
        """IN exchanges past their window end as EXPIRED; old nonces are forgotten."""
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> int:
            await uow.partners.forget_nonces_before(now - NONCE_RETENTION)
            return await uow.partners.expire_pending_in(now)

        return await self.transactions.write(work)

    # --- settlement ---------------------------------------------------------------------------

    async def statements(self, partner_code: str, first_day: date, last_day: date) -> list[Statement]:
        if last_day < first_day or (last_day - first_day).days >= MAX_STATEMENT_DAYS:
            raise InvalidInput(f"a statement covers 1-{MAX_STATEMENT_DAYS} days, from <= to", ("from", "to"))

        async def work(uow: "UnitOfWork") -> list[Statement]:
            if await uow.partners.get(partner_code) is None:
                raise NotFound(f"no partner {partner_code[:32]!r}", ("partnerCode",))
            brand = await brand_settings(uow)
            days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
            return [await _statement(uow, brand, partner_code, day) for day in days]

        return await self.transactions.read(work, heavy=True)


async def _statement(uow: "UnitOfWork", brand: BrandSettings, partner_code: str, day: date) -> Statement:
    start, end = brand.start_of_local_day(day), brand.start_of_local_day(day + timedelta(days=1))
    totals = await uow.partners.settlement_totals(partner_code, start, end)
    ledger = await uow.partners.ledger_totals(partner_code, start, end)
    return Statement(partner_code, day, totals.get(ExchangeDirection.OUT, ExchangeTotals()),
                     totals.get(ExchangeDirection.IN, ExchangeTotals()),
                     ledger.get(ExchangeDirection.OUT, 0), ledger.get(ExchangeDirection.IN, 0))
