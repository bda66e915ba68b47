"""Per-request context: the caller, the services and fresh DataLoaders (never shared between requests)."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from api.http.auth import Caller
from api.ops.observability import new_request_id
from api.ops.services import Services
from domain.badges import Badge
from domain.checkin import CheckInStatus
from domain.mall import MallItem
from domain.members import Member
from domain.privacy import Pseudonyms
from domain.segments import Segment
from domain.stores import MemberCodes
from domain.tiers import TierChange, TierTable, tier_table


class Loaders:
    """A request's DataLoaders, each made when a resolver first asks for it (most requests need one or two)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.tx = services.transactions
        self.tier_table: TierTable | None = None  # prefetched: resolvers answer without awaiting

    @functools.cached_property
    def members(self) -> DataLoader[int, Member | None]:
        async def load(ids: list[int]) -> list[Member | None]:
            found = {m.id: m for m in await self.tx.read(lambda uow: uow.members.get_many(ids))}
            return [found.get(i) for i in ids]
        return DataLoader(load)

    @functools.cached_property
    def check_in(self) -> DataLoader[int, CheckInStatus]:
        async def load(ids: list[int]) -> list[CheckInStatus]:
            statuses = await self.services.check_in.statuses(ids)
            return [statuses[i] for i in ids]
        return DataLoader(load)

    @functools.cached_property
    def tier_changes(self) -> DataLoader[int, list[TierChange]]:
        async def load(ids: list[int]) -> list[list[TierChange]]:
            async def work(uow):
                return [await uow.members.tier_changes(i) for i in ids]
            return await self.tx.read(work)
        return DataLoader(load)

    @functools.cached_property
    def tiers(self) -> DataLoader[str, TierTable]:
        async def load(keys: list[str]) -> list[TierTable]:
            table = self.tier_table if self.tier_table is not None else await self.tx.read(tier_table)
            return [table for _ in keys]
        # Not cached: a WebSocket's context lives as long as the connection, and each event should
        # see the tiers of its moment (the settings cache keeps the read cheap).
        return DataLoader(load, cache=False)

    async def prefetch_tiers(self) -> None:
        """Read the tier table up front (it is cached config, microseconds): a member's `tier` can then
        resolve without awaiting, and an awaited sibling of `ledger` costs graphql-core a task each."""
        self.tier_table = await self.tx.read(tier_table)

    def forget_tiers(self) -> None:
        self.tier_table = None

    @functools.cached_property
    def mall_items(self) -> DataLoader[int, MallItem | None]:
        async def load(ids: list[int]) -> list[MallItem | None]:
            found = {i.id: i for i in await self.tx.read(lambda uow: uow.mall.get_many(ids))}
            return [found.get(i) for i in ids]
        return DataLoader(load)

    @functools.cached_property
    def badges(self) -> DataLoader[int, list[Badge]]:
        async def load(ids: list[int]) -> list[list[Badge]]:
            found = await self.tx.read(lambda uow: uow.badges.of_members(ids))
            return [found[i] for i in ids]
        return DataLoader(load)

    @functools.cached_property
    def segments(self) -> DataLoader[int, set[Segment]]:
        async def load(ids: list[int]) -> list[set[Segment]]:
            found = await self.services.segments.of_members(ids)
            return [found[i] for i in ids]
        return DataLoader(load)


@dataclass
class Context:
    services: Services
    caller: Caller
    loaders: Loaders
    member: Member | None = None
    request_id: str = field(default_factory=new_request_id)
    request: Any = None  # Starlette's Request (headers, client address) or the WebSocket
    connection_params: dict | None = None  # a WebSocket's `connection_init` payload
    # The app passes the one derived from JIFEN_SECRET (stable across processes and restarts);
    # the default is a random key, never a fixed one.
    pseudonyms: Pseudonyms = field(default_factory=lambda: Pseudonyms(os.urandom(32)))
    member_codes: MemberCodes = field(default_factory=lambda: MemberCodes(os.urandom(32)))

    async def signed_in_member(self) -> Member | None:
        """The signed-in member (None for anyone else), read at the first need and kept for the request;
        a WebSocket reads them each time, as its context outlives any one operation."""
        if not self.caller.is_member:
            return None
        if self.member is None or self.outlives_a_request:
            self.member = await self.services.members.find(self.caller.name)
        return self.member

    @property
    def outlives_a_request(self) -> bool:
        """A WebSocket's context lasts as long as its connection (hours, maybe): what was read when it
        connected, the member's points among it, is not news for the operations sent later."""
        return isinstance(self.request, WebSocket)
