"""Events from the brand's systems: per-rule daily caps, once per event id, inviter payouts and revocation."""
from datetime import UTC, datetime, timedelta

RULE = """
mutation($type: String!, $name: String!, $points: Int!, $cap: Int, $beneficiary: Beneficiary = MEMBER,
         $reason: LedgerReason = TASK, $revokes: String, $within: Int = 0, $match: String) {
  saveEventRule(input: {eventType: $type, name: $name, points: $points, dailyCap: $cap, beneficiary: $beneficiary,
                        reason: $reason, revokes: $revokes, revokeWithinDays: $within, matchAttribute: $match}) {
    rule { eventType dailyCap } userErrors { field code }
  }
}
"""
EVENT = """
mutation($member: ID!, $type: String!, $id: String!, $attributes: [EventAttributeInput!] = [], $key: String!) {
  recordEvent(input: {memberId: $member, eventType: $type, eventId: $id, attributes: $attributes,
                      idempotencyKey: $key}) {
    member { memberId points { available } } entry { reason delta memo } userErrors { field code }
  }
}
"""


def event(staff, member, event_type, event_id, attributes=None):
    return staff.data(EVENT, {"member": member, "type": event_type, "id": event_id, "key": f"{event_type}-{event_id}",
                              "attributes": [{"key": k, "value": v} for k, v in (attributes or {}).items()]})[
        "recordEvent"]


def test_group_chat_messages_pay_up_to_a_daily_cap_each_message_once(live_server):
    staff = live_server.staff()
    assert staff.data(RULE, {"type": "group_message", "name": "社群发言", "points": 1, "cap": 3})[
        "saveEventRule"]["userErrors"] == []
    paid = [event(staff, "chatty", "group_message", f"msg-{i}") for i in range(5)]
    assert [p["entry"]["delta"] if p["entry"] else 0 for p in paid] == [1, 1, 1, 0, 0]
    assert paid[-1]["member"]["points"]["available"] == 3 and paid[-1]["userErrors"] == []
    duplicate = staff.data(EVENT, {"member": "chatty", "type": "group_message", "id": "msg-0", "key": "other"})
    assert duplicate["recordEvent"]["userErrors"] == [{"field": ["eventId"], "code": "DUPLICATE_EVENT"}]
    live_server.clock.set(datetime(2026, 3, 12, 16, 0, tzinfo=UTC))  # midnight in Shanghai: a new day
    assert event(staff, "chatty", "group_message", "msg-next-day")["entry"]["delta"] == 1


def test_joining_through_an_invitation_pays_the_inviter_and_leaving_soon_takes_it_back(live_server):
    staff = live_server.staff()
    staff.data(RULE, {"type": "group_join", "name": "邀请入群", "points": 30, "beneficiary": "INVITER",
                      "reason": "INVITE"})
    staff.data(RULE, {"type": "group_leave", "name": "邀请入群", "points": 0, "revokes": "group_join", "within": 7,
                      "match": "groupId"})
    live_server.member("host").data("{ me { id } }")
    joined = event(staff, "newbie", "group_join", "j1", {"inviterId": "host", "groupId": "g-1"})
    assert joined["member"]["memberId"] == "host" and joined["entry"] == {"reason": "INVITE", "delta": 30,
                                                                        "memo": "邀请入群"}
    live_server.clock.advance(timedelta(days=3))
    left = event(staff, "newbie", "group_leave", "l1", {"groupId": "g-1"})
    assert left["member"]["memberId"] == "host" and left["entry"]["reason"] == "REVERSAL"
    assert left["entry"]["delta"] == -30 and left["member"]["points"]["available"] == 0
    # Joining again and leaving after the window keeps the reward.
    event(staff, "newbie", "group_join", "j2", {"inviterId": "host", "groupId": "g-1"})
    live_server.clock.advance(timedelta(days=8))
    late = event(staff, "newbie", "group_leave", "l2", {"groupId": "g-1"})
    assert late["entry"] is None and late["member"]["points"]["available"] == 30


def test_bad_events_are_user_errors(live_server):
    staff = live_server.staff()
    staff.data(RULE, {"type": "group_join", "name": "邀请入群", "points": 30, "beneficiary": "INVITER"})
    assert event(staff, "x", "unknown_type", "e1")["userErrors"][0]["code"] == "NOT_FOUND"
    assert event(staff, "x", "group_join", "e2")["userErrors"][0]["field"] == ["attributes"]
    assert event(staff, "x", "group_join", "e3", {"inviterId": "x"})["userErrors"][0]["code"] == "SELF_INVITATION"
    assert event(staff, "x", "group_join", "bad id")["userErrors"][0]["field"] == ["eventId"]
    bad_rule = staff.data(RULE, {"type": "loop", "name": "l", "points": 0, "revokes": "loop", "within": 1})
    assert bad_rule["saveEventRule"]["userErrors"][0]["field"] == ["revokes"]
    body = live_server.member("x").execute(EVENT, {"member": "x", "type": "group_join", "id": "e", "key": "k"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
