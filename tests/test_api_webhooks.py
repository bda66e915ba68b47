"""Notifications and their outbound webhooks, delivered to a real HTTP receiver started by the test."""
import asyncio
import hashlib
import hmac
import json
import socket
from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.conftest import start_server, stop_server, with_services
from tests.documents import CHECK_IN, UPDATE_TIER
from tests.test_api_assists import help_, start
from tests.test_api_mall import FULFIL, REDEEM_ID, create, funded

CONFIGURE = """mutation($url: String!, $rotate: Boolean = false, $enabled: Boolean = true) {
  updateWebhook(input: {url: $url, enabled: $enabled, rotateSecret: $rotate}) {
    webhook { url enabled } secret userErrors { field code } } }"""
DELIVERIES = """query($status: DeliveryStatus) { webhookDeliveries(first: 20, status: $status) { edges { node {
  id deliveryId event status attempts lastStatus lastError payload log { statusCode error } } } } }"""
REPLAY = """mutation($id: ID!) { replayWebhookDelivery(input: {deliveryId: $id}) { delivery { status attempts }
  userErrors { code } } }"""
NOTIFICATIONS = "{ me { notifications(first: 10) { edges { node { kind title body } } } } }"


class Receiver:
    """The brand's messaging service: records what arrives, answers 500 while told to fail."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.failures = 0
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> PlainTextResponse:
        self.received.append((dict(request.headers), await request.body()))
        if self.failures > 0:
            self.failures -= 1
            return PlainTextResponse("down for maintenance", status_code=500)
        return PlainTextResponse("ok")


@pytest.fixture
def receiver():
    hook = Receiver()
    server, thread, base_url = start_server(hook.app)
    hook.url = f"{base_url}/hook"
    yield hook
    stop_server(server, thread)


def deliver(live_server) -> int:
    return asyncio.run(with_services(live_server, lambda services: services.webhooks.deliver_due()))


def deliveries(staff, status=None):
    return [e["node"] for e in staff.data(DELIVERIES, {"status": status})["webhookDeliveries"]["edges"]]


def verified(headers: dict, body: bytes, secret: str) -> dict:
    expected = hmac.new(secret.encode(), f"{headers['x-jifen-timestamp']}.".encode() + body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["x-jifen-signature"])
    return json.loads(body)


def test_notifications_reach_the_receiver_signed(live_server, receiver):
    staff = live_server.staff()
    configured = staff.data(CONFIGURE, {"url": receiver.url})["updateWebhook"]
    secret = configured["secret"]
    assert configured["webhook"] == {"url": receiver.url, "enabled": True} and secret.startswith("whsec_")
    assert staff.data(CONFIGURE, {"url": receiver.url})["updateWebhook"]["secret"] is None  # kept, not shown
    staff.data(UPDATE_TIER, {"level": 2, "name": "银卡", "threshold": 10, "multiplier": 1.0})
    member = funded(live_server, "shopper", 500)
    member.data(CHECK_IN, {"key": "first"})  # growth 10: V2
    item = create(staff, "围巾", 200, 2)
    redemption = member.data(REDEEM_ID, {"item": item, "key": "r"})["redeem"]["redemption"]["id"]
    staff.data(FULFIL, {"id": redemption, "status": "SHIPPED"})
    kinds = [e["node"]["kind"] for e in member.data(NOTIFICATIONS)["me"]["notifications"]["edges"]]
    assert kinds == ["REDEMPTION_SHIPPED", "TIER_CHANGED"]
    assert [d["status"] for d in deliveries(staff)] == ["PENDING", "PENDING"]
    assert deliver(live_server) == 2
    bodies = [verified(headers, body, secret) for headers, body in receiver.received]
    assert [(b["event"], b["notification"]["kind"], b["member"]["memberId"]) for b in bodies] == [
        ("notification.created", "TIER_CHANGED", "shopper"), ("notification.created", "REDEMPTION_SHIPPED", "shopper")]
    assert "SF1234567" in bodies[1]["notification"]["body"]
    headers = receiver.received[0][0]
    assert headers["x-jifen-event"] == "notification.created" and headers["content-type"] == "application/json"
    logged = deliveries(staff, "DELIVERED")
    assert {d["deliveryId"] for d in logged} == {int(h["x-jifen-delivery"]) for h, _ in receiver.received}
    assert all(d["log"] == [{"statusCode": 200, "error": None}] for d in logged)
    assert deliver(live_server) == 0  # nothing twice


def test_a_failing_receiver_is_retried_with_backoff(live_server, receiver):
    staff = live_server.staff()
    staff.data(CONFIGURE, {"url": receiver.url})
    receiver.failures = 2
    push(staff, live_server, "first-push")
    assert deliver(live_server) == 0
    assert deliver(live_server) == 0  # the retry is not due yet
    live_server.clock.advance(timedelta(seconds=30))
    assert deliver(live_server) == 0
    (pending,) = deliveries(staff, "PENDING")
    assert (pending["attempts"], pending["lastStatus"], pending["lastError"]) == (2, 500, "HTTP 500")
    live_server.clock.advance(timedelta(seconds=59))
    assert deliver(live_server) == 0  # the second retry waits a minute
    live_server.clock.advance(timedelta(seconds=1))
    assert deliver(live_server) == 1
    (done,) = deliveries(staff, "DELIVERED")
    assert [a["statusCode"] for a in done["log"]] == [500, 500, 200]
    assert len(receiver.received) == 3
    assert len({h["x-jifen-delivery"] for h, _ in receiver.received}) == 1  # one delivery, three tries


def test_an_unreachable_receiver_fails_then_staff_replay(live_server, receiver):
    staff = live_server.staff()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    staff.data(CONFIGURE, {"url": f"http://127.0.0.1:{closed_port}/hook"})
    push(staff, live_server, "lost-push")
    for _ in range(8):
        deliver(live_server)
        live_server.clock.advance(timedelta(hours=1))
    (failed,) = deliveries(staff, "FAILED")
    assert failed["attempts"] == 8 and failed["lastStatus"] is None and "Connect" in failed["lastError"]
    assert len(failed["log"]) == 8
    staff.data(CONFIGURE, {"url": receiver.url})
    assert staff.data(REPLAY, {"id": failed["id"]})["replayWebhookDelivery"] == {
        "delivery": {"status": "PENDING", "attempts": 0}, "userErrors": []}
    assert staff.data(REPLAY, {"id": failed["id"]})["replayWebhookDelivery"]["userErrors"] == [
        {"code": "INVALID_TRANSITION"}]  # already due
    assert deliver(live_server) == 1 and len(receiver.received) == 1
    audit = staff.data('{ auditLog(first: 1, action: "webhook.replay") { edges { node { target } } } }')
    assert audit["auditLog"]["edges"][0]["node"]["target"] == str(failed["deliveryId"])


def push(staff, live_server, ref):
    """One member in the NEW segment, one push to it."""
    live_server.member(f"pushed-{ref}").data("{ me { id } }")
    staff.data("mutation { refreshSegments { summary { refreshedAt } } }")
    sent = staff.data("""mutation($ref: String!) { pushNotification(input: {segment: NEW, title: "周末双倍",
        body: "本周末签到双倍积分", ref: $ref}) { sent userErrors { code } } }""", {"ref": ref})
    return sent["pushNotification"]


def test_a_push_reaches_a_segment_once(live_server):
    staff = live_server.staff()
    assert push(staff, live_server, "weekend") == {"sent": 1, "userErrors": []}
    assert push(staff, live_server, "weekend") == {"sent": 0, "userErrors": []}  # the same ref: nobody twice
    pushed = live_server.member("pushed-weekend").data(NOTIFICATIONS)["me"]["notifications"]["edges"]
    assert [e["node"]["kind"] for e in pushed] == ["CAMPAIGN"]
    bad = staff.data("""mutation { pushNotification(input: {segment: NEW, title: "", body: "x", ref: "r"}) {
        sent userErrors { field code } } }""")["pushNotification"]
    assert bad == {"sent": 0, "userErrors": [{"field": ["title"], "code": "INVALID_INPUT"}]}
    assert deliveries(staff) == []  # no webhook configured: notifications are kept, nothing is queued


def test_an_assist_that_completes_notifies_its_owner(live_server):
    live_server.staff().data("""mutation { updateAssistRule(input: {durationHours: 48, thresholds: [
        {helpers: 1, points: 5}, {helpers: 2, points: 10}]}) { userErrors { code } } }""")
    owner = live_server.member("owner")
    campaign = start(owner, "帮我助力")["campaign"]["id"]
    help_(live_server.member("friend-1"), campaign)
    assert owner.data(NOTIFICATIONS)["me"]["notifications"]["edges"] == []
    help_(live_server.member("friend-2"), campaign)
    (note,) = owner.data(NOTIFICATIONS)["me"]["notifications"]["edges"]
    assert note["node"]["kind"] == "ASSIST_COMPLETED" and "2 位好友" in note["node"]["body"]


def test_webhooks_are_for_staff_and_urls_are_checked(live_server):
    staff = live_server.staff()
    bad = staff.data(CONFIGURE, {"url": "ftp://example.com/x"})["updateWebhook"]
    assert bad["userErrors"] == [{"field": ["url"], "code": "INVALID_INPUT"}]
    member = live_server.member("m")
    assert member.execute(CONFIGURE, {"url": "https://x.example/h"})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert member.execute(DELIVERIES, {})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert staff.data("{ webhook { url } }") == {"webhook": None}
    staff.data(CONFIGURE, {"url": "https://hooks.example.cn/jifen", "enabled": False})
    assert staff.data("{ webhook { url enabled } }") == {"webhook": {"url": "https://hooks.example.cn/jifen",
                                                                    "enabled": False}}
    details = staff.data('{ auditLog(first: 1, action: "webhook.update") { edges { node { details } } } }')
    assert "secret" not in json.dumps(details).replace("secretRotated", "")
