"""A real browser (Debian's headless Chromium) calling the API from a page on another origin, as an H5
page does: the fetch goes through CORS (api/http/cors.py) when the page's origin is allowed, and fails
in the browser when it is not. GraphiQL, driven through chromedriver (Selenium) with every host but
the server's unreachable, runs a query and shows a subscription's events. `.ci/run` installs
Chromium and its driver; elsewhere these tests skip without them."""
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import timedelta
from html import unescape
from pathlib import Path

import httpx
import pytest
from selenium.common.exceptions import TimeoutException

from api.http.app import create_app
from api.ops.config import Settings
from api.ops.services import Services
from tests.conftest import SECRET, LiveServer, start_server, stop_server

ARTIFACTS = Path(os.environ.get("JIFEN_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))
CHECK_IN = "mutation($key: String!) { checkIn(input: {idempotencyKey: $key}) { userErrors { code } } }"

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
def browser(chromium):
    """Chromium under chromedriver, unable to reach any host but 127.0.0.1 (as on a machine offline)."""
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        if os.environ.get("CI"):
            pytest.fail("chromedriver must be installed on CI (.ci/run installs Debian's chromium-driver)")
        pytest.skip("no chromedriver here (apt-get install chromium-driver) for the GraphiQL tests")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800",
                     "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def result_text(browser, containing: str, timeout: float = 20) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(
        lambda b: containing in b.find_element(By.CSS_SELECTOR, ".result-window").text)
    return browser.find_element(By.CSS_SELECTOR, ".result-window").text


def run_in_graphiql(browser, base_url: str, token: str, query: str | None = None) -> None:
    from urllib.parse import urlencode

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base_url}/graphql?" + urlencode({"token": token, **({"q": query} if query else {})}))
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".graphiql-execute-button"))
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()


@sqlite_only
def test_graphiql_runs_the_member_s_query_with_every_file_from_the_server(browser, live_server):
    live_server.member("graphiql-m").data(CHECK_IN, {"key": "first"})
    run_in_graphiql(browser, live_server.base_url, live_server.member("graphiql-m").token)
    shown = result_text(browser, "available")
    assert '"available": 10' in shown
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched and all(url.startswith(live_server.base_url) for url in fetched), fetched
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "graphiql.png"))


@sqlite_only
def test_graphiql_shows_a_subscription_s_events(browser, live_server):
    member = live_server.member("graphiql-s")
    member.data("{ me { id } }")
    run_in_graphiql(browser, live_server.base_url, member.token, "subscription { pointsChanged { toast } }")
    deadline = time.monotonic() + 20
    for day in range(100):  # GraphiQL subscribes once its socket is up: check in (a day later) until it hears
        live_server.clock.advance(timedelta(days=1))
        member.data(CHECK_IN, {"key": f"day-{day}"})
        try:
            shown = result_text(browser, '"toast"', timeout=1)
        except TimeoutException:
            assert time.monotonic() < deadline, "no toast reached GraphiQL"
            continue
        # The check-in's own toast, or the badge its first one earns, whichever came last.
        assert "每日签到" in shown or "获得徽章" in shown, shown
        return
    raise AssertionError("no toast reached GraphiQL")


@sqlite_only
def test_graphiql_is_not_served_in_prod(prod_server):
    page = httpx.get(f"{prod_server.base_url}/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    assert httpx.get(f"{prod_server.base_url}/graphiql/graphiql.min.js").status_code == 404


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
