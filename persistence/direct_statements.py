"""The statements every request and every change of points runs, compiled once by SQLAlchemy and run
on SQLite's own driver.

On the embedded database SQLAlchemy's execution of even a cached statement (parameters built, an
execution context, a cursor result, a row per row) costs several times what SQLite takes to run
it: a check-in's eighteen statements spent more time in SQLAlchemy than in SQLite and its commit
together. A constant statement marked with ``direct`` keeps SQLAlchemy's SQL and its column types'
own converters, and skips the rest when it runs on an inline SQLite connection. On PostgreSQL it runs
on asyncpg itself, which prepares it once per connection: SQLAlchemy's async layer (a greenlet hop,
an adapted cursor, a result) cost a home query about a third of its time. There a write transaction
runs its first statement through SQLAlchemy, which begins the transaction; a statement on asyncpg
outside a transaction would commit on its own. The threaded SQLite pools run it as any statement.

Selects, and inserts, updates and deletes (with RETURNING or not) take the direct path. An insert
or update is compiled for the parameter names it is given, as SQLAlchemy compiles it; one whose
columns have defaults computed in Python is refused at compile time (only SQLAlchemy runs those).
"""
from __future__ import annotations

import re
import sqlite3
from collections import namedtuple

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, MultipleResultsFound, NoResultFound, OperationalError
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.util import find_tables

DIRECT = "jifen_direct"


def direct(statement):
    """Mark a module-level statement (bound parameters only, no IN lists) for the direct path."""
    return statement.execution_options(**{DIRECT: True})


class DirectRows(list):
    """The part of a SQLAlchemy result the repositories use: iteration, ``first()``, ``scalar()``,
    ``scalar_one()`` and ``rowcount``."""

    rowcount = -1

    def first(self):
        return self[0] if self else None

    def all(self):
        return list(self)

    def scalar(self):
        return self[0][0] if self else None

    def scalar_one(self):
        if len(self) != 1:
            raise NoResultFound("no row") if not self else MultipleResultsFound("more than one row")
        return self[0][0]


