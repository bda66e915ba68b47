"""Automatic persisted queries (Apollo's protocol) over POST and GET, and the allow-list mode."""
import hashlib
import json

import httpx
import pytest

from api.http.app import create_app
from api.ops.config import Settings
from persistence import migrate
from tests.conftest import SECRET, start_server, stop_server

TIERS = "query Tiers { tiers { code } }"
DIGEST = hashlib.sha256(TIERS.encode()).hexdigest()
PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": DIGEST}}


def code_of(body):
    return body["errors"][0]["extensions"]["code"]


def test_miss_register_then_hit_over_post_and_get(live_server):
    url = f"{live_server.base_url}/graphql"
    miss = httpx.post(url, json={"extensions": PERSISTED})
    assert miss.status_code == 200 and code_of(miss.json()) == "PERSISTED_QUERY_NOT_FOUND"
    registered = httpx.post(url, json={"query": TIERS, "extensions": PERSISTED}).json()
    assert registered["data"]["tiers"]
    hit = httpx.post(url, json={"extensions": PERSISTED}).json()
    assert hit["data"] == registered["data"]
    over_get = httpx.get(url, params={"extensions": json.dumps(PERSISTED)}).json()
    assert over_get["data"] == registered["data"]
    wrong = httpx.post(url, json={"query": "{ tiers { name } }", "extensions": PERSISTED}).json()
    assert code_of(wrong) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert code_of(httpx.post(url, json={"extensions": {"persistedQuery": {"sha256Hash": "x"}}}).json()) == \
        "PERSISTED_QUERY_INVALID"


@pytest.fixture
def allow_listed(tmp_path):
    documents = tmp_path / "documents.json"
    documents.write_text(json.dumps({DIGEST: TIERS}), encoding="utf-8")
    settings = Settings(database_url=f"sqlite:///{tmp_path}/a.db", secret=SECRET, env="prod", sweep_seconds=0,
                        persisted_queries=documents)
    migrate.upgrade(settings.database_url)
    server, thread, base_url = start_server(create_app(settings))
    yield f"{base_url}/graphql"
    stop_server(server, thread)


def test_the_allow_list_runs_registered_documents_only(allow_listed):
    assert httpx.post(allow_listed, json={"extensions": PERSISTED}).json()["data"]["tiers"]
    plain = httpx.post(allow_listed, json={"query": "{ tiers { name } }"}).json()
    assert code_of(plain) == "PERSISTED_QUERY_NOT_ALLOWED"
    other = "{ tiers { name } }"
    smuggled = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(other.encode()).hexdigest()}}
    assert code_of(httpx.post(allow_listed, json={"query": other, "extensions": smuggled}).json()) == \
        "PERSISTED_QUERY_NOT_ALLOWED"
