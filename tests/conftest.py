"""Test fixtures: real SQLite and PostgreSQL databases, a real HTTP server, a clock tests can move.

Every storage test is parametrised over both databases. Each test gets a fresh
database copied from a template migrated once per session, so tests never see
each other's data. PostgreSQL comes from JIFEN_TEST_POSTGRES (default: the
local server); when it is unreachable the PostgreSQL half is skipped with a
message, except on CI (CI=true), where that is a failure.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn

from api.http.app import SERVER_OPTIONS, create_app
from api.http.auth import issue_token
from api.ops.config import Settings
from api.ops.services import Services
from domain.clock import ManualClock
from domain.randomness import SeededRandomSource
from persistence import migrate

POSTGRES_ADMIN = os.environ.get("JIFEN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("JIFEN_TEST_REDIS", "redis://127.0.0.1:6379/0")
SECRET = "test-secret-" + "x" * 40
# A Thursday, 10:00 in Shanghai: far enough from month ends that expiry tests choose their own dates.
START = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)
RANDOM_SEED = 20261127  # lottery seeds in tests: a failing run replays exactly
_counter = itertools.count()


def run_blocking(coroutine_function):
    """Run an admin coroutine on its own loop, whatever loop the test is on."""
    return migrate.outside_event_loop(lambda: asyncio.run(coroutine_function()))


def postgres_url(database: str) -> str:
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + database


async def _admin(*statements: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN.replace("postgresql+asyncpg", "postgresql"))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def postgres_available() -> str | None:
    try:
        run_blocking(lambda: asyncio.wait_for(_admin("SELECT 1"), 5))
    except Exception as error:  # any failure means unreachable; the reason is reported
        return f"{type(error).__name__}: {error}"
    return None


JS = Path(__file__).parent / "js"
NODE_PACKAGES = ("graphql-http", "graphql-ws", "ws")


@pytest.fixture(scope="session")
def node_tools():
    """The reference clients of tests/js (npm graphql-http, graphql-ws), installed from its lock file."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("node and npm must be installed on CI")
        pytest.skip("node/npm not installed: the graphql-http audit and graphql-ws client need them")
    if not all((JS / "node_modules" / package).exists() for package in NODE_PACKAGES):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(JS)], check=True, timeout=300,
                       capture_output=True)
    return JS


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template():
    problem = postgres_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL must be reachable on CI at {POSTGRES_ADMIN}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN} ({problem}); set JIFEN_TEST_POSTGRES")
    name = f"jifen_tpl_{os.getpid()}"
    run_blocking(lambda: _admin(f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"))
    migrate.upgrade(postgres_url(name))
    yield name
    run_blocking(lambda: _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "jifen.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"jifen_t_{os.getpid()}_{next(_counter)}"
    run_blocking(lambda: _admin(f"CREATE DATABASE {name} TEMPLATE {template}"))
    yield postgres_url(name)
    run_blocking(lambda: _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as problem:
        if os.environ.get("CI"):
            pytest.fail(f"Redis must be reachable on CI at {REDIS_URL}: {problem}")
        pytest.skip(f"Redis unreachable at {REDIS_URL} ({problem}); set JIFEN_TEST_REDIS")
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url):
    """A key prefix of this test's own in the shared Redis, its keys deleted afterwards."""
    import redis

    prefix = f"test-{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def services(database_url, clock):
    built = Services.build(database_url, clock)
    yield built
    await built.close()


@pytest.fixture
async def sqlite_services(sqlite_template, tmp_path, clock):
    """Services on SQLite only, for what only SQLite has (its writer, direct statements on sqlite3)."""
    path = tmp_path / "only-sqlite.db"
    shutil.copy(sqlite_template, path)
    built = Services.build(f"sqlite:///{path}", clock)
    yield built
    await built.close()


class SqliteStatements:
    """The statements an InlineSqlite's connection of this thread runs while the block lasts, as
    SQLite itself reports them (direct statements included)."""

    def __init__(self, inline) -> None:
        self.inline = inline
        self.statements: list[str] = []

    def __enter__(self):
        self.inline.connection()  # opened now, so it reports
        self.inline.trace(self.statements.append)
        return self

    def __exit__(self, *exc) -> None:
        self.inline.trace(None)


# One keep-alive client for every sync request: a fresh client per request costs a TLS context load (~40 ms).
HTTP = httpx.Client(timeout=30)


class GraphQLClient:
    """A real HTTP client speaking GraphQL to the live server."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def post(self, query: str, variables: dict | None = None, **kwargs) -> httpx.Response:
        return HTTP.post(f"{self.base_url}/graphql", json={"query": query, "variables": variables or {}},
                         headers=self.headers(), **kwargs)

    def execute(self, query: str, variables: dict | None = None) -> dict:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, variables: dict | None = None) -> dict:
        body = self.execute(query, variables)
        assert "errors" not in body, body
        return body["data"]

    async def execute_async(self, http: httpx.AsyncClient, query: str, variables: dict | None = None,
                            gate: asyncio.Semaphore | None = None) -> dict:
        if gate is not None:
            async with gate:  # httpx's pool slows down quadratically with a long queue of waiting requests
                return await self.execute_async(http, query, variables)
        response = await http.post(f"{self.base_url}/graphql", json={"query": query, "variables": variables or {}},
                                   headers=self.headers(), timeout=60)
        assert response.status_code == 200, response.text
        return response.json()


@contextlib.asynccontextmanager
async def services_of(live_server):
    """The domain over a live server's database and clock, for what a test drives without HTTP (jobs)."""
    services = Services.build(live_server.database_url, live_server.clock)
    try:
        yield services
    finally:
        await services.close()


async def with_services(live_server, action):
    async with services_of(live_server) as services:
        return await action(services)


@dataclass
class LiveServer:
    base_url: str
    clock: ManualClock
    database_url: str
    services: Services | None = None  # the server's own, to watch what it does (never to call its internals)

    def member(self, member_id: str | None = None, nickname: str | None = None, device: str | None = None,
               phone: str | None = None) -> GraphQLClient:
        """A member's client; ``device`` and ``phone`` (a hash) are what the brand's login service puts in
        the token (claims did and phn)."""
        member_id = member_id or f"m-{uuid.uuid4().hex[:12]}"
        return GraphQLClient(self.base_url, issue_token(SECRET, member_id, nickname=nickname, device_id=device,
                                                        phone_hash=phone))

    def staff(self, name: str = "alice-ops") -> GraphQLClient:
        return GraphQLClient(self.base_url, issue_token(SECRET, name, role="staff"))

    def store(self, store_id: str = "S1") -> GraphQLClient:
        """A store's till."""
        return GraphQLClient(self.base_url, issue_token(SECRET, store_id, role="store"))

    def anonymous(self) -> GraphQLClient:
        return GraphQLClient(self.base_url)


def start_server(app) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", **SERVER_OPTIONS))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


def stop_server(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture
def live_server(database_url, clock):
    settings = Settings(database_url=database_url, secret=SECRET, env="dev", sweep_seconds=0)
    services = Services.build(database_url, clock, SeededRandomSource(RANDOM_SEED))
    server, thread, base_url = start_server(create_app(settings, clock=clock, services=services))
    yield LiveServer(base_url, clock, database_url, services)
    stop_server(server, thread)
