"""The reference H5 member page (web/) in real Chromium, served from another origin than the API as a
brand would host it: sign in, check in and see the balance rise and a live toast, read the ledger by
scrolling, redeem (and be told why a redemption is refused), draw a lottery and open its verification,
see the leaderboard. Every file the page loads comes from its own origin or the API's."""
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.documents import ADJUST
from tests.test_api_ledger import member_gid
from tests.test_api_lottery import new_lottery
from tests.test_api_mall import create
from tests.test_api_till import IDENTIFY
from tests.test_browser import ARTIFACTS, browser, chromium, page_server  # noqa: F401 (fixtures)

WEB = Path(__file__).resolve().parents[1] / "web"

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page, not storage


def wait_for(driver, condition, timeout: float = 20, what: str = ""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda b: condition(b), message=what)


def text_of(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def click(driver, selector: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, selector).click()


GATEWAY_TIMES_OUT_ONCE = """
const sent = window.fetch;
window.redeemKeys = [];
window.fetch = async (url, init) => {
  const body = init && init.body ? JSON.parse(init.body) : {};
  if (!(body.query || "").includes("redeem(")) return sent(url, init);
  window.redeemKeys.push(body.variables.key);
  const answer = await sent(url, init);
  return window.redeemKeys.length === 1 ? new Response("bad gateway", {status: 504}) : answer;
};
"""


@pytest.fixture
def page(page_server, live_server):  # noqa: F811
    """web/ on an origin of its own, pointed at the API as a brand hosting it would: in its markup."""
    directory, origin = page_server
    shutil.copytree(WEB, directory, dirs_exist_ok=True)
    index = directory / "index.html"
    marked = '<meta name="jifen-api" content="/graphql">'
    assert marked in index.read_text(encoding="utf-8")
    index.write_text(index.read_text(encoding="utf-8").replace(
        marked, f'<meta name="jifen-api" content="{live_server.base_url}/graphql">'), encoding="utf-8")
    return origin


@sqlite_only
def test_a_member_goes_through_the_page_from_another_origin(browser, page, live_server):  # noqa: F811
    from selenium.webdriver.common.by import By

    staff = live_server.staff()
    member = live_server.member("h5-member", nickname="小鹿")
    member.data("{ me { id } }")
    for i in range(25):  # more than one page of the ledger
        staff.data(ADJUST, {"memberId": member_gid("h5-member"), "delta": 4, "memo": f"补发 {i}", "key": f"seed-{i}"})
    create(staff, "保温杯", 50, 3, category="home")
    create(staff, "行李箱", 100_000, 3, category="travel")
    lottery = new_lottery(live_server, [{"name": "10 积分", "kind": "POINTS", "points": 10, "weight": 1},
                                        {"name": "10 积分大礼", "kind": "POINTS", "points": 10, "weight": 1,
                                         "fallback": True}], cost=5)

    browser.set_window_size(420, 900)
    browser.get(f"{page}/index.html?" + urlencode({"api": "http://127.0.0.1:9/graphql"}))  # ignored: see app.js
    wait_for(browser, lambda b: b.find_element(By.ID, "sign-in").is_displayed(), what="the sign-in form")
    browser.find_element(By.ID, "token").send_keys(member.token)
    click(browser, "#sign-in-form button")
    wait_for(browser, lambda b: text_of(b, "available") == "100", what="the balance")
    assert text_of(browser, "nickname") == "小鹿"
    wait_for(browser, lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-live") == "connected",
             what="the live socket")
    time.sleep(0.5)  # its subscriptions reach the server

    # Ledger: 20 entries, then the rest as the end of the list scrolls into view
    wait_for(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#ledger li")) >= 20, what="a page")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ledger li")) == 20  # no more until it scrolls
    browser.execute_script("document.getElementById('ledger-end').scrollIntoView()")
    wait_for(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#ledger li")) == 25, what="the next page")
    assert text_of(browser, "ledger-end") == "没有更多了"

    click(browser, "#check-in")
    wait_for(browser, lambda b: text_of(b, "available") == "110", what="the balance after the check-in")
    wait_for(browser, lambda b: any("每日签到" in t.text for t in b.find_elements(By.CSS_SELECTOR, ".toast")),
             what="the live toast of the check-in")
    assert text_of(browser, "streak") == "已连续签到 1 天"
    assert browser.find_element(By.ID, "check-in").get_attribute("disabled") is not None

    click(browser, "[data-tab=mall]")
    wait_for(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#items li")) == 2, what="the mall")
    chips = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#categories button")]
    assert chips == ["全部", "生活", "出行"] or chips == ["全部", "出行", "生活"], chips
    rows = browser.find_elements(By.CSS_SELECTOR, "#items li")
    too_dear = next(r for r in rows if "行李箱" in r.text)
    too_dear.find_element(By.TAG_NAME, "button").click()
    wait_for(browser, lambda b: "积分不足" in text_of(b, "mall-message"), what="the refusal in words")
    # A gateway that answers 504 after the redemption went through: the page sends it again, same key.
    browser.execute_script(GATEWAY_TIMES_OUT_ONCE)
    cup = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#items li") if "保温杯" in r.text)
    cup.find_element(By.TAG_NAME, "button").click()
    wait_for(browser, lambda b: "兑换成功：保温杯" in text_of(b, "mall-message"), what="the redemption")
    wait_for(browser, lambda b: text_of(b, "available") == "60", what="the balance after redeeming")  # once
    keys = browser.execute_script("return window.redeemKeys")
    assert len(keys) == 2 and keys[0] == keys[1], keys

    click(browser, "[data-tab=lottery]")
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#lotteries button"), what="the lotteries")
    click(browser, "#lotteries button")
    wait_for(browser, lambda b: "抽中：10 积分" in text_of(b, "draw-result"), what="the prize")
    wait_for(browser, lambda b: text_of(b, "available") == "65", what="the balance after the draw")  # -5 +10

    click(browser, "[data-tab=leaderboard]")
    wait_for(browser, lambda b: "我的排名：第 1 名" in text_of(b, "my-rank"), what="the member's rank")
    assert browser.find_elements(By.CSS_SELECTOR, "#leaders li.me")

    click(browser, "[data-tab=code]")  # the member code, shown as a QR for the till
    wait_for(browser, lambda b: b.execute_script("return document.getElementById('member-qr').naturalWidth") > 0,
             what="the member code's QR")
    shown = text_of(browser, "member-code").replace(" ", "")
    identified = live_server.store("S1").data(IDENTIFY, {"code": shown, "store": "S1"})["identifyMember"]
    assert identified["userErrors"] == [] and identified["member"]["nickname"] == "小鹿"

    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(url.startswith((page, live_server.base_url)) for url in fetched), fetched
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "h5.png"))

    verify_link = browser.find_element(By.CSS_SELECTOR, "#draw-result a").get_attribute("href")
    assert verify_link.startswith(page) and lottery["id"]
    browser.get(verify_link)  # anyone can open it: no token needed
    wait_for(browser, lambda b: "奖品：10 积分" in text_of(b, "verify-body"), what="the verification")
    assert "种子承诺" in text_of(browser, "verify-body")


def test_every_document_the_page_sends_is_valid_against_the_schema():
    """The page's GraphQL lives in template strings of web/app.js: a schema change that breaks one fails here."""
    from graphql import parse, validate

    from api.execution.schema import build_schema
    documents = re.findall(r"`((?:query|mutation|subscription)\b[^`]*)`", (WEB / "app.js").read_text(encoding="utf-8"))
    assert len(documents) >= 10, documents
    schema = build_schema()._schema
    assert {doc.split("{")[0].strip(): [e.message for e in validate(schema, parse(doc))] for doc in documents} == {
        doc.split("{")[0].strip(): [] for doc in documents}


@sqlite_only
def test_a_bad_token_is_told_to_sign_in_again(browser, page, live_server):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get(f"{page}/index.html?" + urlencode({"token": "forged"}))
    wait_for(browser, lambda b: "重新登录" in text_of(b, "sign-in-error"), what="the refusal")
    assert not browser.find_element(By.ID, "app").is_displayed()
    assert "token=" not in browser.current_url  # taken out of the address bar and the history


@sqlite_only
def test_the_page_is_served_at_h5_in_dev_only(live_server, prod_server):  # noqa: F811
    page = httpx.get(f"{live_server.base_url}/h5/")
    assert page.status_code == 200 and "积分中心" in page.text
    assert httpx.get(f"{live_server.base_url}/h5/vendor/graphql-ws.min.js").status_code == 200
    assert httpx.get(f"{prod_server.base_url}/h5/").status_code == 404


from tests.test_browser import prod_server  # noqa: E402,F401 (a fixture)
