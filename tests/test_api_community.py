"""Submissions reviewed by staff, and expiry reminders, over real HTTP on both databases."""
import asyncio
from datetime import UTC, datetime, timedelta


from tests.conftest import services_of, with_services
from tests.documents import ADJUST
from tests.test_api_expiry import SETTINGS
from tests.test_api_ledger import member_gid, signed_up

SUBMIT = """
mutation($kind: SubmissionKind!, $content: String!, $images: [String!]!, $ref: String) {
  submitReview(input: {kind: $kind, content: $content, imageUrls: $images, ref: $ref}) {
    submission { id kind status } userErrors { field code }
  }
}
"""
REVIEW = """
mutation($id: ID!, $approve: Boolean!, $reason: String, $key: String!) {
  reviewSubmission(input: {submissionId: $id, approve: $approve, reason: $reason, idempotencyKey: $key}) {
    submission { status rejectReason points } entry { id reason delta } member { points { available } }
    userErrors { field code }
  }
}
"""
PENDING = """
query($kind: SubmissionKind) { submissions(first: 10, status: PENDING, kind: $kind) {
  edges { node { id kind content member { memberId } } } } }
"""


def test_a_submission_is_paid_once_when_approved(live_server):
    member, staff = signed_up(live_server, "reviewer"), live_server.staff()
    sent = member.data(SUBMIT, {"kind": "REVIEW", "content": "茶很好喝，包装精致", "images": [], "ref": "SO-9"})
    submission_id = sent["submitReview"]["submission"]["id"]
    assert sent["submitReview"]["submission"]["status"] == "PENDING"
    twice = member.data(SUBMIT, {"kind": "REVIEW", "content": "again", "images": [], "ref": "SO-9"})
    assert twice["submitReview"]["userErrors"] == [{"field": ["ref"], "code": "DUPLICATE_SUBMISSION"}]
    pending = staff.data(PENDING, {"kind": "REVIEW"})["submissions"]["edges"]
    assert [(e["node"]["id"], e["node"]["member"]["memberId"]) for e in pending] == [(submission_id, "reviewer")]
    approved = staff.data(REVIEW, {"id": submission_id, "approve": True, "key": "ok"})["reviewSubmission"]
    assert approved["submission"]["status"] == "APPROVED" and approved["entry"]["delta"] == 20
    assert approved["member"]["points"]["available"] == 20
    assert staff.data(REVIEW, {"id": submission_id, "approve": True, "key": "ok"})["reviewSubmission"][
        "entry"] == approved["entry"]
    again = staff.data(REVIEW, {"id": submission_id, "approve": True, "key": "ok-2"})["reviewSubmission"]
    assert again["userErrors"] == [{"field": ["submissionId"], "code": "ALREADY_REVIEWED"}]
    assert staff.data(PENDING, {})["submissions"]["edges"] == []


