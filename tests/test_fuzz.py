"""Hostile input for every root field, generated from the live schema (hypothesis-graphql).

For each root query and mutation field, documents that validate (with random literals: odd text,
NUL characters, huge numbers, dates at the calendar's ends) and documents with one schema violation
are sent over real HTTP as an anonymous visitor, a member, staff and a signed partner, on SQLite and
PostgreSQL. Whatever comes in: no 5xx, no INTERNAL_SERVER_ERROR, every error with a code, nothing
logged as an error or with a traceback, and afterwards every balance recomputes from the ledger.

CI runs a bounded, derandomised pass (``JIFEN_FUZZ_EXAMPLES`` per field, caller and mode; 2 by
default). Locally, ``JIFEN_FUZZ_EXAMPLES=50 pytest tests/test_fuzz.py`` searches far wider, with a
fresh random seed each run.
"""
from __future__ import annotations

import base64
import logging
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis_graphql import nodes, strategies as gql
from hypothesis_graphql._strategies.mode import Mode

from api.ops import demo
from api.execution.schema import build_schema
from tests.conftest import HTTP, with_services
from tests.test_api_partners import PartnerClient

EXAMPLES = int(os.environ.get("JIFEN_FUZZ_EXAMPLES", "2"))
# Ids of what the demo brand holds (and of what it does not), beside arbitrary text, so documents reach
# real objects as often as they are refused at the id.
TYPES = ("Member", "MallItem", "FlashSale", "Lottery", "LotteryPrize", "LotteryDraw", "Redemption", "LedgerEntry",
         "GroupRedemption", "AssistCampaign", "Submission", "PartnerExchange", "Order", "Notification", "Task")
KEYS = st.one_of(st.integers(min_value=0, max_value=40).map(str),
                 st.sampled_from(["demo-alice", "demo-bob", "demo-carol", "DEMO-1001", "DEMO-1002"]))
IDS = st.one_of(st.tuples(st.sampled_from(TYPES), KEYS).map(lambda t: base64.b64encode(f"{t[0]}:{t[1]}".encode())
                                                            .decode()),
                st.sampled_from(["demo-alice", "demo-bob"]), st.text(max_size=80))
SCALARS = {
    "ID": IDS.map(nodes.String),
    "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
    "DateTime": st.one_of(st.datetimes(), st.datetimes(timezones=st.timezones())).map(
        lambda d: nodes.String(d.isoformat())),
    "Long": st.integers(min_value=-(2**63), max_value=2**63).map(nodes.Int),
}


class Complaints(logging.Handler):
    """Every record the server logs as an error, or with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


@pytest.fixture
def complaints():
    handler = Complaints()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def defects(response) -> list[str]:
    if response.status_code >= 500:
        return [f"HTTP {response.status_code}: {response.text[:300]}"]
    try:
        body = response.json()
    except ValueError:
        return [f"not JSON ({response.status_code}): {response.text[:300]}"]
    found = []
    for error in body.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        if code in (None, "INTERNAL_SERVER_ERROR"):
            found.append(f"{code}: {error.get('message')}")
    return found


def send(client, document: str):
    if isinstance(client, PartnerClient):
        return client.post(document)
    return HTTP.post(f"{client.base_url}/graphql", json={"query": document}, headers=client.headers())


async def test_no_generated_request_breaks_the_server(live_server, complaints):
    await with_services(live_server, demo.seed)
    partner = PartnerClient(live_server, *await with_services(live_server, demo.partner_key))
    callers = {"anonymous": live_server.anonymous(), "member": live_server.member("demo-alice"),
               "staff": live_server.staff(), "partner": partner}
    schema = build_schema()._schema
    found: list[str] = []
    for kind, roots, strategy in (("query", schema.query_type.fields, gql.queries),
                                  ("mutation", schema.mutation_type.fields, gql.mutations)):
        for field, definition in roots.items():
            # A field without arguments has nothing a document could get wrong but its selection.
            for mode in (Mode.POSITIVE, Mode.NEGATIVE) if definition.args else (Mode.POSITIVE,):
                documents = strategy(schema, fields=[field], custom_scalars=SCALARS, mode=mode)

                @given(document=documents, caller=st.sampled_from(sorted(callers)))
                @settings(max_examples=EXAMPLES * len(callers), deadline=None, database=None,
                          derandomize=EXAMPLES <= 2, suppress_health_check=list(HealthCheck))
                def attack(document: str, caller: str) -> None:
                    for defect in defects(send(callers[caller], document)):
                        found.append(f"{caller} {kind} {field} ({mode.name}): {defect}\n{document}")

                attack()
    assert found == [], "\n\n".join(found[:5])
    assert [f"{r.name}: {r.getMessage()}" for r in complaints.records] == []
    report = await with_services(live_server, lambda s: s.reconciliation.run())
    assert report.ok, report.problems[:5]
