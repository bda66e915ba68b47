"""Outbound webhooks: every stored notification is delivered to the brand's messaging service.

Storing a notification queues a delivery in the same transaction (a transactional outbox), so
a notification that rolls back is never sent and one that commits is never lost. A dispatcher
posts due deliveries outside any transaction, signed like partners sign to us: ``X-Jifen-Signature``
is the hex HMAC-SHA256 of ``"{timestamp}.{raw body}"`` with the webhook secret. A 2xx answer
delivers it; anything else (another status, a timeout, a refused connection) is retried with
exponential backoff (30 s, 1 min, 2 min ... at most an hour apart) and, after 8 attempts, the
delivery is FAILED until staff replay it. Delivery is at least once: receivers deduplicate by
``X-Jifen-Delivery``. Each attempt is logged with its status, error and duration.

A claim leases a delivery for a minute before sending, so two dispatchers (two server processes)
never send it twice at once, and one that dies mid-send leaves it to be retried.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from domain.configuration import Actor
from domain.errors import InvalidInput, NotFound, Refusal, ErrorCode

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.notifications import Notification
    from domain.ports import Transactions, UnitOfWork

WEBHOOK_KEY = "webhook"
URL_PATTERN = re.compile(r"^https?://[^\s/?#]+(/[^\s]*)?\Z")
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=1)
BATCH = 50


class DeliveryStatus(str, Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str
    enabled: bool = True

    def __post_init__(self) -> None:
        if len(self.url) > 500 or not URL_PATTERN.match(self.url):
            raise InvalidInput("the webhook URL is an http(s) URL of at most 500 characters", ("url",))

    def to_record(self) -> dict:
        return {"url": self.url, "secret": self.secret, "enabled": self.enabled}


@dataclass
class Delivery:
    event: str
    payload: dict[str, Any]
    created_at: datetime
    next_attempt_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class TransportError(Exception):
    """The receiver could not be reached or did not answer in time; the message says how."""


class WebhookTransport(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST and return the HTTP status, or raise TransportError."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


def after_attempt(delivery: Delivery, attempt: Attempt) -> Delivery:
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = attempt.status_code, attempt.error
    if attempt.ok:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, attempt.at
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.next_attempt_at = attempt.at + retry_delay(delivery.attempts)
    return delivery


async def webhook_config(uow: "UnitOfWork") -> WebhookConfig | None:
    record = await uow.settings.get(WEBHOOK_KEY)
    return WebhookConfig(record["url"], record["secret"], record["enabled"]) if record else None


async def queue_notifications(uow: "UnitOfWork", stored: Sequence["Notification"], now: datetime) -> None:
    """Queue one delivery per stored notification, when the brand has an enabled webhook."""
    config = await webhook_config(uow)
    if not stored or config is None or not config.enabled:
        return
    external = await uow.members.external_ids(sorted({n.member_id for n in stored}))
    await uow.webhooks.add([Delivery("notification.created", {
        "event": "notification.created",
        "notification": {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "ref": n.ref,
                         "createdAt": n.created_at.isoformat()},
        "member": {"memberId": external[n.member_id]}}, now, now) for n in stored])


class WebhookService:
    def __init__(self, transactions: "Transactions", clock: "Clock", transport: WebhookTransport) -> None:
        self.transactions = transactions
        self.clock = clock
        self.transport = transport

    async def configure(self, staff: Actor, url: str, enabled: bool, rotate_secret: bool) -> tuple[WebhookConfig, bool]:
        """Set the endpoint; a new secret is made the first time and on rotation. True: the secret is new."""
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> tuple[WebhookConfig, bool]:
            current = await webhook_config(uow)
            fresh = current is None or rotate_secret
            config = WebhookConfig(url, f"whsec_{secrets.token_urlsafe(32)}" if fresh else current.secret, enabled)
            await uow.settings.put(WEBHOOK_KEY, config.to_record(), staff.label, now)
            # The secret never goes into the audit log.
            await uow.audit.record(staff.label, "webhook.update", WEBHOOK_KEY,
                                   {"url": url, "enabled": enabled, "secretRotated": fresh}, now)
            return config, fresh

        return await self.transactions.write(work)

    async def config(self) -> WebhookConfig | None:
        return await self.transactions.read(webhook_config)

    async def deliver_due(self) -> int:
        """Send what is due, batch after batch; returns how many were delivered."""
        delivered = 0
        while True:
            now = self.clock.now()
            config, claimed = await self.transactions.write(lambda uow: self._claim(uow, now))
            if not claimed:
                return delivered
            for delivery in claimed:
                attempt = await self._send(config, delivery)
                delivered += attempt.ok
                await self.transactions.write(lambda uow, d=delivery, a=attempt: self._record(uow, d, a))

    @staticmethod
    async def _claim(uow: "UnitOfWork", now: datetime) -> tuple[WebhookConfig | None, list[Delivery]]:
        config = await webhook_config(uow)
        if config is None or not config.enabled:
            return config, []
        return config, await uow.webhooks.claim_due(now, now + LEASE, BATCH)

    async def _send(self, config: WebhookConfig, delivery: Delivery) -> Attempt:
        body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
        sent_at = self.clock.now()
        timestamp = str(int(sent_at.timestamp()))
        headers = {"Content-Type": "application/json", "X-Jifen-Event": delivery.event,
                   "X-Jifen-Delivery": str(delivery.id), "X-Jifen-Timestamp": timestamp,
                   "X-Jifen-Signature": signature(config.secret, timestamp, body)}
        started = time.perf_counter()
        try:
            status, error = await self.transport.post(config.url, body, headers), None
        except TransportError as failure:
            status, error = None, str(failure)[:300]
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
        return Attempt(delivery.id, sent_at, status, error, int((time.perf_counter() - started) * 1000))

    @staticmethod
    async def _record(uow: "UnitOfWork", delivery: Delivery, attempt: Attempt) -> None:
        await uow.webhooks.add_attempt(attempt)
        await uow.webhooks.update(after_attempt(delivery, attempt))

    async def replay(self, staff: Actor, delivery_id: int) -> Delivery:
        """Send a delivery again at once (a failed one gets a fresh round of attempts)."""
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> Delivery:
            delivery = await uow.webhooks.get(delivery_id)
            if delivery is None:
                raise NotFound("no such delivery", ("deliveryId",))
            if delivery.status is DeliveryStatus.PENDING and delivery.next_attempt_at <= now:
                raise Refusal(ErrorCode.INVALID_TRANSITION, "this delivery is already due", ("deliveryId",))
            delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, now
            await uow.webhooks.update(delivery)
            await uow.audit.record(staff.label, "webhook.replay", str(delivery_id), {}, now)
            return delivery

        return await self.transactions.write(work)

    async def deliveries(self, status: DeliveryStatus | None, before_id: int | None, limit: int) -> list[Delivery]:
        return await self.transactions.read(lambda uow: uow.webhooks.page(status, before_id, limit))

    async def attempts(self, delivery_ids: Sequence[int]) -> dict[int, list[Attempt]]:
        return await self.transactions.read(lambda uow: uow.webhooks.attempts_of(delivery_ids))
