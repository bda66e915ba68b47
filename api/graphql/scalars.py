"""The schema's own scalars: dates inside the calendar Jifen works in, and whole numbers past 2^31.

`Date` and `DateTime` keep strawberry's names and ISO 8601 text, and refuse at coercion (before any
resolver runs) what would fail later: a day outside 1900-2999 (year 1 or 9999 overflow date
arithmetic and time zone shifts), and a `DateTime` without a UTC offset (it cannot be compared with
the server's clock).

`Long` carries points totals and balances, which pass GraphQL's 32-bit `Int` in a brand of a million
members. It is a JSON number, as `Int` is, limited to the integers every JSON parser reads exactly
(|n| <= 2^53 - 1, JavaScript's `Number.MAX_SAFE_INTEGER`): past that a client would silently round,
so a value beyond it is an error, never a wrong number.
"""
from __future__ import annotations

import datetime as dt
from typing import NewType

import dateutil.parser
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

from domain.clock import FIRST_DAY, LAST_DAY, within_calendar

MAX_SAFE = 2**53 - 1
OUTSIDE = f"outside the calendar this API works in ({FIRST_DAY} to {LAST_DAY})"


def parse_date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(f"a Date is text like 2026-11-11, not {type(value).__name__}")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise StrawberryInputCoercionError(f"not a Date (YYYY-MM-DD): {value[:40]!r}") from None
    if not within_calendar(day):
        raise StrawberryInputCoercionError(f"{day} is {OUTSIDE}")
    return day


def parse_datetime(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(f"a DateTime is ISO 8601 text, not {type(value).__name__}")
    try:
        moment = dateutil.parser.isoparse(value)
    except (ValueError, OverflowError):
        raise StrawberryInputCoercionError(f"not an ISO 8601 DateTime: {value[:40]!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise StrawberryInputCoercionError("a DateTime needs a UTC offset, e.g. 2026-11-11T00:00:00+08:00")
    if not within_calendar(moment.date()):
        raise StrawberryInputCoercionError(f"{moment.date()} is {OUTSIDE}")
    return moment


DATE = ScalarDefinition(name="Date", description=f"A day, ISO 8601 (2026-11-11), from {FIRST_DAY} to {LAST_DAY}.",
                        specified_by_url=None, serialize=dt.date.isoformat, parse_value=parse_date,
                        parse_literal=None, origin=dt.date)
DATE_TIME = ScalarDefinition(name="DateTime", description="A moment, ISO 8601 with its UTC offset "
                                                          "(2026-11-11T10:00:00+08:00).",
                             specified_by_url=None, serialize=dt.datetime.isoformat, parse_value=parse_datetime,
                             parse_literal=None, origin=dt.datetime)


def serialize_long(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Long cannot represent {value!r}")
    if abs(value) > MAX_SAFE:
        raise ValueError(f"Long cannot represent {value}: past 2^53 - 1, where JSON parsers round")
    return value


def parse_long(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_SAFE:
        raise StrawberryInputCoercionError(f"a Long is a whole number within ±(2^53 - 1), not {value!r}")
    return value


Long = NewType("Long", int)
LONG = ScalarDefinition(name="Long", description="A whole number up to ±(2^53 - 1) (9,007,199,254,740,991), sent as a "
                                                 "JSON number that every JSON parser reads exactly. Points totals and "
                                                 "balances use it: they can pass GraphQL's 32-bit Int.",
                        specified_by_url=None, serialize=serialize_long, parse_value=parse_long, parse_literal=None)
OVERRIDES = {dt.date: DATE, dt.datetime: DATE_TIME, Long: LONG}
