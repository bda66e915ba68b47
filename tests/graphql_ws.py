"""A small graphql-transport-ws client over a real WebSocket, for the subscription tests."""
from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

import websockets

PROTOCOL = "graphql-transport-ws"


class Subscriber:
    def __init__(self, socket) -> None:
        self.socket = socket
        self.ids = 0

    async def subscribe(self, query: str, variables: dict | None = None) -> str:
        self.ids += 1
        operation = str(self.ids)
        await self.socket.send(json.dumps({"id": operation, "type": "subscribe",
                                           "payload": {"query": query, "variables": variables or {}}}))
        return operation

    async def next(self, timeout: float = 2.0) -> dict:
        """The next data message (pings are answered and skipped)."""
        while True:
            message = json.loads(text_frame(await asyncio.wait_for(self.socket.recv(), timeout)))
            if message["type"] == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
                continue
            return message

    async def nothing_for(self, seconds: float) -> bool:
        try:
            message = await self.next(timeout=seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"expected silence, got {message}")


def text_frame(frame: str | bytes) -> str:
    """graphql-transport-ws messages are JSON text: a browser's WebSocket hands a binary frame over
    as a Blob, which the graphql-ws library cannot parse."""
    assert isinstance(frame, str), f"a binary frame: {frame!r}"
    return frame


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def connected(base_url: str, token: str | None = None, **connect):
    async with websockets.connect(ws_url(base_url), subprotocols=[PROTOCOL], **connect) as socket:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(text_frame(await asyncio.wait_for(socket.recv(), 5)))
        assert ack["type"] == "connection_ack", ack
        yield Subscriber(socket)
