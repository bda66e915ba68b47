"""Carrying committed points changes to subscribers: in one process, or across processes through Redis.

Each process keeps its own subscribers in memory. Without Redis a publish goes straight to them;
with ``REDIS_URL`` it goes to a Redis channel, and every process (this one included) relays what
arrives on the channels its subscribers listen to. Messages are JSON text.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol

import orjson

from api.http.client_address import PerAddress
from domain.ledger import LedgerEntry, LedgerReason
from domain.leaderboards import LeaderboardCache
from domain.realtime import Activity, ActivityKind, BadgeAwarded, Outbox, PointsChanged, PointsSnapshot
from persistence.redis_scripts import ScriptLink

log = logging.getLogger("jifen.realtime")

QUEUE_SIZE = 256  # a subscriber this far behind loses its oldest messages, never blocks a publisher
FEED_QUEUE_SIZE = 8  # the pulse is a pulse: a feed subscriber this far behind only needs the latest
ACTIVITY_PER_SECOND = 2  # what every feed shows at most; the rest of a busy brand's pulse is skipped
ACTIVITY_BURST = 5
ANONYMOUS_FEEDS_PER_ADDRESS = 20
ACTIVITY_CHANNEL = "activity"


def points_channel(member_id: int) -> str:
    return f"points:{member_id}"


class Broker(Protocol):
    def wants(self, channel: str) -> bool: ...
    async def publish(self, channel: str, message: str) -> None: ...
    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[str]]: ...
    async def close(self) -> None: ...


class LocalBroker:
    """Subscribers of this process, each with its own bounded queue."""

    def __init__(self) -> None:
        self.queues: dict[str, set[asyncio.Queue[str]]] = {}

    @property
    def subscribers(self) -> int:
        return sum(len(queues) for queues in self.queues.values())

    def wants(self, channel: str) -> bool:
        """Whether a message on the channel could reach anyone (else it need not even be written)."""
        return channel in self.queues

    async def publish(self, channel: str, message: str) -> None:
        self.deliver(channel, message)

    def deliver(self, channel: str, message: str) -> None:
        for queue in self.queues.get(channel, ()):
            if queue.full():
                queue.get_nowait()  # drop the oldest for a slow reader
            queue.put_nowait(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self.queues.setdefault(channel, set()).add(queue)
        try:
            yield _drain(queue)
        finally:
            self._forget(channel, queue)

    def _forget(self, channel: str, queue: asyncio.Queue[str]) -> None:
        queues = self.queues.get(channel, set())
        queues.discard(queue)
        if not queues:
            self.queues.pop(channel, None)

    async def close(self) -> None:
        self.queues.clear()


async def _drain(queue: asyncio.Queue[str]) -> AsyncIterator[str]:
    while True:
        yield await queue.get()


class RedisBroker(LocalBroker):
    """Publishes through Redis; one pub/sub connection per process relays to the local subscribers."""

    def __init__(self, url: str, prefix: str) -> None:
        super().__init__()
        import redis.asyncio as redis  # only processes configured for Redis need the client

        self.prefix = f"{prefix}:"  # brands (or test runs) sharing one Redis never hear each other
        self.redis = redis.from_url(url, decode_responses=True)
        self.pubsub = self.redis.pubsub()
        # Publishing is on every write's way: one pipelined connection, not a pool round trip each.
        self.link = ScriptLink(url, timeout=1.0)
        self._relay: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    def wants(self, channel: str) -> bool:
        return True  # another process may have subscribers

    async def publish(self, channel: str, message: str) -> None:
        await self.link.command("PUBLISH", self.prefix + channel, message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        async with super().subscribe(channel) as messages:
            async with self._lock:
                if len(self.queues.get(channel, ())) == 1:
                    await self.pubsub.subscribe(self.prefix + channel)
                if self._relay is None or self._relay.done():
                    self._relay = asyncio.create_task(self._relay_messages(), name="jifen-redis-relay")
            try:
                yield messages
            finally:
                async with self._lock:
                    if channel not in self.queues or len(self.queues[channel]) == 1:
                        with contextlib.suppress(Exception):
                            await self.pubsub.unsubscribe(self.prefix + channel)

    async def _relay_messages(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped connection: the client reconnects and resubscribes on the next call
                log.exception("redis relay failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if message is not None and message.get("type") == "message":
                self.deliver(message["channel"].removeprefix(self.prefix), message["data"])

    async def close(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._relay
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
            await self.redis.aclose()
        await self.link.close()
        await super().close()


def build_broker(redis_url: str | None, prefix: str = "jifen") -> LocalBroker:
    return RedisBroker(redis_url, prefix) if redis_url else LocalBroker()


def encode_change(change: PointsChanged | BadgeAwarded) -> str:
    entry = change.entry if isinstance(change, PointsChanged) else None
    return orjson.dumps({
        "memberId": change.member_id, "toast": change.toast,
        "points": vars(change.points),
        "entry": None if entry is None else {
            "id": entry.id, "memberId": entry.member_id, "delta": entry.delta, "balanceAfter": entry.balance_after,
            "reason": entry.reason.value, "occurredAt": entry.occurred_at.isoformat(), "actor": entry.actor,
            "expiresAt": entry.expires_at.isoformat() if entry.expires_at else None, "memo": entry.memo,
            "ref": entry.ref},
    }).decode()


def decode_change(message: str) -> tuple[int, LedgerEntry | None, PointsSnapshot, str]:
    data = orjson.loads(message)
    raw = data["entry"]
    entry = None if raw is None else LedgerEntry(
        raw["memberId"], raw["delta"], raw["balanceAfter"], LedgerReason(raw["reason"]),
        datetime.fromisoformat(raw["occurredAt"]), raw["actor"],
        datetime.fromisoformat(raw["expiresAt"]) if raw["expiresAt"] else None, raw["memo"], raw["ref"], raw["id"])
    return data["memberId"], entry, PointsSnapshot(**data["points"]), data["toast"]


def encode_activity(activity: Activity) -> str:
    return orjson.dumps({"kind": activity.kind.value, "memberName": activity.member_name, "text": activity.text,
                         "at": activity.at.isoformat()}).decode()


def decode_activity(message: str) -> Activity:
    data = orjson.loads(message)
    return Activity(ActivityKind(data["kind"]), data["memberName"], data["text"], datetime.fromisoformat(data["at"]))


class Announcer:
    """The transactions' after-commit listener: each points change on its member's channel, each
    activity on the public one."""

    def __init__(self, broker: LocalBroker, leaderboards: LeaderboardCache | None = None) -> None:
        self.broker = broker
        self.leaderboards = leaderboards

    async def __call__(self, outbox: Outbox) -> None:
        if outbox.scores and self.leaderboards is not None:
            await self.leaderboards.add(outbox.scores)
        for change in (*outbox.points, *outbox.badges):
            channel = points_channel(change.member_id)
            if self.broker.wants(channel):
                await self.broker.publish(channel, encode_change(change))
        if outbox.activity and self.broker.wants(ACTIVITY_CHANNEL):
            for activity in outbox.activity:
                await self.broker.publish(ACTIVITY_CHANNEL, encode_activity(activity))


class TooManySubscriptions(Exception):
    pass


class ActivityHub:
    """The public pulse, read once per process and handed to every `activityFeed` subscriber.

    A write publishes its activity once, onto one queue (this hub's), whatever the number of
    subscribers: the writer's cost does not grow with them. This hub's own task rate-limits the pulse
    once for everyone (every subscriber sees the same stream, so a limit per subscriber would only
    repeat the same decision), decodes each message once, and hands the same object to every
    subscriber's queue; only what passes the limit fans out. Anonymous subscribers are counted per
    address and capped, so one client cannot hold thousands of feeds."""

    def __init__(self, broker: LocalBroker, per_second: float = ACTIVITY_PER_SECOND, burst: int = ACTIVITY_BURST,
                 per_address: int = ANONYMOUS_FEEDS_PER_ADDRESS) -> None:
        self.broker = broker
        self.limit = RateLimited(per_second, burst)
        self.listeners: set[asyncio.Queue[Activity]] = set()
        self.anonymous = PerAddress(per_address)
        self._task: asyncio.Task | None = None

    @contextlib.asynccontextmanager
    async def listen(self, anonymous_address: str | None = None) -> AsyncIterator[AsyncIterator[Activity]]:
        """The activities that pass the limit, from now on; TooManySubscriptions for an address that
        already holds its share of anonymous feeds."""
        if anonymous_address is not None and not self.anonymous.take(anonymous_address):
            raise TooManySubscriptions(anonymous_address)
        queue: asyncio.Queue[Activity] = asyncio.Queue(FEED_QUEUE_SIZE)
        self.listeners.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._relay(), name="jifen-activity-hub")
        try:
            yield _drain(queue)
        finally:
            self.listeners.discard(queue)
            if anonymous_address is not None:
                self.anonymous.release(anonymous_address)
            if not self.listeners and self._task is not None:
                self._task.cancel()
                self._task = None

    async def _relay(self) -> None:
        async with self.broker.subscribe(ACTIVITY_CHANNEL) as messages:
            async for message in messages:
                if not self.limit.allow():
                    continue
                activity = decode_activity(message)
                for queue in tuple(self.listeners):
                    if queue.full():
                        queue.get_nowait()
                    queue.put_nowait(activity)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


class RateLimited:
    """At most ``per_second`` messages, with bursts of ``burst``; the rest are dropped, not queued,
    so a busy brand's pulse stays a pulse on every client."""

    def __init__(self, per_second: float, burst: int, clock=time.monotonic) -> None:
        self.per_second, self.burst, self.clock = per_second, burst, clock
        self.tokens, self.at = float(burst), clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
