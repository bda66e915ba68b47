"""Idempotency keys: a retried request returns its first result and changes nothing.

Keys are scoped to the caller. The stored fingerprint is a hash of the operation
and its input, so the same key with another input is refused rather than
silently replayed.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.text import CONTROL

MAX_KEY_LENGTH = 128
RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class IdempotencyRecord:
    scope: str
    key: str
    fingerprint: str
    result: dict
    created_at: datetime


def validate_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or key.strip() != key or CONTROL.search(key):
        raise InvalidInput(f"idempotencyKey must be 1-{MAX_KEY_LENGTH} characters, no surrounding spaces or control characters",
                           ("idempotencyKey",))
    return key


def fingerprint(operation: str, payload: dict) -> str:
    canonical = json.dumps({"op": operation, "input": payload}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_replay(record: IdempotencyRecord, expected_fingerprint: str) -> dict:
    if record.fingerprint != expected_fingerprint:
        raise Refusal(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                      "this idempotencyKey was already used with a different input", ("idempotencyKey",))
    return record.result
