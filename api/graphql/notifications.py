"""A member's notifications (expiry reminders now; tier changes, shipments and more later)."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import BadUserInput, UserError, require_member, require_staff, user_errors
from api.graphql.segments import Segment
from api.graphql.relay import Node, int_key, to_global_id
from domain import notifications
from domain.errors import DomainError, InvalidInput


@strawberry.type(name="Notification")
class NotificationType(Node):
    _notification: strawberry.Private[notifications.Notification]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Notification", self._notification.id)

    @strawberry.field(description="e.g. POINTS_EXPIRING")
    def kind(self) -> str:
        return self._notification.kind

    @strawberry.field
    def title(self) -> str:
        return self._notification.title

    @strawberry.field
    def body(self) -> str:
        return self._notification.body

    @strawberry.field
    def created_at(self) -> datetime:
        return self._notification.created_at

    @strawberry.field
    def read_at(self) -> datetime | None:
        return self._notification.read_at


def notification_key(global_id: str) -> int:
    try:
        return int_key(global_id, "Notification")
    except BadUserInput as error:
        raise InvalidInput(error.message, ("ids",)) from None


@strawberry.input
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Null marks every one read.")


@strawberry.type
class MarkNotificationsReadPayload:
    marked: int
    unread: int
    user_errors: list[UserError]


@strawberry.type(description="How far ahead members are reminded of expiring points.")
class ReminderRule:
    expiry_days: int


@strawberry.input
class UpdateReminderRuleInput:
    expiry_days: int


@strawberry.type
class UpdateReminderRulePayload:
    rule: ReminderRule | None
    user_errors: list[UserError]


@strawberry.type
class NotificationQueries:
    @strawberry.field(description="The expiry reminder window (default 30 days).")
    async def reminder_rule(self, info: Info) -> ReminderRule:
        return ReminderRule(expiry_days=(await info.context.services.notifications.rule()).expiry_days)


@strawberry.input
class PushNotificationInput:
    segment: Segment | None = strawberry.field(default=None, description="Every member of this segment ...")  # type: ignore[valid-type]
    tag: str | None = strawberry.field(default=None, description="... or every member holding this tag: one of them.")
    title: str
    body: str
    ref: str = strawberry.field(description="Names this push: sending the same ref again reaches no one twice.")


@strawberry.type
class PushNotificationPayload:
    sent: int = strawberry.field(description="Members newly notified.")
    user_errors: list[UserError]


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(description="Staff: notify every member of a segment, or holding a tag (and deliver it "
                                     "by webhook).")
    async def push_notification(self, info: Info, input: PushNotificationInput) -> PushNotificationPayload:
        staff = require_staff(info)
        try:
            push = notifications.Push(input.segment, input.title, input.body, input.ref, input.tag)
            sent = await info.context.services.notifications.push(staff.actor, push)
        except DomainError as error:
            return PushNotificationPayload(sent=0, user_errors=user_errors(error))
        return PushNotificationPayload(sent=sent, user_errors=[])

    @strawberry.mutation(description="Staff: remind members of points expiring within this many days (1-180).")
    async def update_reminder_rule(self, info: Info, input: UpdateReminderRuleInput) -> UpdateReminderRulePayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.notifications.update_rule(
                staff.actor, notifications.ReminderRule(input.expiry_days))
        except DomainError as error:
            return UpdateReminderRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateReminderRulePayload(rule=ReminderRule(expiry_days=rule.expiry_days), user_errors=[])

    @strawberry.mutation(description="Member: mark some (or all) of your notifications read.")
    async def mark_notifications_read(self, info: Info, input: MarkNotificationsReadInput
                                      ) -> MarkNotificationsReadPayload:
        member = require_member(info)
        service = info.context.services.notifications
        try:
            ids = None if input.ids is None else [notification_key(i) for i in input.ids[:notifications.MAX_MARK + 1]]
            marked = await service.mark_read(member.member_id, ids)
        except DomainError as error:
            return MarkNotificationsReadPayload(marked=0, unread=await service.unread(member.member_id),
                                                user_errors=user_errors(error))
        return MarkNotificationsReadPayload(marked=marked, unread=await service.unread(member.member_id),
                                            user_errors=[])
