"""Member tags and profiles over real HTTP on both databases: tags set by hand, by an integration and by
import, rule tags (orders, events, segments) worked out again as time passes without touching tags set
by hand; campaigns, pushes, mall items and lotteries that target tags; profiles only their member and
staff read, with their limits."""
import asyncio
from datetime import timedelta

from domain.imports import ImportKind
from tests.conftest import with_services
from tests.documents import CHECK_IN
from tests.test_api_coupons import NOTIFICATIONS
from tests.test_api_events import RULE as EVENT_RULE, event
from tests.test_api_ledger import member_gid
from tests.test_api_ledger_feed import integration
from tests.test_api_lottery_chances import DRAW, lottery
from tests.test_api_mall import REDEEM, funded
from tests.test_api_orders import RECORD
from tests.test_api_segments import REFRESH as REFRESH_SEGMENTS

TAG = """mutation($code: String!, $name: String!, $rule: TagRuleInput) {
  createTag(input: {code: $code, name: $name, rule: $rule}) { tag { code rule { kind } } userErrors { field code } } }"""
TAG_MEMBERS = """mutation($tag: String!, $ids: [ID!]!, $remove: Boolean! = false) {
  tagMembers(input: {tag: $tag, memberIds: $ids, remove: $remove}) { changed userErrors { field code } } }"""
TAGS_OF = "query($id: ID!) { member(id: $id) { tags } }"
PROFILE = "{ me { profile { gender city preferredStoreId attributes { key value } } } }"
UPDATE_PROFILE = """mutation($member: ID, $gender: Gender, $city: String, $store: String, $attributes: [ProfileAttributeInput!]) {
  updateProfile(input: {memberId: $member, gender: $gender, city: $city, preferredStoreId: $store,
                        attributes: $attributes}) {
    profile { gender city preferredStoreId attributes { key value } } userErrors { field code } } }"""


def make_tag(staff, code, rule=None) -> None:
    made = staff.data(TAG, {"code": code, "name": code.upper(), "rule": rule})["createTag"]
    assert made["userErrors"] == [], made


def tags_of(staff, member_id) -> list[str]:
    return staff.data(TAGS_OF, {"id": member_gid(member_id)})["member"]["tags"]


