"""What operators see: Prometheus metrics at /metrics and one JSON log line per GraphQL operation.

The operation hook runs once per request (never per field: per-field hooks cost several times
the execution itself), so observing is cheap.
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import secrets
import re
import sys
import time
from collections.abc import Iterator

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from strawberry.extensions import SchemaExtension

from domain.realtime import Outbox

log = logging.getLogger("jifen.requests")

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
MAX_OPERATION_NAME = 64
OWN_LABELS = frozenset({"unparsed", "unknown", "fragment", "other"})  # what label_of says when no field does


class Metrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("jifen_graphql_requests", "GraphQL operations served",
                                ["operation", "type", "outcome"], registry=self.registry)
        self.latency = Histogram("jifen_graphql_request_seconds", "Time to execute a GraphQL operation",
                                 ["operation"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("jifen_graphql_errors", "GraphQL errors and user errors by code", ["code"],
                              registry=self.registry)
        self.entries = Counter("jifen_ledger_entries_written", "Ledger entries committed", ["reason"],
                               registry=self.registry)
        self.holds_open = Gauge("jifen_holds_open", "Active holds on members' points", registry=self.registry)
        self.subscribers = Gauge("jifen_subscribers_connected", "Subscriptions open in this process",
                                 registry=self.registry)
        self.root_fields: frozenset[str] | None = None  # the schema's, set when it is built
        self._operations: dict[tuple[str, str, str], tuple] = {}  # bounded by the labels allowed

    def of_operation(self, name: str, kind: str, outcome: str) -> tuple:
        """The request counter and latency histogram of one operation, kept: prometheus_client's
        `labels()` takes a lock and builds a key on every call. A name that is not one of the
        schema's root fields (the document did not validate, or began with a fragment) counts as
        "other": clients must not be able to add labels, or series, without end."""
        if self.root_fields is not None and name not in self.root_fields and name not in OWN_LABELS:
            name = "other"
        key = (name, kind, outcome)
        found = self._operations.get(key)
        if found is None:
            found = self._operations[key] = (self.requests.labels(name, kind, outcome), self.latency.labels(name))
        return found

    async def count_committed(self, outbox: Outbox) -> None:
        """An after-commit listener: entries count once they are durable."""
        for change in outbox.points:
            if change.entry is not None:
                self.entries.labels(change.entry.reason.value).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def observing(metrics: Metrics):
    """A strawberry extension factory bound to the app's metrics."""

    class Observing(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            started = time.perf_counter()
            yield
            context = self.execution_context
            record(metrics, operation_label(context), operation_kind(context), error_codes(context.result),
                   time.perf_counter() - started, context.context)

    return Observing


def new_request_id() -> str:
    """32 random hex digits: a uuid4's shape, without building a UUID (it showed in request profiles)."""
    return secrets.token_hex(16)


def record(metrics: Metrics, name: str, kind: str, codes: list[str], elapsed: float, request) -> None:
    """One operation's metrics and its log line (request id, operation, caller, duration, errors)."""
    served, latency = metrics.of_operation(name, kind, "error" if codes else "ok")
    served.inc()
    latency.observe(elapsed)
    for code in codes:
        metrics.errors.labels(code).inc()
    caller = getattr(request, "caller", None)
    log.info(orjson.dumps({
        "requestId": getattr(request, "request_id", None), "operation": name, "type": kind,
        "caller": caller.actor.label if caller is not None and caller.kind != "anonymous" else "anonymous",
        "ms": round(elapsed * 1000, 2), "errors": codes}).decode())


def operation_kind(context) -> str:
    """query, mutation or subscription; "unknown" when nothing parsed or no operation has the name
    asked for (strawberry raises then, and a raise here would replace the caller's real error)."""
    if context.graphql_document is None:
        return "unknown"
    try:
        return context.operation_type.value
    except RuntimeError:
        return "unknown"


def operation_label(context) -> str:
    """The operation's first root field ("checkIn", "me"): bounded by the schema, unlike the names
    clients give their operations, so a metric label can never grow without end."""
    return label_of(context.graphql_document, context.operation_name)


def label_of(document, operation_name: str | None) -> str:
    if document is None:
        return "unparsed"
    for definition in document.definitions:
        if getattr(definition, "operation", None) is None:
            continue
        name = definition.name.value if definition.name else None
        if operation_name in (None, name):
            first = definition.selection_set.selections[0]
            return getattr(getattr(first, "name", None), "value", "fragment")[:MAX_OPERATION_NAME]
    return "unknown"


def error_codes(result) -> list[str]:
    """GraphQL error codes, and the codes of userErrors in mutation payloads."""
    if result is None:
        return []
    codes = [(e.extensions or {}).get("code", "GRAPHQL_ERROR") for e in (result.errors or [])]
    for payload in (result.data or {}).values() if isinstance(result.data, dict) else ():
        if isinstance(payload, dict):
            codes += [str(e.get("code")) for e in payload.get("userErrors") or () if isinstance(e, dict)]
    return codes


class StampingFormatter(logging.Formatter):
    """logging's formatter, with the time stamp's seconds formatted once a second, not once a line:
    with a line per request, strftime showed in request profiles."""

    _stamped: tuple[int, str] = (-1, "")  # one tuple, read and replaced whole: threads never mix two

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        if datefmt is not None or self.datefmt is not None:
            return super().formatTime(record, datefmt)
        second, stamp = self._stamped
        if int(record.created) != second:
            stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._stamped = (int(record.created), stamp)
        return self.default_msec_format % (stamp, record.msecs)


class JsonFormatter(StampingFormatter):
    """Log records as JSON objects, for `JIFEN_LOG_FORMAT=json`: an ISO-8601 UTC time stamp, and
    uvicorn's access lines with their parts as fields."""

    _utc_stamped: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        second, stamp = self._utc_stamped
        if int(record.created) != second:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            self._utc_stamped = (int(record.created), stamp)
        return f"{stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name}
        message = record.getMessage()
        try:
            parsed = orjson.loads(message) if message.startswith("{") else None
        except orjson.JSONDecodeError:
            parsed = None
        entry.update(parsed if isinstance(parsed, dict) else {"message": message})
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, http_version, status = record.args
            entry.update(client=client, method=method, path=path, status=status)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except orjson.JSONEncodeError:  # e.g. a lone surrogate from a path decoded with surrogateescape
            return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TOKEN_IN_QUERY = re.compile(r"([?&](?:token|access_token)=)[^&\s]*", re.IGNORECASE)


class HidingTokens(logging.Filter):
    """A page opened with ?token= (GraphiQL, the H5 page in dev) would write the member's token into
    the access log: the value is replaced before any formatter sees the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            path = record.args[2]
            if isinstance(path, str) and "token=" in path.lower():
                record.args = (*record.args[:2], TOKEN_IN_QUERY.sub(r"\1<hidden>", path), *record.args[3:])
        return True


def logging_config(log_format: str) -> dict:
    """One configuration for Jifen's lines and uvicorn's, applied in the server process and by uvicorn
    in each worker it starts: in JSON mode every line, uvicorn's start, stop and access lines too,
    is one JSON object."""
    formatter = {"()": "api.ops.observability.JsonFormatter"} if log_format == "json" else \
        {"()": "api.ops.observability.StampingFormatter", "fmt": TEXT_FORMAT}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"jifen": formatter},
        "filters": {"tokens": {"()": "api.ops.observability.HidingTokens"}},
        "handlers": {"jifen": {"()": "api.ops.observability.TurnFlushingHandler", "formatter": "jifen",
                               "filters": ["tokens"]}},
        "root": {"level": "INFO", "handlers": ["jifen"]},
        # uvicorn's loggers hand their lines to the root's handler instead of writing their own
        "loggers": {name: {"handlers": [], "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def lean_log_records() -> None:
    """A line per request: skip what no line shows (the logging docs' "Optimization" section)."""
    logging._srcfile = None  # noqa: SLF001 - the documented switch for caller frames
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


class TurnFlushingHandler(logging.StreamHandler):
    """Log lines to standard error, written out once per event-loop turn rather than once per line: a
    line per request made the flush's system call a fifth of the logging's cost. Outside a running
    loop (start-up, other threads) a line is written at once; at exit logging flushes what waits."""

    def __init__(self) -> None:
        try:
            descriptor = os.dup(sys.stderr.fileno())
        except (AttributeError, OSError, io.UnsupportedOperation):  # a captured stderr: write to it as is
            super().__init__()
        else:
            super().__init__(io.TextIOWrapper(io.BufferedWriter(io.FileIO(descriptor, "w"), 1 << 16),
                                              encoding="utf-8", errors="backslashreplace", line_buffering=False))
        self._flush_pending = False

    def flush(self) -> None:
        self._flush_pending = False
        super().flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            self._flush_soon()
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging's own rule: report the failure, never raise it
            self.handleError(record)

    def _flush_soon(self) -> None:
        if self._flush_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_pending = True
        loop.call_soon(self.flush)
