"""Staff: the brand's webhook endpoint, the delivery log, and replaying a delivery."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.errors import BadUserInput, UserError, require_staff, user_errors
from api.graphql.relay import Connection, Node, check_first, connection, decode_cursor, int_key, to_global_id
from domain import webhooks
from domain.errors import DomainError, InvalidInput

DeliveryStatus = strawberry.enum(webhooks.DeliveryStatus)


@strawberry.type(description="Where notifications are delivered; the secret signs each delivery.")
class Webhook:
    url: str
    enabled: bool


@strawberry.type
class WebhookAttempt:
    at: datetime
    status_code: int | None = strawberry.field(description="The receiver's HTTP status; null: no answer.")
    error: str | None
    duration_ms: int


@strawberry.type(name="WebhookDelivery")
class DeliveryType(Node):
    _delivery: strawberry.Private[webhooks.Delivery]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("WebhookDelivery", self._delivery.id)

    @strawberry.field(description="Also sent as X-Jifen-Delivery: receivers deduplicate by it.")
    def delivery_id(self) -> int:
        return self._delivery.id

    @strawberry.field
    def event(self) -> str:
        return self._delivery.event

    @strawberry.field
    def status(self) -> DeliveryStatus:  # type: ignore[valid-type]
        return self._delivery.status

    @strawberry.field
    def attempts(self) -> int:
        return self._delivery.attempts

    @strawberry.field(description="When a pending delivery is tried next.")
    def next_attempt_at(self) -> datetime | None:
        return self._delivery.next_attempt_at if self._delivery.status is webhooks.DeliveryStatus.PENDING else None

    @strawberry.field
    def last_status(self) -> int | None:
        return self._delivery.last_status

    @strawberry.field
    def last_error(self) -> str | None:
        return self._delivery.last_error

    @strawberry.field
    def created_at(self) -> datetime:
        return self._delivery.created_at

    @strawberry.field
    def delivered_at(self) -> datetime | None:
        return self._delivery.delivered_at

    @strawberry.field(description="The JSON body as sent.")
    def payload(self) -> JSON:
        return self._delivery.payload

    @strawberry.field(description="Every attempt, oldest first.")
    async def log(self, info: Info) -> list[WebhookAttempt]:
        found = await info.context.services.webhooks.attempts([self._delivery.id])
        return [WebhookAttempt(at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
                for a in found[self._delivery.id]]


@strawberry.input
class UpdateWebhookInput:
    url: str
    enabled: bool = True
    rotate_secret: bool = False


@strawberry.type
class UpdateWebhookPayload:
    webhook: Webhook | None
    secret: str | None = strawberry.field(description="Only when it is new (the first time, or rotated).")
    user_errors: list[UserError]


@strawberry.input
class ReplayWebhookDeliveryInput:
    delivery_id: strawberry.ID


@strawberry.type
class ReplayWebhookDeliveryPayload:
    delivery: DeliveryType | None
    user_errors: list[UserError]


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="Staff: the webhook endpoint (null until configured).")
    async def webhook(self, info: Info) -> Webhook | None:
        require_staff(info)
        config = await info.context.services.webhooks.config()
        return Webhook(url=config.url, enabled=config.enabled) if config else None

    @strawberry.field(description="Staff: the delivery log, newest first.")
    async def webhook_deliveries(self, info: Info, first: int, after: str | None = None,
                                 status: DeliveryStatus | None = None  # type: ignore[valid-type]
                                 ) -> Connection[DeliveryType]:
        require_staff(info)
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.webhooks.deliveries(status, before, first + 1)
        return connection([DeliveryType(_delivery=d) for d in found], [d.id for d in found], first,
                          before is not None)


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="Staff: set the endpoint notifications are delivered to.")
    async def update_webhook(self, info: Info, input: UpdateWebhookInput) -> UpdateWebhookPayload:
        staff = require_staff(info)
        try:
            config, fresh = await info.context.services.webhooks.configure(staff.actor, input.url.strip(),
                                                                           input.enabled, input.rotate_secret)
        except DomainError as error:
            return UpdateWebhookPayload(webhook=None, secret=None, user_errors=user_errors(error))
        return UpdateWebhookPayload(webhook=Webhook(url=config.url, enabled=config.enabled),
                                    secret=config.secret if fresh else None, user_errors=[])

    @strawberry.mutation(description="Staff: send a delivery again now (a failed one gets a new round of tries).")
    async def replay_webhook_delivery(self, info: Info, input: ReplayWebhookDeliveryInput
                                      ) -> ReplayWebhookDeliveryPayload:
        staff = require_staff(info)
        try:
            try:
                delivery_id = int_key(input.delivery_id, "WebhookDelivery")
            except BadUserInput as error:
                raise InvalidInput(error.message, ("deliveryId",)) from None
            delivery = await info.context.services.webhooks.replay(staff.actor, delivery_id)
        except DomainError as error:
            return ReplayWebhookDeliveryPayload(delivery=None, user_errors=user_errors(error))
        return ReplayWebhookDeliveryPayload(delivery=DeliveryType(_delivery=delivery), user_errors=[])
