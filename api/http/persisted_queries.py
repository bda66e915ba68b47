"""Automatic persisted queries (Apollo's protocol) and an optional allow-list for prod.

A client sends ``extensions.persistedQuery.sha256Hash`` instead of the document. A known hash
runs its stored document; an unknown one answers ``PERSISTED_QUERY_NOT_FOUND``, and the client
sends the document again with the hash, which registers it. The document text is what
strawberry's parser and validation caches key on, so a known query also skips parsing and
validation. Works over POST and GET.

Documents live in this process (bounded, least recently used out) and, with Redis, in Redis for
every process. With ``JIFEN_PERSISTED_QUERIES`` (a JSON file ``{"<sha256>": "<document>"}``) the
server runs only those documents: nothing else registers, and a request without a known hash is
refused (``PERSISTED_QUERY_NOT_ALLOWED``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import OrderedDict
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers

from api.http.request_body import read_body, replaying

log = logging.getLogger("jifen.persisted")

HASH = re.compile(r"^[0-9a-f]{64}\Z")
LOCAL_SIZE = 5000
REDIS_TTL_SECONDS = 30 * 24 * 3600


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


class PersistedQueries:
    def __init__(self, redis_url: str | None = None, prefix: str = "jifen", allow_list: Path | None = None) -> None:
        self.local: OrderedDict[str, str] = OrderedDict()
        self.allow_only = allow_list is not None
        if allow_list is not None:
            documents = json.loads(allow_list.read_text(encoding="utf-8"))
            bad = [h for h, doc in documents.items() if sha256(doc) != h]
            if bad:
                raise ValueError(f"{allow_list}: {len(bad)} hashes do not match their documents")
            self.local.update(documents)
        self.redis = None
        if redis_url and not self.allow_only:
            import redis.asyncio as redis  # only processes configured for Redis need the client

            self.redis = redis.from_url(redis_url, decode_responses=True)
        self.prefix = f"{prefix}:apq:"

    async def resolve(self, query: str | None, persisted: dict | None) -> str | None:
        """The document to run, registering it when a client sends it with its hash."""
        if persisted is None:
            if self.allow_only:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_ALLOWED", "only registered documents run here")
            return query
        if not isinstance(persisted, dict):
            raise PersistedQueryError("PERSISTED_QUERY_INVALID", "persistedQuery must be an object with version "
                                                                 "1 and a sha256Hash")
        digest = persisted.get("sha256Hash")
        if persisted.get("version", 1) != 1 or not isinstance(digest, str) or not HASH.match(digest):
            raise PersistedQueryError("PERSISTED_QUERY_INVALID", "persistedQuery needs version 1 and a sha256Hash")
        if query:
            if sha256(query) != digest:
                raise PersistedQueryError("PERSISTED_QUERY_HASH_MISMATCH", "sha256Hash is not the document's hash")
            if self.allow_only and digest not in self.local:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_ALLOWED", "only registered documents run here")
            await self._store(digest, query)
            return query
        found = await self._find(digest)
        if found is None:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        return found

    async def _find(self, digest: str) -> str | None:
        if digest in self.local:
            self.local.move_to_end(digest)
            return self.local[digest]
        if self.redis is None:
            return None
        found = await self.redis.get(self.prefix + digest)
        if found is not None:
            self._remember(digest, found)
        return found

    async def _store(self, digest: str, query: str) -> None:
        if digest in self.local:
            return
        self._remember(digest, query)
        if self.redis is not None:
            try:
                await self.redis.set(self.prefix + digest, query, ex=REDIS_TTL_SECONDS)
            except Exception:  # this process still has it; another one will ask the client again
                log.exception("could not share a persisted query")

    def _remember(self, digest: str, query: str) -> None:
        self.local[digest] = query
        if len(self.local) > LOCAL_SIZE and not self.allow_only:
            self.local.popitem(last=False)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


class ResolvingPersistedQueries:
    """ASGI layer in front of GraphQL: swaps a hash for its document, or answers the APQ error."""

    def __init__(self, app, store: PersistedQueries, error_response) -> None:
        self.app = app
        self.store = store
        self.error_response = error_response  # (PersistedQueryError, Accept header) -> ASGI app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if scope["method"] == "GET":
                scope = await self._resolve_get(scope)
            elif scope["method"] == "POST":
                scope, receive = await self._resolve_post(scope, receive)
        except PersistedQueryError as error:
            await self.error_response(error, Headers(scope=scope).get("accept"))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _resolve_get(self, scope):
        raw = scope.get("query_string", b"").decode("latin-1")
        if "persistedQuery" not in raw and not self.store.allow_only:
            return scope
        params = dict(parse_qsl(raw, keep_blank_values=True))
        try:
            extensions = json.loads(params.get("extensions") or "{}")
        except ValueError:
            return scope  # strawberry answers malformed JSON itself
        query = await self.store.resolve(params.get("query"), extensions.get("persistedQuery")
                                         if isinstance(extensions, dict) else None)
        if query is not None:
            params["query"] = query
        return {**scope, "query_string": urlencode(params).encode()}

    async def _resolve_post(self, scope, receive):
        if not Headers(scope=scope).get("content-type", "").startswith("application/json"):
            return scope, receive
        body = await read_body(receive)
        replay = replaying(body, receive)
        if b"persistedQuery" not in body and not self.store.allow_only:
            return scope, replay
        try:
            data = json.loads(body)
        except ValueError:
            return scope, replay
        if not isinstance(data, dict):
            return scope, replay
        extensions = data.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        query = await self.store.resolve(data.get("query"), persisted)
        if query is None or query == data.get("query"):
            return scope, replay
        data["query"] = query
        body = json.dumps(data).encode()
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        return {**scope, "headers": headers}, replaying(body, receive)

