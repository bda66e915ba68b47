"""Server-confirmed tasks: a member's word pays MEMBER tasks; SERVER tasks pay on staff's word or on a
completion ticket the brand's server signed, valid for minutes, for one member and task, once."""
import asyncio
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx

from domain.task_tickets import TicketKey, sign_ticket
from tests.conftest import with_services
from tests.test_api_ledger import member_gid

CREATE = """mutation($code: String!, $by: TaskConfirmation!) {
  createTask(input: {code: $code, name: "关注公众号", kind: FOLLOW_ACCOUNT, points: 20, period: DAILY, cap: 1,
                     confirmedBy: $by}) { task { code confirmedBy } userErrors { field code } } }"""
COMPLETE = """mutation($code: String!, $key: String!, $ticket: String) {
  completeTask(input: {taskCode: $code, idempotencyKey: $key, ticket: $ticket}) {
    entries { reason delta } member { points { available } } userErrors { field code } } }"""
COMPLETE_FOR = """mutation($member: ID!, $code: String!, $key: String!) {
  completeTaskFor(input: {memberId: $member, taskCode: $code, idempotencyKey: $key}) {
    entries { reason delta } userErrors { field code } } }"""
ROTATE = "mutation { rotateTaskTicketKey { keyId secret userErrors { code } } }"
NODE = Path(__file__).parent / "js"


def server_task(live_server, code="follow", by="SERVER"):
    made = live_server.staff().data(CREATE, {"code": code, "by": by})["createTask"]
    assert made == {"task": {"code": code, "confirmedBy": by}, "userErrors": []}


def rotate(live_server) -> TicketKey:
    rotated = live_server.staff().data(ROTATE)["rotateTaskTicketKey"]
    assert rotated["userErrors"] == [] and rotated["keyId"].startswith("tk_")
    return TicketKey(rotated["keyId"], rotated["secret"], live_server.clock.now())


def complete(member, key, ticket=None, code="follow"):
    return member.data(COMPLETE, {"code": code, "key": key, "ticket": ticket})["completeTask"]


def tampered(ticket):
    return ticket[:-1] + ("1" if ticket.endswith("0") else "0")


def codes(payload):
    return [e["code"] for e in payload["userErrors"]]


def test_a_server_task_pays_a_member_only_with_a_signed_ticket_once(live_server):
    server_task(live_server)
    key = rotate(live_server)
    member = live_server.member("follower")
    assert complete(member, "bare")["userErrors"] == [{"field": ["ticket"], "code": "TASK_NEEDS_TICKET"}]
    ticket = sign_ticket(key, "follower", "follow", live_server.clock.now())
    paid = complete(member, "with-ticket", ticket)
    assert paid["userErrors"] == [] and paid["entries"] == [{"reason": "TASK", "delta": 20}]
    assert complete(member, "with-ticket", ticket) == paid  # a retry of the same request: its first answer
    live_server.clock.advance(timedelta(days=1))  # a new day: the cap would allow it, the ticket does not
    assert codes(complete(member, "ticket-again", ticket)) == ["TICKET_INVALID"]  # expired by now
    fresh = sign_ticket(key, "follower", "follow", live_server.clock.now(), nonce="same-nonce-1")
    assert complete(member, "day-2", fresh)["userErrors"] == []
    live_server.clock.advance(timedelta(days=1))
    reused = sign_ticket(key, "follower", "follow", live_server.clock.now(), nonce="same-nonce-1")
    assert codes(complete(member, "day-3", reused)) == ["TICKET_USED"]  # the nonce, not the text, is spent
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 40