def test_a_rejected_photo_post_tells_the_member_why(live_server):
    member, staff = signed_up(live_server, "poster"), live_server.staff()
    no_photo = member.data(SUBMIT, {"kind": "PHOTO_POST", "content": "看!", "images": [], "ref": "SO-1"})
    assert no_photo["submitReview"]["userErrors"][0]["field"] == ["imageUrls"]
    bad_url = member.data(SUBMIT, {"kind": "PHOTO_POST", "content": "", "images": ["javascript:x"], "ref": None})
    assert bad_url["submitReview"]["userErrors"][0]["field"] == ["imageUrls"]
    sent = member.data(SUBMIT, {"kind": "PHOTO_POST", "content": "", "images": ["https://img.example/1.jpg"],
                                "ref": "SO-1"})["submitReview"]["submission"]
    missing_reason = staff.data(REVIEW, {"id": sent["id"], "approve": False, "key": "r"})["reviewSubmission"]
    assert missing_reason["userErrors"][0]["field"] == ["reason"]
    rejected = staff.data(REVIEW, {"id": sent["id"], "approve": False, "reason": "图片与商品不符",
                                   "key": "r2"})["reviewSubmission"]
    assert rejected["entry"] is None and rejected["submission"]["status"] == "REJECTED"
    mine = member.data("{ me { submissions(first: 5) { edges { node { status rejectReason } } } } }")
    assert mine["me"]["submissions"]["edges"][0]["node"] == {"status": "REJECTED", "rejectReason": "图片与商品不符"}
    retry = member.data(SUBMIT, {"kind": "PHOTO_POST", "content": "", "images": ["https://img.example/2.jpg"],
                                 "ref": "SO-1"})
    assert retry["submitReview"]["userErrors"] == []  # a rejected one does not block a new try
    assert member.execute(PENDING, {})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = member.execute(REVIEW, {"id": sent["id"], "approve": True, "key": "self"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def remind(live_server):
    return await with_services(live_server, lambda services: services.notifications.remind_expiring())


def test_expiry_reminders_are_recorded_once_and_can_be_marked_read(live_server):
    member = signed_up(live_server, "forgetful")
    live_server.staff().data(ADJUST, {"memberId": member_gid("forgetful"), "delta": 88, "memo": "m", "key": "k"})
    assert asyncio.run(remind(live_server)) == 0  # expires end of March 2027: not within 30 days
    live_server.clock.set(datetime(2027, 3, 5, tzinfo=UTC))
    assert asyncio.run(remind(live_server)) == 1
    live_server.clock.advance(timedelta(days=1))
    assert asyncio.run(remind(live_server)) == 0
    me = member.data("{ me { unreadNotifications notifications(first: 5) { edges { node { id kind body } } } } }")["me"]
    assert me["unreadNotifications"] == 1
    node = me["notifications"]["edges"][0]["node"]
    assert node["kind"] == "POINTS_EXPIRING" and "88 积分将于 2027-03-31 到期" in node["body"]
    marked = member.data('mutation($ids: [ID!]) { markNotificationsRead(input: {ids: $ids}) { marked unread } }',
                         {"ids": [node["id"]]})
    assert marked["markNotificationsRead"] == {"marked": 1, "unread": 0}


def test_a_lot_shorter_lived_than_the_window_is_still_reminded_of(live_server):
    """Points that live a month, a 60-day window: a lot earned after a run expires before that run's horizon."""
    staff = live_server.staff()
    staff.data(SETTINGS, {"months": 1, "tz": "Asia/Shanghai"})
    rule = staff.data("mutation { updateReminderRule(input: {expiryDays: 60}) { rule { expiryDays } } }")
    assert rule == {"updateReminderRule": {"rule": {"expiryDays": 60}}}
    assert live_server.anonymous().data("{ reminderRule { expiryDays } }") == {"reminderRule": {"expiryDays": 60}}
    assert asyncio.run(remind(live_server)) == 0
    signed_up(live_server, "brief")
    staff.data(ADJUST, {"memberId": member_gid("brief"), "delta": 30, "memo": "m", "key": "k"})  # expires May 1
    assert asyncio.run(remind(live_server)) == 1
    bad = staff.data("mutation { updateReminderRule(input: {expiryDays: 0}) { userErrors { code } } }")
    assert bad == {"updateReminderRule": {"userErrors": [{"code": "INVALID_INPUT"}]}}


async def test_the_scheduler_reminds_once_a_day(live_server):
    signed_up(live_server, "daily")
    live_server.staff().data(ADJUST, {"memberId": member_gid("daily"), "delta": 30, "memo": "m", "key": "k"})
    live_server.clock.set(datetime(2027, 3, 5, tzinfo=UTC))
    async with services_of(live_server) as services:
        assert await services.notifications.remind_if_due() == 1
        live_server.staff().data(ADJUST, {"memberId": member_gid("daily"), "delta": 5, "memo": "m", "key": "k2"})
        assert await services.notifications.remind_if_due() == 0  # the same day: not again
        live_server.clock.advance(timedelta(days=1))
        assert await services.notifications.remind_if_due() == 0  # the same lot: already reminded of


def test_staff_configure_submission_rewards(live_server):
    staff = live_server.staff()
    points = staff.data("""mutation { updateSubmissionPoints(input: {points: [{kind: REVIEW, points: 33}]}) {
        points { kind points } userErrors { code } } }""")["updateSubmissionPoints"]["points"]
    assert {"kind": "REVIEW", "points": 33} in points and {"kind": "PHOTO_POST", "points": 50} in points
    member = signed_up(live_server, "rule-reviewer")
    sent = member.data(SUBMIT, {"kind": "REVIEW", "content": "好", "images": [], "ref": None})
    approved = staff.data(REVIEW, {"id": sent["submitReview"]["submission"]["id"], "approve": True, "key": "a"})
    assert approved["reviewSubmission"]["entry"]["delta"] == 33
    node = member.data("query($id: ID!) { node(id: $id) { ... on Submission { status } } }",
                       {"id": sent["submitReview"]["submission"]["id"]})
    assert node["node"] == {"status": "APPROVED"}
