"""`GET /export/{kind}`: what `jifen export` writes, streamed over HTTP to a brand's integration
(a token with the `export` scope) or staff, as CSV or JSON Lines."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.http.auth import InvalidToken, caller_from_header
from api.http.json_posts import error_response
from api.ops.export_files import Chunks, since_of
from domain.exports import COLUMNS, ExportKind

log = logging.getLogger("jifen.export")
EXPORT_SCOPE = "export"
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
QUEUED_BATCHES = 4  # a slow reader holds the database read back rather than the server's memory filling


def exporting(services, secret: str):
    async def export(request: Request) -> Response:
        accept = request.headers.get("accept")
        try:
            caller = caller_from_header(secret, request.headers.get("authorization"))
        except InvalidToken as error:
            return error_response(401, str(error), "UNAUTHENTICATED", accept)
        if caller.kind == "anonymous":
            return error_response(401, "send an integration's or staff's bearer token", "UNAUTHENTICATED", accept)
        if not caller.holds(EXPORT_SCOPE):
            return error_response(403, "exports are for integrations with the export scope, and staff",
                                  "FORBIDDEN", accept)
        try:
            kind = ExportKind(request.path_params["kind"])
        except ValueError:
            return error_response(404, "export members, ledger or redemptions", "NOT_FOUND", accept)
        fmt = request.query_params.get("format", "csv")
        try:
            since = since_of(request.query_params.get("since"))
            if fmt not in MEDIA_TYPES:
                raise ValueError("format is csv or jsonl")
        except ValueError as error:
            return error_response(400, str(error), "BAD_USER_INPUT", accept)
        return StreamingResponse(_stream(services, kind, since, fmt), media_type=MEDIA_TYPES[fmt], headers={
            "content-disposition": f'attachment; filename="{kind.value}.{fmt}"'})

    return export


async def _stream(services, kind: ExportKind, since, fmt: str):
    chunks, queue = Chunks(fmt, COLUMNS[kind]), asyncio.Queue(QUEUED_BATCHES)

    async def produce() -> None:
        try:
            await services.exports.run(kind, since, lambda rows: queue.put(chunks(rows)))
        except Exception:  # the stream ends short; the reason goes to the log
            log.exception("an export of %s failed", kind.value)
        finally:
            await queue.put(None)

    header = chunks.header()
    if header:
        yield header
    producer = asyncio.create_task(produce())
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer
