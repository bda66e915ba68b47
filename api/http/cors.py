"""CORS for `/graphql` over HTTP, so H5 pages served from another origin can call the API.

Which pages: `JIFEN_ALLOWED_ORIGINS` (the list the WebSocket's Origin check uses) in prod; any page in
dev. A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed page is answered
204 with the methods, the headers clients send and a max age; one from another page, or asking for a
method or header the API does not take, is answered 400 without any allow header, and so is an
`OPTIONS` that is not a well-formed preflight. An actual request from an allowed page gets the allow
header and the response headers a page may read (`Retry-After`, `X-Request-Id`); from any other page
it is answered as always, judged by its token alone, without the allow header, so the browser keeps
the answer from the page. Requests without an Origin (servers, mini-programs, curl) are untouched.

No credentials mode: the API reads a bearer token from `Authorization`, never a cookie, so no page
can make a browser send a member's authority it was not given.
"""
from __future__ import annotations

from collections.abc import Iterable

from api.http.http_protocol import with_headers

ALLOWED_METHODS = ("GET", "POST")
# What Jifen's clients send: the token and body type, Apollo's and urql's headers, the partner
# signature, and the CSRF-prevention header some GraphQL clients add.
ALLOWED_HEADERS = ("authorization", "content-type", "accept", "apollographql-client-name",
                   "apollographql-client-version", "apollo-require-preflight", "x-apollo-operation-name",
                   "graphql-client-name", "x-partner-key", "x-timestamp", "x-nonce", "x-signature")
EXPOSED_HEADERS = "Retry-After, X-Request-Id"
MAX_AGE_SECONDS = 600


def origins_of(configured: Iterable[str]) -> frozenset[str]:
    """Origins as browsers send them: scheme://host[:port], lower case, no trailing slash."""
    return frozenset(origin.strip().rstrip("/").lower() for origin in configured if origin.strip())


class CrossOrigin:
    """ASGI middleware in front of the GraphQL stack. ``allowed`` None allows every origin (dev)."""

    def __init__(self, app, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed
        self.preflight_headers = [
            (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode()),
            (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
            (b"access-control-max-age", str(MAX_AGE_SECONDS).encode()),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin, asked_method, asked_headers = None, None, None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                asked_method = value
            elif name == b"access-control-request-headers":
                asked_headers = value
        if scope["method"] == "OPTIONS":
            await self._preflight(origin, asked_method, asked_headers, send)
            return
        if origin is None or not self._allows(origin):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, self._allowing(origin, send))

    def _allows(self, origin: bytes) -> bool:
        if self.allowed is None:
            return True
        try:
            return origin.decode("latin-1").rstrip("/").lower() in self.allowed
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
            return False

    @staticmethod
    def _allowing(origin: bytes, send):
        return with_headers(send, [(b"access-control-allow-origin", origin),
                                   (b"access-control-expose-headers", EXPOSED_HEADERS.encode()), (b"vary", b"Origin")])

    async def _preflight(self, origin: bytes | None, asked_method: bytes | None, asked_headers: bytes | None,
                         send) -> None:
        problem = self._preflight_problem(origin, asked_method, asked_headers)
        if problem is not None:
            await _respond(send, 400, [(b"content-type", b"text/plain; charset=utf-8")], problem.encode())
            return
        await _respond(send, 204, [(b"access-control-allow-origin", origin), *self.preflight_headers], b"")

    def _preflight_problem(self, origin: bytes | None, asked_method: bytes | None,
                           asked_headers: bytes | None) -> str | None:
        if origin is None or asked_method is None:
            return "OPTIONS on /graphql is a CORS preflight: send Origin and Access-Control-Request-Method"
        if not self._allows(origin):
            return "this origin may not call the API (JIFEN_ALLOWED_ORIGINS)"
        if asked_method.decode("latin-1").strip().upper() not in ALLOWED_METHODS:
            return "the API takes GET and POST"
        asked = {h.strip().lower() for h in (asked_headers or b"").decode("latin-1").split(",") if h.strip()}
        refused = sorted(asked - set(ALLOWED_HEADERS))
        if refused:
            return f"headers the API does not take: {', '.join(refused)}"
        return None


async def _respond(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
