"""Edge cases found in review: each once broke (a 500, a double payment, a stray write)."""
import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import insert

from persistence.tables import members, point_lots
from tests.test_api_assists import ASSIST, START
from tests.test_api_community import SUBMIT
from tests.test_api_events import EVENT, RULE, event
from tests.test_api_orders import CAMPAIGN, RECORD, THRESHOLD, record


def test_an_order_under_two_long_campaign_codes_is_recorded(live_server):
    staff = live_server.staff()
    now = live_server.clock.now()
    window = {"starts": (now - timedelta(hours=1)).isoformat(), "ends": (now + timedelta(days=1)).isoformat()}
    staff.data(CAMPAIGN, {"code": "double-points-week-2026-november-special", "multiplier": 2.0,
                          "reasons": ["ORDER"], **window})
    staff.data(THRESHOLD, {"code": "spend-one-hundred-get-one-hundred-nov-26", "min": 10000, "bonus": 100, **window})
    order = record(staff, "long-codes", "LC-1", 12000)["order"]
    assert order["campaignCode"] == "double-points-week-2026-november-special+spend-one-hundred-get-one-hundred-nov-26"


async def test_one_order_id_sent_for_different_members_at_once_is_recorded_once(live_server):
    staff = live_server.staff()
    async with httpx.AsyncClient() as http:
        replies = await asyncio.gather(*(staff.execute_async(http, RECORD, {
            "memberId": f"racer-{i}", "orderId": "RACE-1", "amount": 1000, "key": f"k{i}"}) for i in range(8)))
    payloads = [r["data"]["recordOrder"] for r in replies]
    assert sum(1 for p in payloads if not p["userErrors"]) == 1
    assert {p["userErrors"][0]["code"] for p in payloads if p["userErrors"]} == {"DUPLICATE_ORDER"}


async def members_with_lots(services, clock, count: int, expiries: list[datetime]) -> None:
    """``count`` members, each holding a lot of 10 points expiring at each of ``expiries``."""
    async def seed(uow):
        points = 10 * len(expiries)
        await uow.connection.execute(insert(members), [
            {"external_id": f"lots-{i}", "nickname": "n", "created_at": clock.now(), "tier_level": 1, "growth": 0,
             "balance": points, "held": 0, "pending": 0, "lifetime_earned": points, "debt": 0} for i in range(count)])
        ids = [row.id for row in await uow.connection.execute(members.select())]
        await uow.connection.execute(insert(point_lots), [
            {"member_id": i, "expires_at": at, "remaining": 10} for i in ids for at in expiries])

    await services.transactions.write(seed)


async def test_reminders_for_thousands_of_members_in_one_run(services, clock):
    await members_with_lots(services, clock, 5000, [datetime(2026, 4, 1, tzinfo=UTC)])
    assert await services.notifications.remind_expiring() == 5000
    assert await services.notifications.remind_expiring() == 0  # each lot once


async def test_reminders_go_out_a_batch_per_transaction_and_resume_where_a_run_stopped(services, clock):
    expires = [datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)]
    await members_with_lots(services, clock, 7, expires)
    first_three = await services.transactions.read(
        lambda uow: uow.notifications.expiring_lots(clock.now(), expires[1], None, 3))
    from domain.notifications import notify, expiry_reminder  # a run that stopped after its first batch
    await services.transactions.write(lambda uow: notify(uow, [expiry_reminder(m, at, p, UTC)
                                                               for m, at, p in first_three], clock.now()))
    assert await services.notifications.remind_expiring(batch=3) == 14 - 3  # two lots each, in pages of 3
    assert await services.notifications.remind_expiring(batch=3) == 0


