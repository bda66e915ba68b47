"""A real browser (Debian's headless Chromium) calling the API from a page on another origin, as an H5
page does: the fetch goes through CORS (api/cors.py) when the page's origin is allowed, and fails
in the browser when it is not. `.ci/run` installs Chromium; elsewhere these tests skip without it."""
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from html import unescape
from pathlib import Path

import pytest

from api.app import create_app
from api.config import Settings
from api.services import Services
from tests.conftest import SECRET, LiveServer, start_server, stop_server

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the browser, not storage

PAGE = """<!doctype html><html><body><script>
fetch(%(api)s, {method: "POST", headers: {"Authorization": "Bearer " + %(token)s,
                                          "Content-Type": "application/json"},
                body: JSON.stringify({query: "{ me { points { available } } }"})})
  .then(async (response) => {
    const body = await response.json();
    document.body.setAttribute("data-result", JSON.stringify(
      {status: response.status, requestId: response.headers.get("X-Request-Id"), body}));
  })
  .catch((error) => document.body.setAttribute("data-result", JSON.stringify({error: String(error)})));
</script></body></html>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium must be installed on CI (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium here (apt-get install chromium) for the browser tests")
    return found


@pytest.fixture
def page_server():
    """Pages served from an origin of their own (another port than the API's)."""
    directory = tempfile.mkdtemp(prefix="jifen-pages-")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=directory)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Path(directory), f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    shutil.rmtree(directory, ignore_errors=True)


def fetched_in_browser(chromium: str, page_server, api_url: str, token: str) -> dict:
    directory, origin = page_server
    (directory / "page.html").write_text(PAGE % {"api": json.dumps(f"{api_url}/graphql"),
                                                 "token": json.dumps(token)}, encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        # Virtual time does not advance while a fetch is pending: the DOM is dumped once it settled.
        dumped = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                 f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom",
                                 f"{origin}/page.html"], capture_output=True, text=True, timeout=120)
    found = re.search(r'data-result="([^"]*)"', dumped.stdout)
    assert found, f"the page did not finish: {dumped.stdout[-500:]} {dumped.stderr[-2000:]}"
    return json.loads(unescape(found.group(1)))


@sqlite_only
def test_a_page_on_another_origin_reads_the_balance_in_dev(chromium, page_server, live_server):
    member = live_server.member("browser-dev")
    result = fetched_in_browser(chromium, page_server, live_server.base_url, member.token)
    assert result["status"] == 200 and result["body"]["data"]["me"]["points"]["available"] == 0
    assert len(result["requestId"]) == 32  # exposed to the page


@pytest.fixture
def prod_server(database_url, clock, page_server):
    """The API in prod, allowing one page origin that is not the one the pages are served from."""
    settings = Settings(database_url=database_url, secret=SECRET, env="prod", sweep_seconds=0,
                        allowed_origins=frozenset({"https://h5.brand.example"}))
    services = Services.build(database_url, clock)
    server, thread, base_url = start_server(create_app(settings, clock=clock, services=services))
    yield LiveServer(base_url, clock, database_url, services)
    stop_server(server, thread)


@sqlite_only
def test_a_page_on_an_origin_prod_does_not_list_cannot_read_the_answer(chromium, page_server, prod_server):
    member = prod_server.member("browser-prod")
    result = fetched_in_browser(chromium, page_server, prod_server.base_url, member.token)
    assert result == {"error": "TypeError: Failed to fetch"}
