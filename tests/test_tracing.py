"""OpenTelemetry tracing (api/ops/tracing.py): with JIFEN_OTEL_ENDPOINT set, a real OTLP/HTTP exporter sends
a span per request and one per SQL statement to the collector, here a small HTTP server in the test
that decodes what it receives, on both databases."""
import http.server
import threading

import pytest

from api.http.app import create_app
from api.ops.config import Settings
from api.ops.services import Services
from persistence import direct_statements
from tests.conftest import SECRET, GraphQLClient, start_server, stop_server
from tests.documents import CHECK_IN

pytest.importorskip("opentelemetry.sdk", reason="the otel extra: pip install -e '.[otel]'")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402


@pytest.fixture
def collector():
    """An OTLP/HTTP trace collector: the spans it was sent, decoded."""
    spans = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    spans.extend((span.name, {a.key: a.value.string_value for a in span.attributes})
                                 for span in scope.spans)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", spans
    server.shutdown()


def test_a_request_and_its_sql_statements_are_traced(database_url, clock, collector):
    endpoint, spans = collector
    settings = Settings(database_url=database_url, secret=SECRET, sweep_seconds=0, otel_endpoint=endpoint)
    app = create_app(settings, clock=clock, services=Services.build(database_url, clock))
    server, thread, base_url = start_server(app)
    try:
        from api.http.auth import issue_token
        member = GraphQLClient(base_url, issue_token(SECRET, "traced"))
        assert member.data(CHECK_IN, {"key": "t1"})["checkIn"]["userErrors"] == []
    finally:
        stop_server(server, thread)  # the app's shutdown sends what is still batched
    names = [name for name, _ in spans]
    assert any(name.startswith("POST /graphql") for name in names), names
    database = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    statements = [attributes for _, attributes in spans if attributes.get("db.system") == database]
    joined = " ".join(a.get("db.statement", a.get("db.query.text", "")) for a in statements)
    assert "ledger_entries" in joined and "members" in joined, names
    assert direct_statements.SQLITE_TRACER is None  # put away with the app


def test_without_an_endpoint_nothing_is_traced(live_server):
    assert direct_statements.SQLITE_TRACER is None
    assert type(live_server.services) is Services  # and the app is the plain one (no middleware)
