"""The files `jifen import` reads: CSV (UTF-8, a header row) or JSON Lines (an object a line), with
the columns domain/imports.py names for each kind; their fingerprint, their rows with line numbers,
and the report of rejected rows."""
from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from domain.imports import COLUMNS, REQUIRED, ImportKind, Rejection


class BadFile(Exception):
    """The file as a whole cannot be read (its header, its format): nothing is imported."""


def file_format(path: Path, given: str | None) -> str:
    if given:
        return given
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "csv"


def fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def count_rows(path: Path, kind: str) -> int:
    """Lines holding rows (for the progress bar): every line, less a CSV's header."""
    with path.open("rb") as file:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
    return max(0, lines - (1 if kind == "csv" else 0))


def rows(path: Path, kind: ImportKind, fmt: str) -> Iterator[tuple[int, dict]]:
    """(line number, row) for each row; a row a JSON line cannot hold is given as {"_error": why}."""
    if fmt == "csv":
        yield from _csv_rows(path, kind)
    elif fmt == "jsonl":
        yield from _jsonl_rows(path, kind)
    else:
        raise BadFile(f"unknown format {fmt!r}: csv or jsonl")


def _check_columns(kind: ImportKind, columns: list[str]) -> None:
    unknown = [c for c in columns if c not in COLUMNS[kind]]
    missing = [c for c in REQUIRED[kind] if c not in columns]
    if unknown or missing:
        raise BadFile(f"{kind.value} files have the columns {', '.join(COLUMNS[kind])} "
                      f"({', '.join(REQUIRED[kind])} required)"
                      + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                      + (f"; missing: {', '.join(missing)}" if missing else ""))


def _csv_rows(path: Path, kind: ImportKind) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames is None:
            raise BadFile("the file is empty: a CSV starts with its header")
        _check_columns(kind, [name.strip() for name in reader.fieldnames])
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
        for row in reader:
            yield reader.line_num, row


def _jsonl_rows(path: Path, kind: ImportKind) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8-sig") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                yield number, {"_error": f"not JSON: {error.msg}"}
                continue
            if not isinstance(row, dict):
                yield number, {"_error": "a line holds one JSON object"}
                continue
            unknown = [key for key in row if key not in COLUMNS[kind]]
            if unknown:
                yield number, {"_error": f"unknown keys: {', '.join(unknown)[:200]}"}
                continue
            yield number, row


class Report:
    """Rejected rows, a CSV line each (line, reason), written as they come. A resumed import adds to
    the report of the run it resumes."""

    def __init__(self, path: Path, resumed: bool) -> None:
        self.path = path
        fresh = not resumed or not path.exists()
        self.file = path.open("w" if fresh else "a", encoding="utf-8", newline="")
        self.writer = csv.writer(self.file)
        if fresh:
            self.writer.writerow(["line", "reason"])
        self.count = 0

    def __call__(self, rejection: Rejection) -> None:
        self.writer.writerow([rejection.line, rejection.reason])
        self.count += 1

    def close(self) -> None:
        self.file.close()
