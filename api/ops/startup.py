"""What goes wrong when `jifen` starts, said in one line: the problem and how to fix it.

A wrong DATABASE_URL used to end in a traceback of 14-198 lines whose meaning was on the last. The
CLI asks `explained` about whatever a command raised; a problem it recognises is printed as one
line and the command exits with status 2 (`--debug` shows the traceback instead). Anything it does
not recognise is a bug and keeps its traceback.
"""
from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from persistence.database import DatabaseServed

SUPPORTED = "Jifen runs on SQLite (sqlite:///path/to/jifen.db) or PostgreSQL (postgresql://user@host:5432/db)"


class StartupProblem(Exception):
    """A configuration problem the operator can fix; the message says what and how."""


def shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a URL)"


def check_database_url(url: str) -> None:
    """Before anything connects: a URL that parses, names a database Jifen runs on, and for SQLite a
    file whose directory exists and may be written."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StartupProblem(f"DATABASE_URL is not a database URL: {SUPPORTED}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise StartupProblem(f"DATABASE_URL names {backend!r}, which Jifen does not run on: {SUPPORTED}")
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        directory = Path(parsed.database).resolve().parent
        if not directory.is_dir():
            raise StartupProblem(f"the SQLite database's directory {directory} does not exist: create it, "
                                 "or point DATABASE_URL elsewhere")
        if not os.access(directory, os.W_OK):
            raise StartupProblem(f"the SQLite database's directory {directory} is not writable by this user: "
                                 "SQLite writes its journal beside the file")


def check_port(host: str, port: int) -> None:
    """The address the server is to listen on is free (uvicorn would otherwise exit after start-up)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise StartupProblem(f"--host {host} is not an address of this machine") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise StartupProblem(f"port {port} on {host} is in use: stop what listens there, "
                                     "or pass another --port") from None
            if error.errno in (errno.EACCES, errno.EPERM):
                raise StartupProblem(f"this user may not listen on port {port}: pick a port above 1023") from None
            raise StartupProblem(f"cannot listen on {host}:{port}: {error.strerror}") from None


def explained(error: BaseException, database_url: str | None) -> str | None:
    """One line for a start-up problem the operator can fix; None for anything else (a bug)."""
    if isinstance(error, StartupProblem | DatabaseServed):
        return str(error)
    if isinstance(error, NoSuchModuleError | ModuleNotFoundError) and database_url is not None:
        return f"DATABASE_URL {shown(database_url)} needs a driver Jifen does not use: {SUPPORTED}"
    return _database_problem(error, database_url) if database_url else None


def _database_problem(error: BaseException, database_url: str) -> str | None:
    """Walk the causes: SQLAlchemy wraps the driver's error, which may wrap the socket's."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        line = _one_cause(current, database_url)
        if line is not None:
            return line
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None


def _one_cause(error: BaseException, database_url: str) -> str | None:
    url = make_url(database_url)
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    name = type(error).__name__
    if name == "InvalidCatalogNameError":
        return (f"PostgreSQL at {where} has no database {url.database!r}: create it "
                f"(createdb {url.database}) or fix DATABASE_URL")
    if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
        return f"PostgreSQL at {where} refused user {url.username!r}: check the user and password in DATABASE_URL"
    if isinstance(error, ConnectionRefusedError) or (isinstance(error, OSError) and error.errno == errno.ECONNREFUSED):
        return f"cannot reach PostgreSQL at {where} (connection refused): is it running? Check DATABASE_URL"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the database host {url.host!r}: check DATABASE_URL"
    if isinstance(error, TimeoutError):
        return f"PostgreSQL at {where} did not answer in time: check the host, port and firewall in DATABASE_URL"
    if name == "OperationalError" and "unable to open database file" in str(error):
        return f"SQLite cannot open {url.database}: check the path and its permissions in DATABASE_URL"
    return None
