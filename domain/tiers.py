"""Membership tiers V1..V6: growth thresholds, earn multipliers and perks, configured per brand."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from domain import configuration
from domain.errors import InvalidInput
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


@dataclass(frozen=True)
class Tier:
    level: int
    name: str
    growth_threshold: int
    earn_multiplier_permille: int
    perks: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return f"V{self.level}"

    def to_record(self) -> dict:
        return {"level": self.level, "name": self.name, "growthThreshold": self.growth_threshold,
                "earnMultiplierPermille": self.earn_multiplier_permille, "perks": list(self.perks)}

    @classmethod
    def from_record(cls, r: dict) -> "Tier":
        return cls(r["level"], r["name"], r["growthThreshold"], r["earnMultiplierPermille"], tuple(r["perks"]))


@dataclass(frozen=True)
class TierChange:
    member_id: int
    from_level: int
    to_level: int
    growth: int
    changed_at: datetime


class TierTable:
    """Six tiers whose thresholds rise strictly from V1 (always 0)."""

    def __init__(self, tiers: list[Tier]) -> None:
        self.tiers = sorted(tiers, key=lambda t: t.level)
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
            if not MIN_MULTIPLIER_PERMILLE <= tier.earn_multiplier_permille <= MAX_MULTIPLIER_PERMILLE:
                raise InvalidInput("earn multiplier must be between 1.0 and 10.0", ("earnMultiplier",))
            checked_text(tier.name, "name", max_length=40)
            if len(tier.perks) > 20:
                raise InvalidInput("at most 20 perks", ("perks",))
            for perk in tier.perks:
                checked_text(perk, "perks", max_length=100)

    def get(self, level: int) -> Tier:
        return self.tiers[level - 1]

    def level_for(self, growth: int) -> int:
        level = 1
        for tier in self.tiers:
            if growth >= tier.growth_threshold:
                level = tier.level
        return level

    def replacing(self, tier: Tier) -> "TierTable":
        return TierTable([tier if t.level == tier.level else t for t in self.tiers])

    def to_record(self) -> list[dict]:
        return [t.to_record() for t in self.tiers]

    @classmethod
    def from_record(cls, records: list[dict]) -> "TierTable":
        return cls([Tier.from_record(r) for r in records])


DEFAULT_TIERS = TierTable([
    Tier(1, "新朋友", 0, 1000, ("生日礼",)),
    Tier(2, "常客", 500, 1100, ("生日礼", "积分 1.1 倍")),
    Tier(3, "铁粉", 2000, 1200, ("生日礼", "积分 1.2 倍", "每月包邮券")),
    Tier(4, "金卡", 5000, 1300, ("生日礼", "积分 1.3 倍", "每月包邮券", "新品试用")),
    Tier(5, "白金", 15000, 1500, ("生日礼", "积分 1.5 倍", "专属客服", "新品试用")),
    Tier(6, "黑金", 50000, 2000, ("生日礼", "积分 2 倍", "专属客服", "线下活动席位")),
])


TIERS_KEY = "tiers"


async def tier_table(uow: UnitOfWork) -> TierTable:
    return await configuration.load(uow, TIERS_KEY, TierTable.from_record, DEFAULT_TIERS)


class TierService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def table(self) -> TierTable:
        return await self.transactions.read(tier_table)

    async def update(self, staff: "Actor", tier: Tier) -> TierTable:
        """Replace one tier, then move every member whose growth now decides another tier."""
        async def work(uow: "UnitOfWork") -> TierTable:
            table = (await tier_table(uow)).replacing(tier)
            await configuration.store(uow, TIERS_KEY, table.to_record(), staff, self.clock.now())
            return table

        table = await self.transactions.write(work)
        await self.retier(table)
        return table

    async def retier(self, table: TierTable) -> int:
        thresholds = [(t.level, t.growth_threshold) for t in table.tiers]
        moved, after = 0, 0
        while member_ids := await self.transactions.read(
                lambda uow: uow.members.ids_off_tier(thresholds, after, RETIER_BATCH)):
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
