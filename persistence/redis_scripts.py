"""Lua scripts on Redis over one pipelined connection: the calls on every request's way.

Each request of a rush runs two scripts (the cost budget, the admission gate). Through redis-py's
asyncio client a call costs about 150 µs of the process's core: a connection taken from the pool
and given back, a retry wrapper, the command packed and the reply parsed in Python. Here every call
of the process shares one connection: the command is packed by hiredis, the commands of one turn of
the event loop are written together (one system call for all the requests that reached Redis in that
turn), replies come back in the order commands were sent (Redis answers one connection in order), and
each wakes the caller waiting at the head of the queue.

A call that cannot be answered raises redis-py's own errors (`ConnectionError`, `TimeoutError`,
`ResponseError`), so callers keep one way of handling Redis. A connection that fails, or a reply
that does not come within the timeout, fails every call waiting on it; the next call connects again.
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import ssl
import time
from collections.abc import Sequence

import hiredis
from redis.asyncio.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Reply = object


class Script:
    """A script known by its SHA1, sent whole only when Redis does not have it (first use, a restart)."""

    def __init__(self, link: "ScriptLink", source: str) -> None:
        self.link = link
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: Sequence[str] = (), args: Sequence[object] = ()) -> Reply:
        try:
            return await self.link.command("EVALSHA", self.sha, len(keys), *keys, *args)
        except ResponseError as error:
            if not str(error).startswith("NOSCRIPT"):
                raise
        return await self.link.command("EVAL", self.source, len(keys), *keys, *args)


class _Replies(asyncio.Protocol):
    """The connection: commands written as they come, each reply handed to the oldest waiting call."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.reader = hiredis.Reader(encoding="utf-8", replyError=ResponseError)
        self.waiting: collections.deque[tuple[asyncio.Future, float]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.lost: Exception | None = None
        self.watchdog: asyncio.TimerHandle | None = None
        self.unsent: list[bytes] = []  # this turn's commands, written together at its end

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future, _ = self.waiting.popleft()
            if future.done():  # its caller gave up (cancelled): the reply is dropped, the order kept
                continue
            if isinstance(reply, ResponseError):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def connection_lost(self, error: Exception | None) -> None:
        if self.lost is None:
            self.lost = RedisConnectionError(f"Redis connection lost: {error or 'closed'}")
        self._fail_waiting()

    def _fail_waiting(self) -> None:
        while self.waiting:
            future, _ = self.waiting.popleft()
            if not future.done():
                future.set_exception(self.lost)
                future.exception()  # retrieved here: a caller that gave up is not reported as lost
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None

    def send(self, packed: bytes) -> asyncio.Future:
        if self.lost is not None:
            raise self.lost
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.append((future, time.monotonic()))
        if not self.unsent:
            loop.call_soon(self._write_unsent)
        self.unsent.append(packed)
        if self.watchdog is None:
            self.watchdog = loop.call_later(self.timeout, self._check_overdue)
        return future

    def _write_unsent(self) -> None:
        unsent, self.unsent = self.unsent, []
        if self.lost is None:  # else their callers have been failed already
            self.transport.write(b"".join(unsent))

    def _check_overdue(self) -> None:
        """One timer for the whole queue: replies come in order, so only the oldest call can be overdue."""
        self.watchdog = None
        if not self.waiting:
            return
        overdue_at = self.waiting[0][1] + self.timeout
        now = time.monotonic()
        if now >= overdue_at:
            self.lost = RedisTimeoutError(f"no reply from Redis within {self.timeout} s")
            self.transport.abort()
            self._fail_waiting()
            return
        self.watchdog = asyncio.get_running_loop().call_later(overdue_at - now, self._check_overdue)


class ScriptLink:
    """One process's pipelined connection to the Redis at `url` (redis://, rediss:// or unix://)."""

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        self.options = parse_url(url)
        self.tls = self.options.get("connection_class") is SSLConnection
        self.timeout = timeout
        self.replies: _Replies | None = None
        self.connecting: asyncio.Future | None = None

    def register_script(self, source: str) -> Script:
        return Script(self, source)

    async def command(self, *parts: object) -> Reply:
        replies = self.replies
        if replies is None or replies.lost is not None:
            replies = await self._connected()
        return await replies.send(hiredis.pack_command(parts))

    async def _connected(self) -> _Replies:
        """Calls arriving while a connection is being made wait for that one."""
        if self.connecting is None:
            self.connecting = asyncio.ensure_future(self._connect())
        pending = self.connecting
        try:
            return await asyncio.shield(pending)
        finally:
            if self.connecting is pending and pending.done():
                self.connecting = None

    async def _connect(self) -> _Replies:
        loop = asyncio.get_running_loop()
        options = self.options
        try:
            if "path" in options:
                _, replies = await asyncio.wait_for(loop.create_unix_connection(
                    lambda: _Replies(self.timeout), options["path"]), self.timeout)
            else:
                host = options.get("host", "localhost")
                _, replies = await asyncio.wait_for(loop.create_connection(
                    lambda: _Replies(self.timeout), host, options.get("port", 6379),
                    ssl=ssl.create_default_context() if self.tls else None), self.timeout)
        except (OSError, asyncio.TimeoutError) as error:
            raise RedisConnectionError(f"cannot connect to Redis: {error}") from error
        await self._introduce(replies)
        self.replies = replies
        return replies

    async def _introduce(self, replies: _Replies) -> None:
        options = self.options
        if options.get("password") is not None:
            credentials = [options["username"]] if options.get("username") else []
            await replies.send(hiredis.pack_command(("AUTH", *credentials, options["password"])))
        if options.get("db"):
            await replies.send(hiredis.pack_command(("SELECT", options["db"])))

    async def close(self) -> None:
        replies, self.replies = self.replies, None
        if replies is not None and replies.transport is not None:
            replies.lost = RedisConnectionError("closed")
            replies.transport.close()
