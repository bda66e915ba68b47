"""Membership tiers V1..V6: growth thresholds, earn multipliers and perks, configured per brand.

Growth reaching a tier's threshold raises the member to it at once. Coming down is upkeep (保级):
a tier reached is held for the upkeep period; at its end the member keeps it only with the growth
earned in that period that the tier's keep threshold asks for, and otherwise drops to the highest
tier whose keep threshold that growth meets.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain import configuration
from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.notifications import on_tier_refreshed
from domain.text import checked_text

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.configuration import Actor
    from domain.ports import Transactions, UnitOfWork

TIER_LEVELS = range(1, 7)
RETIER_BATCH = 500
MIN_MULTIPLIER_PERMILLE = 1000
MAX_MULTIPLIER_PERMILLE = 10000
MAX_UPKEEP_MONTHS = 60


MAX_BENEFITS = 10


class PerkKind(str, Enum):
    """Perks the system delivers (domain/perks.py); a tier's ``perks`` texts only describe."""

    MONTHLY_COUPON = "MONTHLY_COUPON"  # `quantity` coupons of a coupon item, into the wallet once a month
    FREE_SHIPPING = "FREE_SHIPPING"  # `quantity` orders' shipping a month, up to `max_fen` each
    EARLY_ACCESS = "EARLY_ACCESS"  # flash sales and member-day shelves open `minutes` earlier


@dataclass(frozen=True)
class Perk:
    kind: PerkKind
    name: str
    item_id: int | None = None  # MONTHLY_COUPON
    quantity: int = 1  # MONTHLY_COUPON coupons, FREE_SHIPPING orders, a month
    minutes: int = 0  # EARLY_ACCESS
    max_fen: int = 0  # FREE_SHIPPING: the most one order's shipping is worth

    def __post_init__(self) -> None:
        checked_text(self.name, "name", max_length=40)
        if self.kind is PerkKind.MONTHLY_COUPON and (self.item_id is None or not 1 <= self.quantity <= 10):
            raise InvalidInput("a monthly coupon names a coupon item and 1-10 coupons", ("benefits", "itemId"))
        if self.kind is PerkKind.FREE_SHIPPING and not (1 <= self.quantity <= 100 and 1 <= self.max_fen <= 100_000):
            raise InvalidInput("free shipping covers 1-100 orders a month, each up to 1-100000 fen",
                               ("benefits", "maxFen"))
        if self.kind is PerkKind.EARLY_ACCESS and not 1 <= self.minutes <= 1440:
            raise InvalidInput("early access is 1-1440 minutes", ("benefits", "minutes"))

    @property
    def key(self) -> str:
        """What a monthly grant is kept under: the same perk is granted once a month."""
        return f"{self.kind.value}:{self.item_id or ''}"

    def to_record(self) -> dict:
        return {"kind": self.kind.value, "name": self.name, "itemId": self.item_id, "quantity": self.quantity,
                "minutes": self.minutes, "maxFen": self.max_fen}

    @classmethod
    def from_record(cls, r: dict) -> "Perk":
        return cls(PerkKind(r["kind"]), r["name"], r.get("itemId"), r.get("quantity", 1), r.get("minutes", 0),
                   r.get("maxFen", 0))


@dataclass(frozen=True)
class Tier:
    level: int
    name: str
    growth_threshold: int
    earn_multiplier_permille: int
    perks: tuple[str, ...] = ()
    # Growth to earn within an upkeep period to keep the tier; None: half the growth threshold.
    keep_threshold: int | None = None
    benefits: tuple[Perk, ...] = ()

    def perk(self, kind: PerkKind) -> Perk | None:
        return next((p for p in self.benefits if p.kind is kind), None)

    @property
    def early_access(self) -> timedelta:
        perk = self.perk(PerkKind.EARLY_ACCESS)
        return timedelta(minutes=perk.minutes if perk else 0)

    @property
    def code(self) -> str:
        return f"V{self.level}"

    def to_record(self) -> dict:
        return {"level": self.level, "name": self.name, "growthThreshold": self.growth_threshold,
                "earnMultiplierPermille": self.earn_multiplier_permille, "perks": list(self.perks),
                "keepThreshold": self.keep_threshold, "benefits": [p.to_record() for p in self.benefits]}

    @classmethod
    def from_record(cls, r: dict) -> "Tier":
        return cls(r["level"], r["name"], r["growthThreshold"], r["earnMultiplierPermille"], tuple(r["perks"]),
                   r.get("keepThreshold"), tuple(Perk.from_record(p) for p in r.get("benefits", ())))


