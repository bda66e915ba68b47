"""Free text that people type (memos, names): trimmed, bounded, and free of control characters.

PostgreSQL refuses NUL in text, no encoder writes an unpaired surrogate (JSON can carry one, as
`"\\ud800"`), and no screen shows other control characters usefully, so they are refused here rather
than failing deep in storage.
"""
from __future__ import annotations

import re

from domain.errors import InvalidInput

# What no database's text takes: NUL (PostgreSQL) and unpaired surrogates (no encoder writes them).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
CONTROL_EXCEPT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f\ud800-\udfff]")


def checked_text(value: str | None, field: str, *, max_length: int, required: bool = True,
                 multiline: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{field} is required", (field,))
    if len(text) > max_length:
        raise InvalidInput(f"{field} must be at most {max_length} characters", (field,))
    if (CONTROL_EXCEPT_NEWLINE if multiline else CONTROL).search(text):
        raise InvalidInput(f"{field} must not contain control characters", (field,))
    return text


def without_control_characters(value: str) -> str:
    return CONTROL.sub("", value)
