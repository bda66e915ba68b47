"""Time is injected so that tests can travel (streaks, expiry, hold timeouts)."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

# The days Jifen reasons about: birthdays reach back to 1900, schedules run far ahead, and every day
# in between has neighbours, so date arithmetic and time zone shifts stay inside Python's calendar
# (years 1-9999), whose edges would otherwise overflow mid-request.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def within_calendar(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told; shared safely between a test and a server thread."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment
