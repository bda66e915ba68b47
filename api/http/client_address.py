"""Who is on the other end of a connection: the client's address, learned through trusted proxies only.

Behind a reverse proxy every connection comes from the proxy, and anonymous budgets and caps kept
per address would be shared by every visitor. The proxy names the client in `X-Forwarded-For`; but
any client can send that header, so it is believed only from the proxies named in
``JIFEN_TRUSTED_PROXIES``: reading the header from the right, each hop that is a trusted proxy is
passed over, and the first address that is not one is the client. The ASGI scope's ``client`` is
rewritten once, here, so everything after (budgets, caps, logs) sees the same address.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """`10.0.0.1, 10.1.0.0/16, ::1` -> networks; ValueError names the first that is not one."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"not an address or network: {part!r}") from None
    return tuple(networks)


def trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_client(peer: str, forwarded_for: list[str], networks: tuple[Network, ...]) -> str:
    """The client: the peer itself unless it is a trusted proxy, else the nearest untrusted hop it names."""
    if not trusted(peer, networks):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not trusted(hop, networks):
            return hop if _is_address(hop) else peer
    return hops[0] if hops and _is_address(hops[0]) else peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class TrustingProxies:
    """ASGI layer: rewrites ``scope["client"]`` for requests and WebSockets that came through a trusted proxy."""

    def __init__(self, app, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope, receive, send) -> None:
        if self.networks and scope["type"] in ("http", "websocket") and scope.get("client"):
            host, port = scope["client"]
            if trusted(host, self.networks):
                headers = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
                scope = {**scope, "client": (forwarded_client(host, headers, self.networks), port)}
        await self.app(scope, receive, send)


def client_address(request) -> str:
    """The address of a Starlette request or WebSocket (after `TrustingProxies`), or 'unknown'."""
    client = getattr(request, "client", None)
    return client.host if client else "unknown"


class PerAddress:
    """How many of something (sockets, anonymous feeds) each client address holds, up to a cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.held: dict[str, int] = {}

    def take(self, address: str) -> bool:
        if self.held.get(address, 0) >= self.cap:
            return False
        self.held[address] = self.held.get(address, 0) + 1
        return True

    def release(self, address: str) -> None:
        left = self.held.pop(address, 0) - 1
        if left > 0:
            self.held[address] = left
