"""The audit log over real HTTP: every staff change recorded, filtered, paged, staff only."""
from tests.test_api_mall import funded
from tests.test_api_partners import add_partner

AUDIT = """query($first: Int!, $after: String, $actor: String, $action: String, $target: String) {
  auditLog(first: $first, after: $after, actor: $actor, action: $action, target: $target) {
    edges { cursor node { actor action target details } } pageInfo { hasNextPage endCursor } } }"""


async def test_staff_read_who_changed_what(live_server):
    await add_partner(live_server)
    alice, bob = live_server.staff("alice-ops"), live_server.staff("bob-ops")
    alice.data("mutation { updateCheckoutRule(input: {paymentMinutes: 20}) { userErrors { code } } }")
    bob.data('mutation { updatePartner(input: {code: "skyway", dailyPoints: 900}) { userErrors { code } } }')
    funded(live_server, "flyer", 300)  # alice-ops adjusts flyer's points
    log = alice.data(AUDIT, {"first": 10})["auditLog"]["edges"]
    assert [(e["node"]["actor"], e["node"]["action"], e["node"]["target"]) for e in log] == [
        ("staff:alice-ops", "points.adjust", "flyer"),
        ("staff:bob-ops", "partner.update", "skyway"),
        ("staff:alice-ops", "settings.checkout.update", "checkout"),
        ("system:jifen", "partner.create", "skyway")]
    assert log[1]["node"]["details"] == {"dailyPoints": 900}
    assert log[0]["node"]["details"] == {"delta": 300, "memo": "m"}
    by_bob = alice.data(AUDIT, {"first": 10, "actor": "staff:bob-ops"})["auditLog"]["edges"]
    assert [e["node"]["action"] for e in by_bob] == ["partner.update"]
    partners = alice.data(AUDIT, {"first": 10, "action": "partner."})["auditLog"]["edges"]
    assert [e["node"]["action"] for e in partners] == ["partner.update", "partner.create"]
    assert alice.data(AUDIT, {"first": 10, "action": "partner"})["auditLog"]["edges"] == []  # exact, no prefix
    assert len(alice.data(AUDIT, {"first": 10, "target": "flyer"})["auditLog"]["edges"]) == 1
    first = alice.data(AUDIT, {"first": 3})["auditLog"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = alice.data(AUDIT, {"first": 3, "after": first["pageInfo"]["endCursor"]})["auditLog"]
    assert [e["node"]["action"] for e in rest["edges"]] == ["partner.create"]
    assert rest["pageInfo"]["hasNextPage"] is False


def test_the_audit_log_is_for_staff_only(live_server):
    assert live_server.member("m").execute(AUDIT, {"first": 5})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert live_server.anonymous().execute(AUDIT, {"first": 5})["errors"][0]["extensions"]["code"] == \
        "UNAUTHENTICATED"
    bad = live_server.staff().execute(AUDIT, {"first": 5, "actor": "staff:alice' OR 1=1"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert live_server.staff().execute(AUDIT, {"first": 101})["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
