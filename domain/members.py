"""Members: identity from the brand's login service, growth and tier."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.clock import Clock
from domain.errors import InvalidInput
from domain.expiry import settle_member
from domain.ledger import NEVER, GrowthReason, PointsAccount
from domain.text import without_control_characters
from domain.tiers import TierChange, TierTable, months_after, tier_table

if TYPE_CHECKING:
    from domain.configuration import Actor
    from domain.ports import Transactions, UnitOfWork

EXTERNAL_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}\Z")
DEVICE_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")
PHONE_HASH_PATTERN = re.compile(r"^[A-Za-z0-9_=+/-]{16,128}\Z")
MAX_NICKNAME = 40


@dataclass(frozen=True)
class MemberSignals:
    """What the brand's server says about the device a member uses and their phone (hashed by the
    brand: Jifen never sees the number): one reward per device or phone, and shared devices flagged."""

    device_id: str | None = None
    phone_hash: str | None = None

    def __post_init__(self) -> None:
        if self.device_id is not None and not DEVICE_PATTERN.match(self.device_id):
            raise InvalidInput("deviceId must be 1-64 letters, digits or _.:-", ("deviceId",))
        if self.phone_hash is not None and not PHONE_HASH_PATTERN.match(self.phone_hash):
            raise InvalidInput("phoneHash must be 16-128 letters, digits or _=+/-", ("phoneHash",))


NO_SIGNALS = MemberSignals()


def validate_external_id(external_id: str) -> str:
    if not EXTERNAL_ID_PATTERN.match(external_id):
        raise InvalidInput("member id must be 1-64 letters, digits or _.:@-", ("memberId",))
    return external_id


def clean_nickname(nickname: str | None, external_id: str) -> str:
    nickname = without_control_characters(nickname or "").strip()
    return nickname[:MAX_NICKNAME] if nickname else f"会员{external_id[-4:]}"


@dataclass
class Member:
    id: int
    external_id: str
    nickname: str
    created_at: datetime
    tier_level: int
    account: PointsAccount
    next_due_at: datetime | None = None  # the earliest order release, hold timeout, lot expiry or upkeep date
    keep_until: datetime | None = None  # when upkeep next judges the tier; None for V1 or with upkeep off
    device_id: str | None = None
    phone_hash: str | None = None
    new_tier_changes: list[TierChange] = field(default_factory=list)

    @property
    def growth(self) -> int:
        return self.account.growth

    def note_signals(self, signals: MemberSignals) -> None:
        """Keep what the brand's server said last; a signal it did not send leaves the kept one."""
        self.device_id = signals.device_id or self.device_id
        self.phone_hash = signals.phone_hash or self.phone_hash

    def shares_a_device_with(self, other: "Member") -> bool:
        return bool(self.device_id and self.device_id == other.device_id
                    or self.phone_hash and self.phone_hash == other.phone_hash)

    def refresh_tier(self, tiers: TierTable, at: datetime) -> TierChange | None:
        """Growth reaching a higher tier raises the member at once; only upkeep (or a brand that lets
        refunds count at once) brings a tier down."""
        level = tiers.level_for(self.account.growth)
        return self._move_to(level, tiers, at) if level > self.tier_level else None

    def lower_to_growth(self, tiers: TierTable, at: datetime) -> TierChange | None:
        """After a refund, for brands whose refunds lower the tier at once: the tier growth now earns."""
        level = tiers.level_for(self.account.growth)
        return self._move_to(level, tiers, at) if level < self.tier_level else None

    def upkeep_due(self, at: datetime) -> bool:
        """Upkeep has something to do: a judgement due, or a tier above V1 without a period yet."""
        return self.keep_until <= at if self.keep_until is not None else self.tier_level > 1

    def apply_upkeep(self, tiers: TierTable, at: datetime) -> TierChange | None:
        """Judge the tier whose upkeep date has come (once per period: the date then moves on)."""
        upkeep = tiers.upkeep
        if self.tier_level == 1 or not upkeep.period_months:
            self.keep_until = None
            return None
        if self.keep_until is None:  # held from before upkeep applied to it: its first period starts now
            self._start_period(upkeep.keep_until(self.tier_level, at))
            return None
        if self.keep_until > at:
            return None
        start = self.keep_until
        while (following := months_after(start, upkeep.period_months)) <= at:
            start = following  # periods no sweep judged in time count as one: the member is not judged twice
        kept = tiers.kept_level(self.tier_level, self.account.period_growth)
        if kept == self.tier_level:
            self._start_period(following)
            return None
        if kept < len(tiers.tiers):
            ceiling = tiers.get(kept + 1).growth_threshold - 1
            # Growth left above the new tier's range would raise the member straight back on their next earning.
            self.account.take_back_growth(self.account.growth - ceiling, GrowthReason.TIER_UPKEEP, at,
                                          "system:upkeep", f"保级未达标 · V{self.tier_level} → V{kept}")
        return self._move_to(kept, tiers, at, period_start=start)

    def _move_to(self, level: int, tiers: TierTable, at: datetime,
                 period_start: datetime | None = None) -> TierChange:
        change = TierChange(self.id, self.tier_level, level, self.account.growth, at)
        self.tier_level = level
        self.new_tier_changes.append(change)
        self._start_period(tiers.upkeep.keep_until(level, period_start or at))
        return change

    def _start_period(self, keep_until: datetime | None) -> None:
        self.keep_until = keep_until
        self.account.period_growth = 0


