"""Reading an ASGI request body ahead of the app, and handing the same bytes on to it."""
from __future__ import annotations

from starlette.requests import ClientDisconnect


async def read_body(receive) -> bytes:
    """The whole body; ClientDisconnect if the client leaves first (a cut-off body must not run)."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def replaying(body: bytes, original):
    """The body again, once; after it, the connection's own messages (a disconnect, when it comes)."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
