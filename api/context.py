"""Per-request context: the caller, the services and fresh DataLoaders (never shared between requests)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from api.auth import Caller
from api.services import Services
from domain.badges import Badge
from domain.checkin import CheckInStatus
from domain.mall import MallItem
from domain.members import Member
from domain.segments import Segment
from domain.tiers import TierChange, TierTable, tier_table


@dataclass
class Loaders:
    members: DataLoader[int, Member | None]
    check_in: DataLoader[int, CheckInStatus]
    tier_changes: DataLoader[int, list[TierChange]]
    tiers: DataLoader[str, TierTable]
    mall_items: DataLoader[int, MallItem | None]
    badges: DataLoader[int, list[Badge]]
    segments: DataLoader[int, set[Segment]]


def build_loaders(services: Services) -> Loaders:
    tx = services.transactions

    async def members(ids: list[int]) -> list[Member | None]:
        found = {m.id: m for m in await tx.read(lambda uow: uow.members.get_many(ids))}
        return [found.get(i) for i in ids]

    async def check_in(ids: list[int]) -> list[CheckInStatus]:
        statuses = await services.check_in.statuses(ids)
        return [statuses[i] for i in ids]

    async def tier_changes(ids: list[int]) -> list[list[TierChange]]:
        async def work(uow):
            return [await uow.members.tier_changes(i) for i in ids]
        return await tx.read(work)

    async def tiers(keys: list[str]) -> list[TierTable]:
        table = await tx.read(tier_table)
        return [table for _ in keys]

    async def mall_items(ids: list[int]) -> list[MallItem | None]:
        found = {i.id: i for i in await tx.read(lambda uow: uow.mall.get_many(ids))}
        return [found.get(i) for i in ids]

    async def badges(ids: list[int]) -> list[list[Badge]]:
        found = await tx.read(lambda uow: uow.badges.of_members(ids))
        return [found[i] for i in ids]

    async def segments(ids: list[int]) -> list[set[Segment]]:
        found = await services.segments.of_members(ids)
        return [found[i] for i in ids]

    return Loaders(DataLoader(members), DataLoader(check_in), DataLoader(tier_changes), DataLoader(tiers),
                   DataLoader(mall_items), DataLoader(badges), DataLoader(segments))


@dataclass
class Context:
    services: Services
    caller: Caller
    loaders: Loaders
    member: Member | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    request: Any = None
    response: Any = None
    connection_params: dict | None = None  # a WebSocket's `connection_init` payload
