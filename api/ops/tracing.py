"""OpenTelemetry tracing, when `JIFEN_OTEL_ENDPOINT` names an OTLP/HTTP collector: a span per request
(the ASGI instrumentation) and one per SQL statement (SQLAlchemy's and asyncpg's instrumentations, and
the statements Jifen runs on SQLite's own driver). The packages are the `otel` extra
(`pip install 'jifen[otel]'`); without the variable nothing of this is imported or run."""
from __future__ import annotations

import logging
from typing import Any

from persistence import direct_statements
from persistence.database import Database

log = logging.getLogger("jifen.tracing")


class Tracing:
    """The tracer provider of one app, and the instrumentation it installed (removed at shutdown, so
    another app in the same process, as in the tests, can install its own)."""

    def __init__(self, endpoint: str, database: Database) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.provider = TracerProvider(resource=Resource.create({"service.name": "jifen"}))
        self.provider.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
        engines = {id(e.sync_engine.pool): e.sync_engine for e in (database.write_engine, database.read_engine)}
        engines.update({id(inline.engine): inline.engine
                        for inline in (database.inline_reads, database.inline_writes) if inline is not None})
        self.instrumentors: list[Any] = [SQLAlchemyInstrumentor(), AsyncPGInstrumentor()]
        self.instrumentors[0].instrument(engines=list(engines.values()), tracer_provider=self.provider)
        if database.dialect == "postgresql":
            self.instrumentors[1].instrument(tracer_provider=self.provider)
        else:
            self.instrumentors.pop()
        direct_statements.SQLITE_TRACER = self.provider.get_tracer("jifen.sqlite")
        log.info("tracing to %s", endpoint)

    def wrap(self, app):
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        # A span per request; not one per ASGI message (a WebSocket's every frame)
        return OpenTelemetryMiddleware(app, tracer_provider=self.provider, exclude_spans=["receive", "send"])

    def close(self) -> None:
        direct_statements.SQLITE_TRACER = None
        for instrumentor in self.instrumentors:
            instrumentor.uninstrument()
        self.provider.shutdown()  # sends what is still batched