def test_tags_set_by_hand_by_an_integration_and_by_import(live_server):
    staff = live_server.staff()
    make_tag(staff, "vip")
    for member_id in ("tag-a", "tag-b", "tag-c"):
        live_server.member(member_id).data("{ me { id } }")
    done = staff.data(TAG_MEMBERS, {"tag": "vip", "ids": [member_gid("tag-a"), "tag-b"]})["tagMembers"]
    assert done == {"changed": 2, "userErrors": []}
    assert staff.data(TAG_MEMBERS, {"tag": "vip", "ids": ["tag-a"]})["tagMembers"]["changed"] == 0  # once
    assert tags_of(staff, "tag-a") == ["vip"]
    crm = integration(live_server, "import")
    assert crm.data(TAG_MEMBERS, {"tag": "vip", "ids": ["tag-c"]})["tagMembers"]["changed"] == 1
    assert integration(live_server, "ledger:read").execute(TAG_MEMBERS, {"tag": "vip", "ids": ["tag-c"]})[
        "errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert staff.data(TAG_MEMBERS, {"tag": "nope", "ids": ["tag-a"]})["tagMembers"]["userErrors"] == [
        {"field": ["tag"], "code": "NOT_FOUND"}]
    assert staff.data(TAG_MEMBERS, {"tag": "vip", "ids": ["ghost"]})["tagMembers"]["userErrors"][0]["code"] == \
        "INVALID_INPUT"
    assert staff.data(TAG_MEMBERS, {"tag": "vip", "ids": ["tag-b"], "remove": True})["tagMembers"]["changed"] == 1
    assert tags_of(staff, "tag-b") == []

    make_tag(staff, "wholesale")
    report = asyncio.run(with_services(live_server, lambda s: s.imports.rows(ImportKind.TAGS, [
        {"member_id": "tag-b", "tag": "wholesale"}, {"member_id": "tag-b", "tag": "wholesale"},
        {"member_id": "tag-b", "tag": "unknown"}, {"member_id": "nobody", "tag": "wholesale"}])))
    assert report.imported == 1 and report.already_there == 1 and len(report.rejected) == 2
    assert tags_of(staff, "tag-b") == ["wholesale"]
    assert live_server.member("tag-a").execute("{ me { tags } }")["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_rule_tags_follow_orders_events_and_segments_and_leave_hand_set_tags_alone(live_server):
    staff = live_server.staff()
    for member_id in ("buyer", "chatter", "newbie"):
        live_server.member(member_id).data("{ me { id } }")
    for n in range(2):
        staff.data(RECORD, {"memberId": member_gid("buyer"), "orderId": f"b-{n}", "amount": 10000, "key": f"b{n}"})
    staff.data(EVENT_RULE, {"type": "live_view", "name": "看直播", "points": 1})
    for n in range(3):
        event(staff, "chatter", "live_view", f"v{n}")
    staff.data(REFRESH_SEGMENTS)
    make_tag(staff, "big-spender", {"kind": "ORDERS", "minCount": 2, "minSpendFen": 15000, "withinDays": 30})
    make_tag(staff, "fan", {"kind": "EVENT", "eventType": "live_view", "minCount": 3, "withinDays": 7})
    make_tag(staff, "fresh", {"kind": "SEGMENT", "segment": "NEW"})
    assert tags_of(staff, "buyer") == ["big-spender", "fresh"]
    assert tags_of(staff, "chatter") == ["fan", "fresh"]
    staff.data(TAG_MEMBERS, {"tag": "fan", "ids": ["newbie"]})  # by hand: a refresh keeps it

    live_server.clock.advance(timedelta(days=8))
    assert staff.data("mutation { refreshTags { tagged } }")["refreshTags"]["tagged"] >= 2
    assert "fan" not in tags_of(staff, "chatter")  # three views, but not within 7 days any more
    assert "fan" in tags_of(staff, "newbie")
    live_server.clock.advance(timedelta(days=30))
    asyncio.run(with_services(live_server, lambda s: s.tags.refresh_if_due()))
    assert "big-spender" not in tags_of(staff, "buyer")
    bad = staff.data(TAG, {"code": "x", "name": "x", "rule": {"kind": "EVENT"}})["createTag"]
    assert bad["userErrors"] == [{"field": ["rule", "eventType"], "code": "INVALID_INPUT"}]
    assert staff.data(TAG, {"code": "Bad Code", "name": "x"})["createTag"]["userErrors"][0]["code"] == "INVALID_INPUT"
    assert staff.data(TAG, {"code": "fan", "name": "again"})["createTag"]["userErrors"][0]["code"] == "ALREADY_EXISTS"


def test_campaigns_pushes_items_and_lotteries_target_tags(live_server):
    staff = live_server.staff()
    make_tag(staff, "vip")
    insider, outsider = funded(live_server, "insider", 1000), funded(live_server, "outsider", 1000)
    staff.data(TAG_MEMBERS, {"tag": "vip", "ids": ["insider"]})
    now = live_server.clock.now()
    made = staff.data("""mutation($s: DateTime!, $e: DateTime!) { createCampaign(input: {code: "vip-double",
        name: "VIP 双倍", multiplier: 2.0, startsAt: $s, endsAt: $e, reasons: [CHECK_IN], tags: ["vip"]}) {
        campaign { tags } userErrors { code } } }""", {"s": now.isoformat(), "e": (now + timedelta(days=3)).isoformat()})
    assert made["createCampaign"] == {"campaign": {"tags": ["vip"]}, "userErrors": []}
    bonus = [e["reason"] for e in insider.data(CHECK_IN, {"key": "c"})["checkIn"]["entries"]]
    assert "CAMPAIGN_BONUS" in bonus
    assert "CAMPAIGN_BONUS" not in [e["reason"] for e in outsider.data(CHECK_IN, {"key": "c"})["checkIn"]["entries"]]

    item = staff.data("""mutation { createMallItem(input: {name: "VIP 专享", pointsPrice: 100, stock: 5,
        targetTags: ["vip"]}) { item { id targetTags } userErrors { field code } } }""")["createMallItem"]["item"]
    assert item["targetTags"] == ["vip"]
    assert outsider.data(REDEEM, {"item": item["id"], "quantity": 1, "key": "r"})["redeem"]["userErrors"] == [
        {"field": ["itemId"], "code": "NOT_TARGETED"}]
    assert insider.data(REDEEM, {"item": item["id"], "quantity": 1, "key": "r"})["redeem"]["userErrors"] == []
    shown = outsider.data("query($id: ID!) { node(id: $id) { ... on MallItem { targetTags } } }", {"id": item["id"]})
    assert shown["node"]["targetTags"] is None  # tag names are the brand's, not the members'
    assert staff.data("""mutation { createMallItem(input: {name: "x", pointsPrice: 1, stock: 1,
        targetTags: ["nope"]}) { userErrors { field code } } }""")["createMallItem"]["userErrors"] == [
        {"field": ["targetTags"], "code": "INVALID_INPUT"}]

    wheel = lottery(live_server, "POINTS", cost=10)
    staff.data("""mutation($id: ID!) { updateLottery(input: {lotteryId: $id, targetTags: ["vip"]}) {
        userErrors { code } } }""", {"id": wheel})
    assert outsider.data(DRAW, {"lottery": wheel, "key": "d", "chance": False})["drawLottery"]["userErrors"] == [
        {"field": ["lotteryId"], "code": "NOT_TARGETED"}]
    assert insider.data(DRAW, {"lottery": wheel, "key": "d", "chance": False})["drawLottery"]["userErrors"] == []

    pushed = staff.data("""mutation { pushNotification(input: {tag: "vip", title: "VIP 日", body: "专属福利",
        ref: "vip-day"}) { sent userErrors { field code } } }""")["pushNotification"]
    assert pushed == {"sent": 1, "userErrors": []}
    kinds = [n["node"]["title"] for n in insider.data(NOTIFICATIONS)["me"]["notifications"]["edges"]]
    assert "VIP 日" in kinds
    assert "VIP 日" not in [n["node"]["title"] for n in outsider.data(NOTIFICATIONS)["me"]["notifications"]["edges"]]
    for extra, code in (("tag: \"nope\"", "NOT_FOUND"), ("tag: \"vip\", segment: NEW", "INVALID_INPUT"), ("", "INVALID_INPUT")):
        refused = staff.data(f"""mutation {{ pushNotification(input: {{{extra} title: "t", body: "b", ref: "r"}})
            {{ sent userErrors {{ code }} }} }}""")["pushNotification"]
        assert refused["userErrors"][0]["code"] == code, extra


def test_a_profile_is_its_member_s_and_staff_s_with_its_limits(live_server):
    member = live_server.member("profiled")
    updated = member.data(UPDATE_PROFILE, {"gender": "FEMALE", "city": "杭州", "store": "HZ-01",
                                           "attributes": [{"key": "favourite_tea", "value": "乌龙"},
                                                          {"key": "sweetness", "value": "半糖"}]})["updateProfile"]
    assert updated["userErrors"] == []
    assert member.data(PROFILE)["me"]["profile"] == {
        "gender": "FEMALE", "city": "杭州", "preferredStoreId": "HZ-01",
        "attributes": [{"key": "favourite_tea", "value": "乌龙"}, {"key": "sweetness", "value": "半糖"}]}
    kept = member.data(UPDATE_PROFILE, {"city": "上海"})["updateProfile"]["profile"]
    assert kept["gender"] == "FEMALE" and kept["city"] == "上海" and len(kept["attributes"]) == 2
    staff = live_server.staff()
    by_staff = staff.data(UPDATE_PROFILE, {"member": member_gid("profiled"), "attributes": [
        {"key": "sweetness", "value": ""}]})["updateProfile"]
    assert by_staff["profile"]["attributes"] == []
    for variables, field in (({"attributes": [{"key": f"k{n}", "value": "v"} for n in range(21)]}, ["attributes"]),
                             ({"attributes": [{"key": "Bad Key", "value": "v"}]}, ["attributes", "key"]),
                             ({"attributes": [{"key": "ok", "value": "x" * 201}]}, ["value"]),
                             ({"city": "c" * 41}, ["city"]), ({"store": "bad store id"}, ["preferredStoreId"])):
        refused = member.data(UPDATE_PROFILE, variables)["updateProfile"]
        assert refused["userErrors"] == [{"field": field, "code": "INVALID_INPUT"}], variables
    other = live_server.member("peeker")
    assert other.execute("query($id: ID!) { member(id: $id) { profile { city } } }", {"id": member_gid("profiled")})[
        "errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert other.execute(UPDATE_PROFILE, {"member": member_gid("profiled"), "city": "x"})["errors"][0][
        "extensions"]["code"] == "FORBIDDEN"
