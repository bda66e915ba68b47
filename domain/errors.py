"""Errors a caller can fix, each with a stable code clients can branch on."""
from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    ALREADY_CHECKED_IN = "ALREADY_CHECKED_IN"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    HOLD_NOT_ACTIVE = "HOLD_NOT_ACTIVE"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    DUPLICATE_ORDER = "DUPLICATE_ORDER"
    ORDER_FULLY_REFUNDED = "ORDER_FULLY_REFUNDED"
    REFUND_EXCEEDS_ORDER = "REFUND_EXCEEDS_ORDER"
    TASK_LIMIT_REACHED = "TASK_LIMIT_REACHED"
    TASK_DISABLED = "TASK_DISABLED"
    SELF_INVITATION = "SELF_INVITATION"
    ALREADY_INVITED = "ALREADY_INVITED"
    NOT_A_NEW_MEMBER = "NOT_A_NEW_MEMBER"
    INVITATION_CYCLE = "INVITATION_CYCLE"
    ALREADY_REVIEWED = "ALREADY_REVIEWED"
    TOO_MANY_PENDING = "TOO_MANY_PENDING"
    DUPLICATE_SUBMISSION = "DUPLICATE_SUBMISSION"
    DUPLICATE_EVENT = "DUPLICATE_EVENT"
    ASSIST_RUNNING = "ASSIST_RUNNING"
    ASSIST_ENDED = "ASSIST_ENDED"
    SELF_ASSIST = "SELF_ASSIST"
    ALREADY_ASSISTED = "ALREADY_ASSISTED"
    BIRTHDAY_LOCKED = "BIRTHDAY_LOCKED"
    NO_BIRTHDAY = "NO_BIRTHDAY"
    NOT_BIRTHDAY = "NOT_BIRTHDAY"
    ALREADY_CLAIMED = "ALREADY_CLAIMED"
    TASK_IS_CHALLENGE = "TASK_IS_CHALLENGE"
    CONFLICT = "CONFLICT"
    ITEM_OFF_SHELF = "ITEM_OFF_SHELF"
    NOT_POINTS_ONLY = "NOT_POINTS_ONLY"
    TIER_TOO_LOW = "TIER_TOO_LOW"
    SOLD_OUT = "SOLD_OUT"
    LIMIT_REACHED = "LIMIT_REACHED"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    POINTS_ONLY = "POINTS_ONLY"
    ORDER_NOT_PENDING = "ORDER_NOT_PENDING"
    ORDER_TOO_SMALL = "ORDER_TOO_SMALL"
    DEDUCTION_TOO_LARGE = "DEDUCTION_TOO_LARGE"
    FLASH_SALE_NOT_STARTED = "FLASH_SALE_NOT_STARTED"
    FLASH_SALE_ENDED = "FLASH_SALE_ENDED"
    LOTTERY_CLOSED = "LOTTERY_CLOSED"
    DAILY_LIMIT_REACHED = "DAILY_LIMIT_REACHED"
    NOT_A_GROUP_ITEM = "NOT_A_GROUP_ITEM"
    GROUP_CLOSED = "GROUP_CLOSED"
    ALREADY_JOINED = "ALREADY_JOINED"
    PARTNER_LIMIT_REACHED = "PARTNER_LIMIT_REACHED"
    EXCHANGE_NOT_PENDING = "EXCHANGE_NOT_PENDING"
    TASK_NEEDS_TICKET = "TASK_NEEDS_TICKET"
    TICKET_INVALID = "TICKET_INVALID"
    TICKET_USED = "TICKET_USED"
    HELD_FOR_REVIEW = "HELD_FOR_REVIEW"
    DEVICE_ALREADY_COUNTED = "DEVICE_ALREADY_COUNTED"
    ASSIST_FULL = "ASSIST_FULL"
    MEMBER_CODE_INVALID = "MEMBER_CODE_INVALID"
    MEMBER_CODE_EXPIRED = "MEMBER_CODE_EXPIRED"
    EXPIRED = "EXPIRED"
    ALREADY_USED = "ALREADY_USED"
    WRONG_STORE = "WRONG_STORE"
    COUPON_CANCELLED = "COUPON_CANCELLED"
    GIFTING_CLOSED = "GIFTING_CLOSED"
    SELF_GIFT = "SELF_GIFT"
    MEMBER_UNDER_REVIEW = "MEMBER_UNDER_REVIEW"
    NOT_MEMBER_DAY = "NOT_MEMBER_DAY"
    PERK_NOT_HELD = "PERK_NOT_HELD"
    NO_CHANCE_LEFT = "NO_CHANCE_LEFT"
    PAYMENT_NOT_ACCEPTED = "PAYMENT_NOT_ACCEPTED"
    NO_OFFER = "NO_OFFER"
    NOT_TARGETED = "NOT_TARGETED"


class DomainError(Exception):
    """Base of every error that becomes a typed ``userError``."""

    def __init__(self, code: ErrorCode, message: str, field: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def as_record(self) -> dict:
        return {"code": self.code.value, "message": self.message, "field": list(self.field)}

    @classmethod
    def from_record(cls, record: dict) -> "DomainError":
        return Refusal(ErrorCode(record["code"]), record["message"], tuple(record["field"]))


class InvalidInput(DomainError):
    """Malformed input: refused before anything runs, so no idempotency result is kept."""

    def __init__(self, message: str, field: tuple[str, ...] = ()) -> None:
        super().__init__(ErrorCode.INVALID_INPUT, message, field)


class NotFound(DomainError):
    def __init__(self, message: str, field: tuple[str, ...] = ()) -> None:
        super().__init__(ErrorCode.NOT_FOUND, message, field)


class Conflict(Exception):
    """State moved between a read and the lock; the use case starts over (never shown to callers)."""


class Refusal(DomainError):
    """A business refusal (not enough points, already checked in): kept under the idempotency key."""
