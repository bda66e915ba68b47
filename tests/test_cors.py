"""CORS on /graphql (api/http/cors.py): pages on other origins may call the API in dev, only the listed ones
in prod; a refused page's request is still answered by its token, without the allow header; bad
preflights get a 400, never a 500. (A real browser's fetch from another origin: tests/test_browser.py.)"""
import httpx
import pytest

from api.http.app import create_app
from api.ops.config import Settings
from api.ops.services import Services
from tests.conftest import SECRET, LiveServer, start_server, stop_server

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # HTTP, not storage
H5 = "https://h5.brand.example"
ELSEWHERE = "https://evil.example"
ME = "{ me { points { available } } }"


def post(client, origin: str | None = None) -> httpx.Response:
    headers = {**client.headers(), **({"Origin": origin} if origin else {})}
    return httpx.post(f"{client.base_url}/graphql", json={"query": ME}, headers=headers)


def preflight(base_url: str, origin: str | None, method: str | bytes = "POST",
              headers: str = "authorization, content-type") -> httpx.Response:
    sent = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}
    if origin is not None:
        sent["Origin"] = origin
    return httpx.options(f"{base_url}/graphql", headers=sent)


@pytest.fixture
def prod_server(database_url, clock):
    settings = Settings(database_url=database_url, secret=SECRET, env="prod", sweep_seconds=0,
                        allowed_origins=frozenset({H5 + "/"}))
    services = Services.build(database_url, clock)
    server, thread, base_url = start_server(create_app(settings, clock=clock, services=services))
    yield LiveServer(base_url, clock, database_url, services)
    stop_server(server, thread)


@sqlite_only
def test_in_dev_any_page_may_call_and_read_the_answer(live_server):
    answer = preflight(live_server.base_url, "http://localhost:5173")
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert set(answer.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    allowed = answer.headers["access-control-allow-headers"].split(", ")
    assert {"authorization", "content-type", "x-partner-key", "x-signature", "apollo-require-preflight"} <= set(allowed)
    assert int(answer.headers["access-control-max-age"]) > 0
    member = live_server.member("cors-dev")
    posted = post(member, "http://localhost:5173")
    assert posted.json()["data"]["me"]["points"]["available"] == 0
    assert posted.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert posted.headers["vary"] == "Origin"
    exposed = {h.strip().lower() for h in posted.headers["access-control-expose-headers"].split(",")}
    assert exposed == {"retry-after", "x-request-id"}
    assert len(posted.headers["x-request-id"]) == 32


@sqlite_only
def test_in_prod_only_the_listed_pages_get_the_allow_header(prod_server):
    assert preflight(prod_server.base_url, H5).headers["access-control-allow-origin"] == H5
    refused = preflight(prod_server.base_url, ELSEWHERE)
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    member = prod_server.member("cors-prod")
    listed = post(member, H5)
    assert listed.headers["access-control-allow-origin"] == H5
    other = post(member, ELSEWHERE)  # judged by its token, as always
    assert other.json()["data"]["me"]["points"]["available"] == 0
    assert not any(name.startswith("access-control-") for name in other.headers)
    anonymous = httpx.post(f"{prod_server.base_url}/graphql", json={"query": ME}, headers={"Origin": ELSEWHERE})
    assert anonymous.json()["data"]["me"] is None and "access-control-allow-origin" not in anonymous.headers


@sqlite_only
def test_requests_without_an_origin_are_untouched(prod_server):
    posted = post(prod_server.member("cors-server"))
    assert posted.status_code == 200 and not any(name.startswith("access-control-") for name in posted.headers)
    assert posted.headers["x-request-id"]


@sqlite_only
@pytest.mark.parametrize("origin, method, headers", [
    (None, "POST", "content-type"),            # no Origin: not a preflight at all
    (H5, "DELETE", "content-type"),            # a method the API does not take
    (H5, "POST", "content-type, x-debug"),      # a header it does not take
    (H5, b"\xff\xfe", "authorization"),         # bytes no method has
])
def test_bad_preflights_are_a_400_without_allow_headers(live_server, origin, method, headers):
    answer = preflight(live_server.base_url, origin, method, headers)
    assert answer.status_code == 400, answer.text
    assert not any(name.startswith("access-control-allow") for name in answer.headers)


@sqlite_only
def test_an_options_request_that_is_no_preflight_is_a_400(live_server):
    answer = httpx.options(f"{live_server.base_url}/graphql")
    assert answer.status_code == 400 and "preflight" in answer.text


@sqlite_only
def test_a_throttled_answer_shows_the_page_when_to_retry(live_server):
    """Retry-After is among the headers a page may read; an error answer carries the allow header too."""
    answer = httpx.post(f"{live_server.base_url}/graphql", content=b"{not json",
                        headers={"Origin": H5, "Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.headers["access-control-allow-origin"] == H5