MAX_KNOWN_IDS = 200_000  # brand ids mapped to ours in a process; one forgotten costs one read


class MemberService:
    def __init__(self, transactions: "Transactions", clock: Clock) -> None:
        self.transactions = transactions
        self.clock = clock
        # A brand's member id names the same member for ever (members are never deleted or renumbered),
        # so the mapping may be kept without asking the database whether it still holds.
        self.known_ids: dict[str, int] = {}

    async def signed_in(self, external_id: str, nickname: str | None = None,
                        signals: MemberSignals = NO_SIGNALS) -> tuple[int, Member | None]:
        """The member's id, and the member when finding the id meant reading them (a first request here,
        or the member's very first, which creates them). Most requests then read the member only if
        they need more than the id: a flash-sale attempt refused as sold out needs nothing else."""
        known = self.known_ids.get(external_id)
        if known is not None:
            return known, None
        member = await self.ensure(external_id, nickname, signals)
        self.known_ids[external_id] = member.id
        while len(self.known_ids) > MAX_KNOWN_IDS:
            del self.known_ids[next(iter(self.known_ids))]
        return member.id, member

    async def ensure(self, external_id: str, nickname: str | None = None,
                     signals: MemberSignals = NO_SIGNALS) -> Member:
        """The first authenticated request of a brand member creates them (V1, no points), with the
        device and phone their token names."""
        validate_external_id(external_id)
        member = await self.transactions.read(lambda uow: uow.members.get_by_external_id(external_id))
        if member is not None:
            return await self.settled(member)

        async def create(uow: "UnitOfWork") -> Member:
            level = (await tier_table(uow)).level_for(0)
            await uow.members.add_if_absent(external_id, clean_nickname(nickname, external_id), level,
                                            self.clock.now(), signals)
            created = await uow.members.get_by_external_id(external_id)
            assert created is not None
            return created

        return await self.transactions.write(create)

    async def set_signals(self, staff: "Actor", member_id: int, signals: MemberSignals) -> None:
        """What the brand's server says of a member's device and phone; a signal left out stays as it is."""
        async def work(uow: "UnitOfWork") -> None:
            member = await uow.members.lock(member_id)
            if member is None:
                raise InvalidInput("no such member", ("memberId",))
            member.note_signals(signals)
            await uow.members.save(member)
            await uow.audit.record(staff.label, "member.signals", member.external_id,
                                   {"deviceId": signals.device_id, "phoneHashSet": signals.phone_hash is not None},
                                   self.clock.now())

        await self.transactions.write(work)

    async def find(self, external_id: str) -> Member | None:
        member = await self.transactions.read(lambda uow: uow.members.get_by_external_id(external_id))
        return None if member is None else await self.settled(member)

    async def settled(self, member: Member) -> Member:
        """The member with whatever fell due applied, so a shown balance is one a spend would accept."""
        now = self.clock.now()
        if member.next_due_at is None or member.next_due_at > now:
            return member
        report = await self.transactions.write(lambda uow: settle_member(uow, member.id, now))
        if not report.changed:
            return member
        return await self.transactions.read(lambda uow: uow.members.get(member.id))


class PointsQueries:
    """Read side of a member's points that the member row alone does not answer."""

    def __init__(self, transactions: "Transactions", clock: Clock) -> None:
        self.transactions = transactions
        self.clock = clock

    async def lots(self, member_id: int) -> list[tuple[datetime, int]]:
        lots = await self.transactions.read(lambda uow: uow.ledger.open_lots(member_id))
        return sorted((expires_at, points) for expires_at, points in lots.items() if expires_at < NEVER)

    async def expiring_soon(self, member_id: int, days: int) -> int:
        if not 0 <= days <= 366:
            raise InvalidInput("days must be between 0 and 366", ("days",))

        async def work(uow: "UnitOfWork") -> int:
            member = await uow.members.get(member_id)
            if member is None:
                return 0
            member.account.lots = await uow.ledger.open_lots(member_id)
            now = self.clock.now()
            return member.account.expiring_between(now, now + timedelta(days=days))

        return await self.transactions.read(work)