def test_a_revoking_event_needs_its_match_attribute(live_server):
    staff = live_server.staff()
    staff.data(RULE, {"type": "group_join", "name": "入群", "points": 30, "beneficiary": "INVITER"})
    staff.data(RULE, {"type": "group_leave", "name": "退群", "points": 0, "revokes": "group_join", "within": 7,
                      "match": "groupId"})
    live_server.member("host-2").data("{ me { id } }")
    event(staff, "joiner", "group_join", "j", {"inviterId": "host-2", "groupId": "g-1"})
    blind = event(staff, "joiner", "group_leave", "l", {})
    assert blind["userErrors"] == [{"field": ["attributes"], "code": "INVALID_INPUT"}]
    other_group = event(staff, "joiner", "group_leave", "l2", {"groupId": "g-2"})
    assert other_group["entry"] is None and other_group["member"]["points"]["available"] == 0  # joiner's own


def test_a_threshold_change_mid_campaign_never_pays_a_step_twice(live_server):
    owner = live_server.member("steady-owner")
    campaign_id = owner.data(START, {"title": None})["startAssistCampaign"]["campaign"]["id"]
    for i in range(5):
        live_server.member(f"steady-{i}").data(ASSIST, {"id": campaign_id, "key": "k"})
    # Staff move the first threshold from 5 to 6 helpers; the running campaign keeps its own thresholds.
    changed = live_server.staff().data("""mutation { updateAssistRule(input: {durationHours: 48, thresholds: [
        {helpers: 6, points: 50}, {helpers: 10, points: 120}]}) { rule { thresholds { helpers } } userErrors { code } } }""")
    assert changed["updateAssistRule"]["rule"]["thresholds"] == [{"helpers": 6}, {"helpers": 10}]
    assert live_server.member("steady-5").data(ASSIST, {"id": campaign_id, "key": "k"})["assist"]["userErrors"] == []
    assert owner.data("{ me { assistCampaigns { pointsPaid } } }")["me"]["assistCampaigns"][0]["pointsPaid"] == 50
    assert owner.data("{ me { points { available } } }")["me"]["points"]["available"] == 50


def test_refused_orders_and_events_create_no_member(live_server):
    staff = live_server.staff()
    bad = staff.data(RECORD, {"memberId": "ghost-1", "orderId": "not valid!", "amount": 100, "key": "k"})
    assert bad["recordOrder"]["userErrors"][0]["field"] == ["orderId"]
    unknown = staff.data(EVENT, {"member": "ghost-2", "type": "nope", "id": "e", "key": "k"})
    assert unknown["recordEvent"]["userErrors"][0]["code"] == "NOT_FOUND"
    for ghost in ("TWVtYmVyOmdob3N0LTE=", "TWVtYmVyOmdob3N0LTI="):  # Member:ghost-1, Member:ghost-2
        assert staff.data("query($id: ID!) { member(id: $id) { id } }", {"id": ghost})["member"] is None


def test_a_zero_point_order_is_settled_at_once(live_server):
    assert record(live_server.staff(), "tiny", "TINY-1", 50)["order"]["status"] == "RELEASED"


def test_campaign_dates_out_of_range_are_refused(live_server):
    staff = live_server.staff()
    ancient = staff.execute(CAMPAIGN, {"code": "ancient", "multiplier": 2.0, "reasons": ["ORDER"],
                                       "starts": "0001-01-01T00:00:00+08:00", "ends": "0001-01-02T00:00:00+08:00"})
    assert ancient["data"] is None and ancient["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    far = staff.data(CAMPAIGN, {"code": "far", "multiplier": 2.0, "reasons": ["ORDER"],
                                "starts": "2500-01-01T00:00:00+08:00", "ends": "2500-01-02T00:00:00+08:00"})
    assert far["createCampaign"]["userErrors"] == [{"field": ["startsAt"], "code": "INVALID_INPUT"}]


def test_a_member_cannot_claim_a_review_of_someone_elses_order(live_server):
    record(live_server.staff(), "buyer-a", "OWN-1", 1000)
    thief = live_server.member("buyer-b")
    sent = thief.data(SUBMIT, {"kind": "PHOTO_POST", "content": "", "images": ["https://i.example/x.jpg"],
                               "ref": "OWN-1"})
    assert sent["submitReview"]["userErrors"] == [{"field": ["ref"], "code": "INVALID_INPUT"}]