def tier_refusal(member_level: int | None, needed: int, what: str, field: tuple[str, ...]) -> Refusal | None:
    """The one tier gate every door applies (the mall, checkout, flash sales, 拼团, lottery prizes,
    partner exchanges); None when it lets the member through or their tier is not known yet."""
    if member_level is None or member_level >= needed:
        return None
    return Refusal(ErrorCode.TIER_TOO_LOW, f"{what} needs V{needed} or above", field)


def months_after(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later; a day the month lacks becomes its last day."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class TierUpkeep:
    """How long a tier is held before upkeep judges it, and whether a refund may lower it sooner."""

    period_months: int = 12  # 0: tiers never lapse
    refunds_lower_at_once: bool = False  # else a refund's lost growth counts at the next upkeep date

    def __post_init__(self) -> None:
        if not 0 <= self.period_months <= MAX_UPKEEP_MONTHS:
            raise InvalidInput(f"the upkeep period is 0-{MAX_UPKEEP_MONTHS} months", ("periodMonths",))

    def keep_until(self, level: int, start: datetime) -> datetime | None:
        """When upkeep next judges a tier held from `start`; None for V1 or with upkeep off."""
        return None if level == 1 or not self.period_months else months_after(start, self.period_months)

    def to_record(self) -> dict:
        return {"periodMonths": self.period_months, "refundsLowerAtOnce": self.refunds_lower_at_once}

    @classmethod
    def from_record(cls, r: dict) -> "TierUpkeep":
        return cls(r["periodMonths"], r["refundsLowerAtOnce"])


@dataclass(frozen=True)
class TierChange:
    member_id: int
    from_level: int
    to_level: int
    growth: int
    changed_at: datetime


class TierTable:
    """Six tiers whose thresholds rise strictly from V1 (always 0), and the upkeep rule."""

    def __init__(self, tiers: list[Tier], upkeep: TierUpkeep | None = None) -> None:
        self.tiers = sorted((t if t.keep_threshold is not None else replace(t, keep_threshold=t.growth_threshold // 2)
                             for t in tiers), key=lambda t: t.level)
        self.upkeep = upkeep or TierUpkeep()
        self._validate()

    def _validate(self) -> None:
        if [t.level for t in self.tiers] != list(TIER_LEVELS):
            raise InvalidInput("tiers must be exactly V1..V6", ("level",))
        if self.tiers[0].growth_threshold != 0:
            raise InvalidInput("V1 starts at growth 0", ("growthThreshold",))
        for lower, upper in zip(self.tiers, self.tiers[1:]):
            if upper.growth_threshold <= lower.growth_threshold:
                raise InvalidInput(f"{upper.code} must need more growth than {lower.code}", ("growthThreshold",))
        for tier in self.tiers:
            if not 0 <= tier.keep_threshold <= tier.growth_threshold:
                raise InvalidInput(f"{tier.code} keeps with 0 to its growth threshold", ("keepThreshold",))
            if not MIN_MULTIPLIER_PERMILLE <= tier.earn_multiplier_permille <= MAX_MULTIPLIER_PERMILLE:
                raise InvalidInput("earn multiplier must be between 1.0 and 10.0", ("earnMultiplier",))
            checked_text(tier.name, "name", max_length=40)
            if len(tier.perks) > 20:
                raise InvalidInput("at most 20 perks", ("perks",))
            for perk in tier.perks:
                checked_text(perk, "perks", max_length=100)
            keys = [p.key for p in tier.benefits]
            if len(keys) > MAX_BENEFITS or len(set(keys)) != len(keys):
                raise InvalidInput(f"at most {MAX_BENEFITS} benefits: one of each kind, a monthly coupon per item",
                                   ("benefits",))

    def get(self, level: int) -> Tier:
        return self.tiers[level - 1]

    def level_for(self, growth: int) -> int:
        level = 1
        for tier in self.tiers:
            if growth >= tier.growth_threshold:
                level = tier.level
        return level

    def kept_level(self, level: int, period_growth: int) -> int:
        """The tier upkeep leaves: the highest up to `level` whose keep threshold the period's growth meets."""
        return max(t.level for t in self.tiers[:level] if t.keep_threshold <= max(period_growth, 0))

    def replacing(self, tier: Tier) -> "TierTable":
        """The table with one tier changed; a tier given without a keep threshold keeps its own if it fits."""
        if tier.keep_threshold is None:
            current = self.get(tier.level).keep_threshold
            tier = replace(tier, keep_threshold=current if current <= tier.growth_threshold else None)
        return TierTable([tier if t.level == tier.level else t for t in self.tiers], self.upkeep)

    def with_upkeep(self, upkeep: TierUpkeep) -> "TierTable":
        return TierTable(self.tiers, upkeep)

    def to_record(self) -> dict:
        return {"tiers": [t.to_record() for t in self.tiers], "upkeep": self.upkeep.to_record()}

    @classmethod
    def from_record(cls, record: dict | list[dict]) -> "TierTable":
        if isinstance(record, list):  # as kept before upkeep existed
            return cls([Tier.from_record(r) for r in record])
        return cls([Tier.from_record(r) for r in record["tiers"]], TierUpkeep.from_record(record["upkeep"]))


DEFAULT_TIERS = TierTable([
    Tier(1, "新朋友", 0, 1000, ("生日礼",), 0),
    Tier(2, "常客", 500, 1100, ("生日礼", "积分 1.1 倍"), 250),
    Tier(3, "铁粉", 2000, 1200, ("生日礼", "积分 1.2 倍", "每月包邮券"), 1000),
    Tier(4, "金卡", 5000, 1300, ("生日礼", "积分 1.3 倍", "每月包邮券", "新品试用"), 2500),
    Tier(5, "白金", 15000, 1500, ("生日礼", "积分 1.5 倍", "专属客服", "新品试用"), 7500),
    Tier(6, "黑金", 50000, 2000, ("生日礼", "积分 2 倍", "专属客服", "线下活动席位"), 25000),
])


TIERS_KEY = "tiers"


class _Decoded:
    """The table decoded from the record last read: a write reads the tiers once or twice, and the
    record stays the same object while it is kept (holding it keeps its identity from being reused)."""

    record: object = None
    table: TierTable = DEFAULT_TIERS


async def early_access_of(uow: "UnitOfWork", tier_level: int | None) -> timedelta:
    """How much earlier than everyone a member of this tier may enter (None: not known, no earlier)."""
    return timedelta(0) if tier_level is None else (await tier_table(uow)).get(tier_level).early_access


async def tier_table(uow: UnitOfWork) -> TierTable:
    record = await uow.settings.get(TIERS_KEY)
    if record is None:
        return DEFAULT_TIERS
    if record is not _Decoded.record:
        _Decoded.table, _Decoded.record = TierTable.from_record(record), record
    return _Decoded.table


class TierService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def table(self) -> TierTable:
        return await self.transactions.read(tier_table)

    async def update(self, staff: "Actor", tier: Tier) -> TierTable:
        """Replace one tier, then raise every member whose growth now reaches a higher one (a threshold
        raised lowers no one at once: upkeep judges each member at their own date)."""
        async def work(uow: "UnitOfWork") -> TierTable:
            table = (await tier_table(uow)).replacing(tier)
            await configuration.store(uow, TIERS_KEY, table.to_record(), staff, self.clock.now())
            return table

        table = await self.transactions.write(work)
        await self.retier(table)
        return table

    async def update_upkeep(self, staff: "Actor", upkeep: TierUpkeep) -> TierTable:
        """Change the upkeep rule. Running periods keep their dates; switched on, every tier above V1
        starts its first period now; switched off, no tier lapses."""
        async def work(uow: "UnitOfWork") -> TierTable:
            now = self.clock.now()
            table = (await tier_table(uow)).with_upkeep(upkeep)
            await configuration.store(uow, TIERS_KEY, table.to_record(), staff, now)
            if upkeep.period_months:
                await uow.members.start_upkeep_periods(upkeep.keep_until(2, now))
            else:
                await uow.members.end_upkeep_periods()
            return table

        return await self.transactions.write(work)

    async def retier(self, table: TierTable) -> int:
        thresholds = [(t.level, t.growth_threshold) for t in table.tiers]
        moved, after = 0, 0
        while member_ids := await self.transactions.read(
                lambda uow: uow.members.ids_below_tier(thresholds, after, RETIER_BATCH)):
            for member_id in member_ids:
                moved += await self.transactions.write(lambda uow, m=member_id: self._retier_one(uow, m))
            after = member_ids[-1]
        return moved

    async def _retier_one(self, uow: "UnitOfWork", member_id: int) -> int:
        member, now = await uow.members.lock(member_id), self.clock.now()
        if member is None or member.refresh_tier(await tier_table(uow), now) is None:
            return 0
        await on_tier_refreshed(uow, member, now)
        await uow.members.save(member)
        return 1
