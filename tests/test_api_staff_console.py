"""The staff console: every staff mutation does its work and leaves an audit record naming who did what."""
from datetime import timedelta

from tests.test_api_ledger import member_gid
from tests.test_api_mall import funded

AUDIT = """{ auditLog(first: 1) { edges { node { actor action target } } } }"""
TASK = """{code: "live-task", name: "浏览新品", kind: BROWSE_ITEM, points: 5, period: DAILY, cap: 2, enabled: %s}"""


def console_steps(ids: dict, now) -> list[tuple[str, str]]:
    """(mutation, the audit action it records), in an order where each step has what it needs."""
    starts, ends = now.isoformat(), (now + timedelta(days=2)).isoformat()
    campaign = ('{code: "spring", name: "春季双倍", multiplier: 2.0, startsAt: "%s", endsAt: "%s", '
                'reasons: [CHECK_IN], enabled: %s}')
    return [
        ("updateCheckInRule(input: {basePoints: 5, streakBonuses: [{day: 3, points: 9}]}) { userErrors { code } }",
         "settings.check_in.update"),
        ("createTask(input: %s) { userErrors { code } }" % (TASK % "true"), "task.create"),
        ("updateTask(input: %s) { userErrors { code } }" % (TASK % "false"), "task.update"),
        ("updateOrderRule(input: {pointsPerYuan: 2, returnWindowDays: 10}) { userErrors { code } }",
         "settings.orders.update"),
        ("createMallItem(input: {name: \"代金券\", pointsPrice: 100, stock: 5, kind: COUPON}) "
         "{ item { id } userErrors { code } }", "mall_item.create"),
        ('updateMallItem(input: {itemId: "%(item)s", stock: 9}) { userErrors { code } }', "mall_item.update"),
        ('addCouponCodes(input: {itemId: "%(item)s", codes: ["SPRING-0001", "SPRING-0002"]}) { userErrors { code } }',
         "mall_item.add_codes"),
        ('createFlashSale(input: {itemId: "%%(item)s", title: "秒杀券", pointsPrice: 10, stock: 2, startsAt: "%s", '
         'endsAt: "%s"}) { flashSale { id } userErrors { code } }' % (starts, ends), "flash_sale.create"),
        ('updateFlashSale(input: {flashSaleId: "%(sale)s", stock: 5}) { userErrors { code } }', "flash_sale.update"),
        ("updateDeductionRule(input: {pointsPerYuan: 100, maxPercent: 30, minOrderFen: 0}) { userErrors { code } }",
         "settings.deduction.update"),
        ("updateCheckoutRule(input: {paymentMinutes: 10}) { userErrors { code } }", "settings.checkout.update"),
        ('createLottery(input: {name: "转盘", entryCost: 10, prizes: [{name: "谢谢参与", kind: NOTHING, weight: 9, fallback: true}, {name: "十积分", kind: POINTS, weight: 1, points: 10}]}) '
         "{ lottery { id } userErrors { code } }", "lottery.create"),
        ('updateLottery(input: {lotteryId: "%(lottery)s", enabled: false}) { userErrors { code } }', "lottery.update"),
        ('revealLotterySeed(input: {lotteryId: "%(lottery)s"}) { userErrors { code } }', "lottery.reveal_seed"),
        ("updateInvitationRule(input: {inviteePoints: 5, inviterTiers: [{fromFriend: 1, points: 5}], "
         "newMemberDays: 3}) { userErrors { code } }", "settings.invitations.update"),
        ("updateSubmissionPoints(input: {points: [{kind: REVIEW, points: 20}]}) { userErrors { code } }",
         "settings.submissions.update"),
        ('saveEventRule(input: {eventType: "live_view", name: "看直播", points: 3}) { userErrors { code } }',
         "event_rule.save"),
        ("updateAssistRule(input: {thresholds: [{helpers: 3, points: 30}], durationHours: 24}) "
         "{ userErrors { code } }", "settings.assists.update"),
        ("updateBirthdayRule(input: {points: 50, windowDays: 3}) { userErrors { code } }", "settings.birthday.update"),
        ("updateReminderRule(input: {expiryDays: 20}) { userErrors { code } }", "settings.reminders.update"),
        ("createCampaign(input: %s) { userErrors { code } }" % (campaign % (starts, ends, "true")), "campaign.create"),
        ("updateCampaign(input: %s) { userErrors { code } }" % (campaign % (starts, ends, "false")),
         "campaign.update"),
        ('updateTier(input: {level: 2, name: "银卡", growthThreshold: 50, earnMultiplier: 1.1}) '
         "{ userErrors { code } }", "settings.tiers.update"),
        ('updateBrandSettings(input: {name: "茶饮", timezone: "Asia/Shanghai", pointsExpiryMonths: 12}) '
         "{ userErrors { code } }", "settings.brand.update"),
        ("updateLeaderboardPrizes(input: {period: WEEK, tiers: [{upToRank: 1, points: 100}]}) "
         "{ userErrors { code } }", "settings.leaderboard_prizes:WEEK.update"),
        ("updateSegmentRule(input: {newDays: 10}) { userErrors { code } }", "settings.segments.update"),
        ("refreshSegments { userErrors { code } }", "segments.refresh"),
        ('adjustPoints(input: {memberId: "%(member)s", delta: 30, memo: "补偿", idempotencyKey: "console-adjust"}) '
         "{ userErrors { code } }", "points.adjust"),
        ('reviewSubmission(input: {submissionId: "%(submission)s", approve: true, idempotencyKey: "console-review"}) '
         "{ userErrors { code } }", "submission.approve"),
        ('fulfilRedemption(input: {redemptionId: "%(redemption)s", status: SHIPPED}) { userErrors { code } }',
         "redemption.shipped"),
        ('cancelRedemption(input: {redemptionId: "%(redemption)s", reason: "缺货", idempotencyKey: "console-cancel"}) '
         "{ userErrors { code } }", "redemption.cancel"),
        ('pushNotification(input: {segment: NEW, title: "新人礼", body: "欢迎", ref: "welcome"}) '
         "{ userErrors { code } }", "notification.push"),
        ('updateWebhook(input: {url: "https://msg.example.cn/hook"}) { userErrors { code } }', "webhook.update"),
    ]


def test_every_staff_mutation_is_audited(live_server):
    staff = live_server.staff("console-ops")
    member = funded(live_server, "console-member", 500)
    ids = {"member": member_gid("console-member")}
    ids["submission"] = member.data('mutation { submitReview(input: {content: "好喝", ref: "SO-9"}) '
                                    "{ submission { id } } }")["submitReview"]["submission"]["id"]
    for mutation, action in console_steps(ids, live_server.clock.now()):
        document = "mutation { " + (mutation % ids if "%(" in mutation else mutation) + " }"
        payload = next(iter(staff.data(document).values()))
        assert payload["userErrors"] == [], (mutation, payload)
        record = staff.data(AUDIT)["auditLog"]["edges"][0]["node"]
        assert (record["actor"], record["action"]) == ("staff:console-ops", action), mutation
        ids.update(item=ids.get("item") or (payload.get("item") or {}).get("id"),
                   sale=ids.get("sale") or (payload.get("flashSale") or {}).get("id"),
                   lottery=ids.get("lottery") or (payload.get("lottery") or {}).get("id"))
        if action == "mall_item.add_codes":  # the member redeems a coupon, for the fulfilment steps
            redeemed = member.data('mutation($item: ID!) { redeem(input: {itemId: $item, idempotencyKey: "r"}) '
                                   "{ redemption { id } } }", {"item": ids["item"]})
            ids["redemption"] = redeemed["redeem"]["redemption"]["id"]
