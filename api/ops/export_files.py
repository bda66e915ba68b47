"""The files `jifen export` writes: CSV with a header row, or JSON Lines, UTF-8; times in ISO 8601 UTC."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from typing import TextIO


def since_of(text: str | None) -> datetime | None:
    """A date (from its start, UTC) or a time with its offset."""
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.min, timezone.utc)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since takes a date (2026-12-01) or a time with its offset, not {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError("--since needs its UTC offset (2026-12-01T00:00:00+08:00)")
    return moment.astimezone(timezone.utc)


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


class RowWriter:
    def __init__(self, out: TextIO, fmt: str, columns: Sequence[str]) -> None:
        self.out, self.fmt, self.columns = out, fmt, tuple(columns)
        if fmt == "csv":
            self.csv = csv.writer(out)
            self.csv.writerow(self.columns)

    def __call__(self, rows: Sequence[tuple]) -> None:
        if self.fmt == "csv":
            self.csv.writerows([[_plain(v) if v is not None else "" for v in row] for row in rows])
        else:
            self.out.writelines(json.dumps(dict(zip(self.columns, map(_plain, row))), ensure_ascii=False) + "\n"
                                for row in rows)


class Chunks:
    """The same rows as text chunks (the header first), for a response to stream."""

    def __init__(self, fmt: str, columns: Sequence[str]) -> None:
        self.buffer = io.StringIO()
        self.writer = RowWriter(self.buffer, fmt, columns)

    def __call__(self, rows: Sequence[tuple]) -> str:
        self.writer(rows)
        chunk = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return chunk

    def header(self) -> str:
        return self([])
