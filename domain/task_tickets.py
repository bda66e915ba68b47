"""Completion tickets: how a brand's server vouches that a member really did a SERVER task.

A task a member's word is enough for (browse, share) is MEMBER-confirmed. A task worth more
(follow the official account, bind a phone, watch a whole video) is SERVER-confirmed: staff may
complete it for a member, and a member completes it only with a ticket the brand's server signed:

    ticket  = "v1." + payload + "." + signature
    payload = base64url (no padding) of the JSON {"k": keyId, "m": memberId, "t": taskCode,
              "iat": unix seconds issued, "n": nonce (8-64 letters, digits, _ or -)}
    signature = hex HMAC-SHA256 of "v1." + payload with the key's secret

A ticket names one member and one task, is valid for ``TICKET_LIFETIME`` after it was issued
(``CLOCK_SKEW`` early at most), and pays once: its nonce is kept until the ticket could no
longer be valid. The brand holds two keys at most: after a rotation the previous key still
verifies tickets already issued with it, until the next rotation.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.errors import ErrorCode, Refusal

TICKET_LIFETIME = timedelta(minutes=10)
CLOCK_SKEW = timedelta(minutes=1)
MAX_TICKET_LENGTH = 600
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}\Z")
TICKETS_KEY = "taskTickets"
PREFIX = "v1."


@dataclass(frozen=True)
class TicketKey:
    key_id: str
    secret: str
    created_at: datetime

    def to_record(self) -> dict:
        return {"keyId": self.key_id, "secret": self.secret, "createdAt": self.created_at.isoformat()}

    @classmethod
    def from_record(cls, r: dict) -> "TicketKey":
        return cls(r["keyId"], r["secret"], datetime.fromisoformat(r["createdAt"]))

    @classmethod
    def new(cls, at: datetime) -> "TicketKey":
        return cls(f"tk_{secrets.token_hex(6)}", f"tks_{secrets.token_urlsafe(32)}", at)


@dataclass(frozen=True)
class TicketKeys:
    current: TicketKey
    previous: TicketKey | None = None

    def find(self, key_id: str) -> TicketKey | None:
        return next((k for k in (self.current, self.previous) if k is not None and k.key_id == key_id), None)

    def rotated(self, at: datetime) -> "TicketKeys":
        return TicketKeys(TicketKey.new(at), self.current)

    def to_record(self) -> dict:
        return {"current": self.current.to_record(),
                "previous": self.previous.to_record() if self.previous else None}

    @classmethod
    def from_record(cls, r: dict) -> "TicketKeys":
        return cls(TicketKey.from_record(r["current"]),
                   TicketKey.from_record(r["previous"]) if r.get("previous") else None)


@dataclass(frozen=True)
class Ticket:
    key_id: str
    member_id: str
    task_code: str
    issued_at: datetime
    nonce: str


def _encode(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _signature(secret: str, signed: str) -> str:
    return hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()


def sign_ticket(key: TicketKey, member_id: str, task_code: str, issued_at: datetime, nonce: str | None = None) -> str:
    """What the brand's server does (this is the reference; the docs show it in other languages)."""
    payload = _encode({"k": key.key_id, "m": member_id, "t": task_code, "iat": int(issued_at.timestamp()),
                       "n": nonce or secrets.token_urlsafe(12)})
    return f"{PREFIX}{payload}.{_signature(key.secret, PREFIX + payload)}"


def invalid(reason: str) -> Refusal:
    return Refusal(ErrorCode.TICKET_INVALID, f"the completion ticket {reason}", ("ticket",))


def verified_ticket(text: str, keys: TicketKeys | None, member_id: str, task_code: str, now: datetime) -> Ticket:
    """The ticket, if the brand's server signed it for this member and task and it is still valid."""
    ticket = _signed(text, keys)
    if ticket.member_id != member_id or ticket.task_code != task_code:
        raise invalid("was issued for another member or task")
    if ticket.issued_at > now + CLOCK_SKEW or ticket.issued_at + TICKET_LIFETIME < now:
        raise invalid(f"has expired (tickets are valid for {TICKET_LIFETIME.seconds // 60} minutes)")
    return ticket


def _signed(text: str, keys: TicketKeys | None) -> Ticket:
    if len(text) > MAX_TICKET_LENGTH or not text.startswith(PREFIX) or text.count(".") != 2:
        raise invalid("is malformed")
    payload, _, signature = text[len(PREFIX):].partition(".")
    try:
        fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        key_id, member_id, task_code, nonce = (str(fields[name]) for name in ("k", "m", "t", "n"))
        issued_at = datetime.fromtimestamp(int(fields["iat"]), UTC)
    except (ValueError, TypeError, KeyError, OverflowError, OSError, binascii.Error):
        raise invalid("is malformed") from None
    key = keys.find(key_id) if keys is not None else None
    if key is None:
        raise invalid("names no key of this brand")
    if not hmac.compare_digest(signature.encode(), _signature(key.secret, PREFIX + payload).encode()):
        raise invalid("signature does not match")
    if not NONCE_PATTERN.match(nonce):
        raise invalid("nonce must be 8-64 letters, digits, _ or -")
    return Ticket(key_id, member_id, task_code, issued_at, nonce)
