"""The selects every request runs, compiled once by SQLAlchemy and run on SQLite's own driver.

On the embedded database SQLAlchemy's execution of even a cached statement (parameters built, an
execution context, a cursor result, a row per row) costs several times what SQLite takes to answer
it. A constant select marked with ``direct`` keeps SQLAlchemy's SQL and its column types' own
converters, and skips the rest when it runs on an inline SQLite connection; anywhere else (PostgreSQL,
the threaded SQLite pools) it is an ordinary statement.
"""
from __future__ import annotations

import sqlite3
from collections import namedtuple

from sqlalchemy.exc import DBAPIError

DIRECT = "jifen_direct_read"


def direct(statement):
    """Mark a module-level select (bound parameters only, no IN lists) for the direct path."""
    return statement.execution_options(**{DIRECT: True})


class DirectRows(list):
    """The part of a SQLAlchemy result the repositories use: iteration, ``first()``, ``scalar()``."""

    def first(self):
        return self[0] if self else None

    def all(self):
        return list(self)

    def scalar(self):
        return self[0][0] if self else None


class DirectRead:
    """One select as SQLite runs it: SQL text, positional parameters with their converters, row type."""

    def __init__(self, statement, dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("an IN list changes the SQL with its length: run it through SQLAlchemy")
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup or ())
        self.binders = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self.names)
        # Values written into the statement (``limit(1)``) are bound parameters too.
        self.fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        columns = statement.selected_columns
        self.row = namedtuple("Row", columns.keys())._make
        self.converters = tuple((i, convert) for i, column in enumerate(columns)
                                if (convert := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None)

    def run(self, driver: sqlite3.Connection, parameters: dict) -> DirectRows:
        if self.fixed:
            parameters = {**self.fixed, **parameters}
        values = tuple(parameters[name] if bind is None else bind(parameters[name])
                       for name, bind in zip(self.names, self.binders))
        try:
            fetched = driver.execute(self.sql, values).fetchall()
        except sqlite3.Error as error:  # as SQLAlchemy would raise it, for the retry rules that read it
            raise DBAPIError.instance(self.sql, values, error, sqlite3.Error) from error
        if not self.converters:
            return DirectRows(map(self.row, fetched))
        return DirectRows(self.row(self._converted(row)) for row in fetched)

    def _converted(self, row: tuple) -> list:
        values = list(row)
        for i, convert in self.converters:
            values[i] = convert(values[i])
        return values


# Keyed by the statement's identity: only module-level constants are marked, so an id is never reused.
_compiled: dict[int, DirectRead] = {}


def direct_read(statement, dialect) -> DirectRead | None:
    """The compiled form of a marked statement, None for any other."""
    found = _compiled.get(id(statement))
    if found is None:
        if not statement.get_execution_options().get(DIRECT):
            return None  # not kept: unmarked statements are often built per call
        found = _compiled[id(statement)] = DirectRead(statement, dialect)
    return found
