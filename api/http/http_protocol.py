"""uvicorn's HTTP protocol (httptools), with the writes of one event-loop turn sent in one system call.

uvicorn writes a response's status line and headers as soon as the application starts the response,
and its body when it comes: two `send` system calls for every GraphQL answer, which were an eighth
of a refused flash-sale attempt's core. Here writes wait for the end of the loop's turn and go out
joined, in order: the response as one segment, and the answers of several pipelined requests too.
A connection upgraded to a WebSocket gets the socket's own transport (the WebSocket protocol
writes for itself), once what waits is sent.
"""
from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def with_headers(send, headers: list[tuple[bytes, bytes]]):
    """An ASGI `send` that adds `headers` to the response it starts."""
    async def send_with_headers(message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *headers]}
        await send(message)
    return send_with_headers


class TurnWrites:
    """A transport whose writes of one loop turn reach the socket in one write; everything else is the
    socket transport's own. Closing or aborting sends (or drops) what waits first, as the socket's
    transport does with its buffer."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.waiting: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self.waiting:
            self.loop.call_soon(self.send_waiting)
        self.waiting.append(data)

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def send_waiting(self) -> None:
        if not self.waiting:
            return
        data = self.waiting[0] if len(self.waiting) == 1 else b"".join(self.waiting)
        self.waiting.clear()
        if not self.transport.is_closing():
            self.transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() + sum(map(len, self.waiting))

    def close(self) -> None:
        self.send_waiting()
        self.transport.close()

    def write_eof(self) -> None:
        self.send_waiting()
        self.transport.write_eof()

    def abort(self) -> None:
        self.waiting.clear()
        self.transport.abort()

    def __getattr__(self, name: str):
        return getattr(self.transport, name)


class TurnWritingHttp(HttpToolsProtocol):
    """Pass as uvicorn's `http` option."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(TurnWrites(transport, self.loop))

    def handle_websocket_upgrade(self) -> None:
        writes = self.transport
        if isinstance(writes, TurnWrites):
            writes.send_waiting()
            self.transport = writes.transport
        super().handle_websocket_upgrade()