def test_forged_stale_and_misdirected_tickets_are_refused(live_server):
    server_task(live_server)
    server_task(live_server, "join", "SERVER")
    key = rotate(live_server)
    member, now = live_server.member("target"), live_server.clock.now()
    forged_key = TicketKey(key.key_id, "not-the-secret", now)
    refused = {
        "another member": sign_ticket(key, "someone-else", "follow", now),
        "another task": sign_ticket(key, "target", "join", now),
        "forged": sign_ticket(forged_key, "target", "follow", now),
        "unknown key": sign_ticket(TicketKey("tk_000000000000", key.secret, now), "target", "follow", now),
        "stale": sign_ticket(key, "target", "follow", now - timedelta(minutes=10, seconds=1)),
        "from the future": sign_ticket(key, "target", "follow", now + timedelta(minutes=2)),
        "short nonce": sign_ticket(key, "target", "follow", now, nonce="abc"),
        "garbage": "v1.not-base64!.00",
        "too long": "v1." + "A" * 700 + ".00",
        "tampered": tampered(sign_ticket(key, "target", "follow", now)),
    }
    for name, ticket in refused.items():
        answer = complete(member, f"bad-{name}", ticket)
        assert answer["userErrors"] == [{"field": ["ticket"], "code": "TICKET_INVALID"}], name
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 0
    edge = sign_ticket(key, "target", "follow", now - timedelta(minutes=10))  # exactly ten minutes old: valid
    assert complete(member, "edge", edge)["userErrors"] == []


def test_a_rotated_key_still_verifies_tickets_until_the_next_rotation(live_server):
    server_task(live_server)
    first = rotate(live_server)
    second = rotate(live_server)
    member = live_server.member("rotating")
    ticket = sign_ticket(first, "rotating", "follow", live_server.clock.now())
    assert complete(member, "old-key", ticket)["userErrors"] == []
    rotate(live_server)
    live_server.clock.advance(timedelta(days=1))
    now = live_server.clock.now()
    assert codes(complete(member, "retired", sign_ticket(first, "rotating", "follow", now))) == ["TICKET_INVALID"]
    assert complete(member, "previous", sign_ticket(second, "rotating", "follow", now))["userErrors"] == []
    log = live_server.staff().data('{ auditLog(first: 5, action: "task_tickets.rotate") '
                                   '{ edges { node { details } } } }')["auditLog"]["edges"]
    assert len(log) == 3 and all("secret" not in str(e["node"]["details"]).lower() for e in log)
    assert second.secret not in str(log)


def test_staff_confirm_server_tasks_and_members_report_member_tasks(live_server):
    server_task(live_server)
    server_task(live_server, "browse", "MEMBER")
    member, staff = live_server.member("confirmed"), live_server.staff()
    member.data("{ me { id } }")
    done = staff.data(COMPLETE_FOR, {"member": member_gid("confirmed"), "code": "follow", "key": "s1"})
    assert done["completeTaskFor"] == {"entries": [{"reason": "TASK", "delta": 20}], "userErrors": []}
    assert complete(member, "plain", code="browse")["userErrors"] == []  # no ticket, no key needed
    forbidden = member.execute(COMPLETE_FOR, {"member": member_gid("confirmed"), "code": "follow", "key": "m1"})
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert member.execute(ROTATE)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert codes(complete(member, "no-key-yet", "v1.e30.00")) == ["TICKET_INVALID"]  # the brand has no key


async def test_one_ticket_sent_twenty_times_at_once_pays_once(live_server):
    server_task(live_server)
    key = rotate(live_server)
    member = live_server.member("racer")
    ticket = sign_ticket(key, "racer", "follow", live_server.clock.now())
    async with httpx.AsyncClient(timeout=60) as http:
        replies = await asyncio.gather(*(member.execute_async(http, COMPLETE, {"code": "follow", "key": f"r{i}",
                                                                              "ticket": ticket})
                                         for i in range(20)))
    answers = [r["data"]["completeTask"] for r in replies]
    assert sum(not a["userErrors"] for a in answers) == 1
    assert {c for a in answers for c in codes(a)} <= {"TICKET_USED", "TASK_LIMIT_REACHED"}
    assert (await with_services(live_server, lambda s: s.reconciliation.run())).ok


def test_a_ticket_signed_by_node_crypto_as_the_docs_show_is_accepted(live_server, node_tools):
    server_task(live_server)
    key = rotate(live_server)
    signed = subprocess.run(["node", str(NODE / "sign-ticket.mjs"), key.key_id, key.secret, "node-member", "follow",
                             str(int(live_server.clock.now().timestamp()))],
                            capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert complete(live_server.member("node-member"), "from-node", signed)["userErrors"] == []