class DirectStatement:
    """One statement as SQLite runs it: SQL text, positional parameters with their converters, row type."""

    def __init__(self, statement, dialect, keys: tuple[str, ...] = ()) -> None:
        dml = isinstance(statement, UpdateBase)
        compiled = statement.compile(dialect=dialect, column_keys=list(keys)) if dml else \
            statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("an IN list changes the SQL with its length: run it through SQLAlchemy")
        if dml and (compiled.insert_prefetch or compiled.update_prefetch):
            raise ValueError("column defaults computed in Python: run it through SQLAlchemy")
        self.sql = compiled.string
        # The table an insert, update or delete changes, when it reads no other and can be a WITH query:
        # writes sent together (`with_writes_before`) must change different tables and read none of the
        # others'. None for any other statement, which is never sent with others.
        self.table = statement.table.name if dml and not self.sql.lstrip()[:4].upper() == "WITH" and {
            table.name for table in find_tables(statement, include_crud=True)} == {statement.table.name} else None
        self.names = tuple(compiled.positiontup or ())
        self.binders = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self.names)
        # Values written into the statement (``limit(1)``) are bound parameters too.
        self.fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        columns = statement.exported_columns if dml else statement.selected_columns
        self.row = namedtuple("Row", columns.keys())._make if len(columns) else None
        self.converters = tuple((i, convert) for i, column in enumerate(columns)
                                if (convert := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None)

    def _values(self, parameters: dict) -> tuple:
        if self.fixed:
            parameters = {**self.fixed, **parameters}
        return tuple(parameters[name] if bind is None else bind(parameters[name])
                     for name, bind in zip(self.names, self.binders))

    def _rows(self, fetched) -> DirectRows:
        if not self.converters:
            return DirectRows(map(self.row, fetched))
        return DirectRows(self.row(self._converted(row)) for row in fetched)

    async def run_on_asyncpg(self, driver: asyncpg.Connection, parameters: dict,
                             before: list[tuple[DirectStatement, tuple]] = (), values: tuple | None = None
                             ) -> DirectRows:
        """On PostgreSQL: asyncpg prepares the statement once per connection and keeps it. ``before``:
        writes sent in the same statement, ahead of this one (`with_writes_before`); ``values``: the
        parameters already in the statement's order."""
        if values is None:
            values = self._values(parameters)
        sql = self.sql
        if before:
            sql, values = with_writes_before(before, self, values)
        for trace in POSTGRES_TRACES:
            trace(sql)
        try:
            if self.row is not None:
                fetched = await driver.fetch(sql, *values)
                rows = self._rows(fetched)
                rows.rowcount = len(fetched)
                return rows
            status = await driver.execute(sql, *values)
        except asyncpg.PostgresError as error:
            raise postgres_error(sql, values, error) from error
        except Exception as error:  # on the client's side: a bad argument, or a connection gone or broken
            broken = driver.is_closed() or isinstance(error, (asyncpg.InternalClientError, OSError,
                                                              asyncpg.ConnectionDoesNotExistError))
            raise DBAPIError(sql, values, error, connection_invalidated=broken) from error
        rows = DirectRows()
        count = status.rpartition(" ")[2]
        rows.rowcount = int(count) if count.isdigit() else -1
        return rows

    def run(self, driver: sqlite3.Connection, parameters: dict) -> DirectRows:
        if SQLITE_TRACER is not None:  # past SQLAlchemy, so past its tracing: a span of our own
            with SQLITE_TRACER.start_as_current_span(self.sql.split(None, 1)[0], attributes={
                    "db.system": "sqlite", "db.statement": self.sql}):
                return self._run_on_sqlite(driver, parameters)
        return self._run_on_sqlite(driver, parameters)

    def _run_on_sqlite(self, driver: sqlite3.Connection, parameters: dict) -> DirectRows:
        values = self._values(parameters)
        try:
            cursor = driver.execute(self.sql, values)
            fetched = cursor.fetchall() if self.row is not None else ()
        except sqlite3.Error as error:  # as SQLAlchemy would raise it, for the retry rules that read it
            raise DBAPIError.instance(self.sql, values, error, sqlite3.Error) from error
        rows = self._rows(fetched)
        rows.rowcount = cursor.rowcount
        return rows

    def _converted(self, row: tuple) -> list:
        values = list(row)
        for i, convert in self.converters:
            values[i] = convert(values[i])
        return values


_joined: dict[tuple[int, ...], str] = {}


def with_writes_before(writes: list[tuple[DirectStatement, tuple]], last: DirectStatement,
                       values: tuple) -> tuple[str, tuple]:
    """One PostgreSQL statement for several: the writes as data-modifying WITH queries, then the last.

    PostgreSQL runs every such query once and to completion, all in one snapshot and in no set order;
    so each changes a table no other changes (the caller's rule), and none reads what another writes.
    The SQL of each combination is built once, and asyncpg prepares it once per connection."""
    key = tuple(id(plan) for plan, _ in writes) + (id(last),)
    sql = _joined.get(key)
    if sql is None:
        parts, offset = [], 0
        for i, (plan, plan_values) in enumerate(writes):
            parts.append(f"behind_{i} AS ({numbered_from(plan.sql, offset)})")
            offset += len(plan_values)
        sql = _joined[key] = f"WITH {', '.join(parts)} {numbered_from(last.sql, offset)}"
    return sql, tuple(value for _, plan_values in writes for value in plan_values) + values


def numbered_from(sql: str, offset: int) -> str:
    """asyncpg's parameters ($1, $2 ...) renumbered to follow ``offset`` others."""
    return PARAMETER.sub(lambda found: f"${int(found.group(1)) + offset}", sql) if offset else sql


PARAMETER = re.compile(r"\$(\d+)")


# OpenTelemetry's tracer while tracing is on (api/ops/tracing.py), for the statements run on sqlite3 itself.
SQLITE_TRACER = None

# Callbacks given each statement run on asyncpg (SQLAlchemy's events do not see them): statement counts.
POSTGRES_TRACES: list = []


def postgres_error(sql: str, values: tuple, error: asyncpg.PostgresError) -> DBAPIError:
    """The error as SQLAlchemy raises it, for the retry rules that read its class and SQLSTATE."""
    state = error.sqlstate or ""
    if state.startswith(("08", "57P")):  # the server dropped or is shutting down the connection
        return DBAPIError(sql, values, error, connection_invalidated=True)
    if state.startswith("23"):
        return IntegrityError(sql, values, error)
    if state.startswith("40"):
        return OperationalError(sql, values, error)
    return DBAPIError(sql, values, error)


# Keyed by the statement's identity, the dialect and, for an insert or update, the parameter names
# it is given: only module-level constants are marked, so an id is never reused.
_compiled: dict[tuple[int, str, tuple[str, ...]], DirectStatement] = {}


def direct_statement(statement, parameters, dialect) -> DirectStatement | None:
    """The compiled form of a marked statement run with one set of parameters, None for any other."""
    if not isinstance(parameters, dict | None):
        return None  # many sets of parameters: SQLAlchemy runs them
    keys = tuple(parameters) if parameters and isinstance(statement, UpdateBase) else ()
    key = (id(statement), dialect.name, keys)
    found = _compiled.get(key)
    if found is None:
        if not statement.get_execution_options().get(DIRECT):
            return None  # not kept: unmarked statements are often built per call
        found = _compiled[key] = DirectStatement(statement, dialect, keys)
    return found
