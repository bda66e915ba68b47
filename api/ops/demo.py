"""Demo data for `jifen serve --demo`: a brand with tiers, a check-in rule and members with history."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from api.ops.services import Services
from domain.assists import AssistRule
from domain.birthdays import BirthdayRule
from domain.brand import BrandSettings
from domain.campaigns import Campaign, Schedule, ScheduleKind
from domain.chances import ChanceRule
from domain.conversions import ConversionRule
from domain.deductions import DeductionRule
from domain.gifts import GiftRule
from domain.checkin import CheckInRule, CheckInService
from domain.clock import ManualClock
from domain.configuration import Actor
from domain.events import Beneficiary, EventRule
from domain.flash_sales import FlashSale
from domain.invitations import InvitationRule, invitation_code
from domain.ledger import LedgerReason
from domain.lottery import Lottery, LotteryPayment, Prize, PrizeKind
from domain.coupons import CouponTerms
from domain.mall import ItemKind, MallItem
from domain.orders import OrderChannel, OrderRule, OrderService
from domain.stores import TillService
from domain.partners import ExchangeRate
from domain.segments import Segment
from domain.points import PointsOperations
from domain.submissions import SubmissionKind, SubmissionRule
from domain.tasks import Task, TaskConfirmation, TaskKind, TaskPeriod
from domain.tags import Gender, Tag, TagRule, TagRuleKind
from domain.tiers import DEFAULT_TIERS, Perk, PerkKind

DEMO_KEY = "demo"
STAFF = Actor("staff", "demo-staff")
# (member id, nickname, days of check-ins ending yesterday, welcome points)
TASKS = [
    Task("browse-item", "浏览商品 15 秒", TaskKind.BROWSE_ITEM, 5, TaskPeriod.DAILY, 3, position=1),
    Task("watch-video", "看完一支品牌视频", TaskKind.WATCH_VIDEO, 5, TaskPeriod.DAILY, 2, position=2),
    Task("share-link", "分享活动页给好友", TaskKind.SHARE_LINK, 10, TaskPeriod.DAILY, 1, position=3),
    Task("weekly-share", "本周分享 1 次社群", TaskKind.SHARE_LINK, 30, TaskPeriod.WEEKLY, 1, position=4),
    Task("complete-profile", "完善个人资料", TaskKind.COMPLETE_PROFILE, 50, TaskPeriod.ONCE, 1, position=5),
    # The brand's server knows whether a member joined or followed: these pay only on its signed ticket.
    Task("join-group", "加入品牌社群", TaskKind.JOIN_GROUP, 30, TaskPeriod.ONCE, 1, position=6,
         confirmed_by=TaskConfirmation.SERVER),
    Task("follow-account", "关注公众号", TaskKind.FOLLOW_ACCOUNT, 20, TaskPeriod.ONCE, 1, position=7,
         confirmed_by=TaskConfirmation.SERVER),
    Task("weekly-explorer", "本周完成 10 次浏览或看视频", TaskKind.OTHER, 60, TaskPeriod.WEEKLY, 1, position=8,
         steps=("browse-item", "watch-video"), target=10),
]
MALL_ITEMS = [
    MallItem("品牌保温杯", ItemKind.GOODS, 500, 50, category="cups", position=1,
             description="316 不锈钢，12 小时保温"),
    MallItem("满 30 减 5 优惠券", ItemKind.COUPON, 200, 1000, per_member_limit=2, category="coupons", position=2,
             coupon_terms=CouponTerms(value_fen=500, min_spend_fen=3000, valid_days=30)),
    MallItem("新品茶饮兑换券", ItemKind.COUPON, 800, 200, category="coupons", position=3,
             coupon_terms=CouponTerms(valid_days=60)),
    MallItem("茶艺沙龙席位", ItemKind.PRIVILEGE, 3000, 12, per_member_limit=1, min_tier_level=3, category="events",
             position=4),
    MallItem("限定帆布袋 (加 19.9 元)", ItemKind.GOODS, 300, 100, cash_price_fen=1990, category="bags", position=5),
    MallItem("下午茶三人套餐", ItemKind.COUPON, 1200, 60, category="coupons", position=6, group_size=3,
             group_points_price=600, group_hours=24, description="三人成团，每人 600 积分",
             coupon_terms=CouponTerms(valid_days=14)),
    MallItem("会员日专享 半价奶茶券", ItemKind.COUPON, 150, 300, per_member_limit=1, category="coupons", position=7,
             description="每月 18 日会员日限定", coupon_terms=CouponTerms(valid_days=7), member_day="member-day"),
]
MEMBER_DAY = "member-day"
EVENT_RULES = [
    EventRule("group_message", "社群发言", 1, daily_cap=10),
    EventRule("group_join", "邀请好友入群", 30, LedgerReason.INVITE, Beneficiary.INVITER),
    EventRule("group_leave", "好友 7 天内退群", revokes="group_join", revoke_within_days=7, match_attribute="groupId"),
    EventRule("live_view", "观看直播", 5, daily_cap=5),
    EventRule("store_visit", "到店打卡", 20, daily_cap=20),
]
PARTNER = ("skyway", "云途航空里程", ExchangeRate(10, 1))  # 10 of the brand's points = 1 mile
DEMO_STORE = "SH-001"  # `jifen serve --demo` prints its till's token
MEMBERS = [("demo-alice", "小鹿", 8, 500), ("demo-bob", "阿杰", 3, 2000), ("demo-carol", "Carol", 45, 100)]


async def partner_key(services: Services) -> tuple[str, str] | None:
    """The demo partner's first live key (key id, secret), to print for trying signed requests."""
    live = [k for k in await services.partners.keys_of(PARTNER[0]) if k.revoked_at is None]
    return (live[0].key_id, live[0].secret) if live else None


async def seed(services: Services) -> bool:
    """Seed once; later runs find the marker and change nothing. Returns whether it seeded."""
    tx = services.transactions
    if await tx.read(lambda uow: uow.settings.get(DEMO_KEY)) is not None:
        return False
    await services.brand.update(STAFF, BrandSettings("Jifen 示例茶饮", "Asia/Shanghai", 12))
    for tier in DEFAULT_TIERS.tiers:
        await services.tiers.update(STAFF, tier)
    await services.check_in.update_rule(STAFF, CheckInRule(10, ((7, 50), (30, 200))))
    await services.orders.update_rule(STAFF, OrderRule(points_per_yuan=1, return_window_days=7))
    await services.invitations.update_rule(STAFF, InvitationRule(20, ((1, 10), (4, 15), (6, 20)), 7))
    await services.submissions.update_rule(STAFF, SubmissionRule())
    await services.assists.update_rule(STAFF, AssistRule(((5, 50), (10, 120)), 48))
    await services.birthdays.update_rule(STAFF, BirthdayRule(points=100, window_days=7))
    await services.deductions.update_rule(STAFF, DeductionRule(points_per_yuan=100, max_percent=50, min_order_fen=1000))
    await services.gifts.update_rule(STAFF, GiftRule(enabled=True))
    for task in TASKS:
        await services.tasks.save(STAFF, task, create=True)
    await services.tasks.rotate_ticket_key(STAFF)  # `jifen task-ticket` signs the demo's tickets with it
    for rule in EVENT_RULES:
        await services.events.save_rule(STAFF, rule)
    now = services.clock.now()
    await services.campaigns.save(STAFF, Campaign("double-week", "下单双倍积分周", 2000, now, now + timedelta(days=7),
                                                  (LedgerReason.ORDER,)), create=True)
    await services.campaigns.save(STAFF, Campaign("wake-up", "沉睡会员签到双倍", 2000, now, now + timedelta(days=30),
                                                  (LedgerReason.CHECK_IN,), segments=(Segment.DORMANT,)),
                                  create=True)
    await services.campaigns.save(STAFF, Campaign(
        MEMBER_DAY, "每月 18 日会员日", 2000, now, now + timedelta(days=365), (LedgerReason.ORDER, LedgerReason.CHECK_IN),
        schedule=Schedule(ScheduleKind.MONTH_DAYS, (18,))), create=True)
    for external_id, nickname, days, welcome in MEMBERS:
        await _member_with_history(services, external_id, nickname, days, welcome)
    # Copies: creating an item fills in its id, and these templates must stay as they are.
    cup, coupon, *_ = [await services.mall.create(STAFF, replace(item)) for item in MALL_ITEMS]
    await _perks(services, coupon.id)
    await services.conversions.update_rule(STAFF, ConversionRule(
        True, "积分升值：满 30 减 5 券", points=300, worth_fen=500, item_id=coupon.id, idle_months=3, expiring_days=30))
    await services.flash_sales.create(STAFF, FlashSale(cup.id, "99 积分秒杀保温杯", 99, 20, 1, now, now + timedelta(days=2)))
    await services.lotteries.create(STAFF, demo_lottery(cup.id))
    await services.chances.update_rule(STAFF, ChanceRule(streak_chances=((7, 1),)))
    await _orders(services)
    await _community(services)
    alice = await services.members.ensure("demo-alice")  # a coupon in her wallet (me { coupons })
    await services.mall.redeem(Actor("member", "demo-alice"), alice.id, coupon.id, 1, "demo-coupon")
    code, name, rate = PARTNER
    await services.partners.create(code, name, rate, STAFF, daily_points_per_member=5000)
    await services.segments.refresh(STAFF)
    await _tags_and_profiles(services)
    now = services.clock.now()
    await tx.write(lambda uow: uow.settings.put(DEMO_KEY, {"seededAt": now.isoformat()}, STAFF.label, now))
    return True


async def _tags_and_profiles(services: Services) -> None:
    await services.tags.save(STAFF, Tag("tea-lover", "茶饮爱好者", TagRule(TagRuleKind.ORDERS, min_count=3)), create=True)
    await services.tags.save(STAFF, Tag("newcomer", "新会员", TagRule(TagRuleKind.SEGMENT, segment=Segment.NEW)),
                             create=True)
    alice = await services.members.ensure("demo-alice")
    await services.tags.update_profile(Actor("member", "demo-alice"), alice.id, {
        "gender": Gender.FEMALE, "city": "上海", "preferred_store_id": DEMO_STORE,
        "attributes": {"favourite_tea": "乌龙", "sweetness": "半糖"}})


async def _perks(services: Services, coupon_id: int) -> None:
    """V3 and above: a monthly coupon; V4 and above: free shipping twice a month; V5 and above: early access."""
    monthly = Perk(PerkKind.MONTHLY_COUPON, "每月满 30 减 5 券", item_id=coupon_id)
    shipping = Perk(PerkKind.FREE_SHIPPING, "每月包邮 2 次", quantity=2, max_fen=1000)
    early = Perk(PerkKind.EARLY_ACCESS, "秒杀与会员日提前 30 分钟", minutes=30)
    table = await services.tiers.table()
    for level, benefits in ((3, (monthly,)), (4, (monthly, shipping)), (5, (monthly, shipping, early)),
                            (6, (monthly, shipping, early))):
        await services.tiers.update(STAFF, replace(table.get(level), benefits=benefits))


def demo_lottery(cup_id: int) -> Lottery:
    """20 points a draw, 5 a day; the 10th draw without a win is guaranteed one."""
    return Lottery("每日幸运转盘", 20, daily_limit=5, pity_after=10, payment=LotteryPayment.EITHER, prizes=[
        Prize("品牌保温杯", PrizeKind.ITEM, 10, item_id=cup_id, stock=5),
        Prize("100 积分", PrizeKind.POINTS, 90, points=100, stock=500),
        Prize("30 积分", PrizeKind.POINTS, 300, points=30),
        Prize("谢谢参与", PrizeKind.NOTHING, 600, fallback=True),
    ])


async def _member_with_history(services: Services, external_id: str, nickname: str, days: int,
                               welcome: int) -> None:
    past = ManualClock(services.clock.now() - timedelta(days=days))
    member = await services.members.ensure(external_id, nickname)
    await services.points.adjust(STAFF, member.id, welcome, "新会员欢迎礼", f"demo-welcome-{external_id}")
    check_in = CheckInService(PointsOperations(services.transactions, past), services.transactions, past)
    for day in range(days):
        await check_in.check_in(Actor("member", external_id), member.id, f"demo-checkin-{day}")
        past.advance(timedelta(days=1))


async def _community(services: Services) -> None:
    """Bob joined through Alice's invitation and helps her assist campaign; Carol's photo post waits."""
    alice, bob = await services.members.ensure("demo-alice"), await services.members.ensure("demo-bob")
    await services.invitations.accept(Actor("member", "demo-bob"), bob.id, invitation_code(alice.id),
                                      "demo-invitation")
    campaign = await services.assists.start(alice.id, "帮小鹿助力领 120 积分")
    await services.assists.assist(Actor("member", "demo-bob"), bob.id, campaign.id, "demo-assist")
    carol = await services.members.ensure("demo-carol")
    await services.submissions.submit(carol.id, SubmissionKind.PHOTO_POST, "新品桂花乌龙，颜值很高",
                                      ["https://img.example.com/demo/osmanthus.jpg"], "DEMO-0901")


async def _orders(services: Services) -> None:
    """Bob: one order released two weeks ago, one still inside its return window (pending), and
    yesterday's order at the demo store's till."""
    bob = await services.members.ensure("demo-bob")
    shop = Actor("system", "demo-shop")
    for days_ago, order_id, amount_fen in ((14, "DEMO-1001", 25800), (2, "DEMO-1002", 8800)):
        past = ManualClock(services.clock.now() - timedelta(days=days_ago))
        orders = OrderService(PointsOperations(services.transactions, past), services.transactions, past)
        await orders.record(shop, bob.id, order_id, amount_fen, OrderChannel.ONLINE, None, f"demo-{order_id}")
    yesterday = ManualClock(services.clock.now() - timedelta(days=1))
    till = TillService(OrderService(PointsOperations(services.transactions, yesterday), services.transactions,
                                    yesterday), services.deductions, services.transactions, yesterday)
    await till.record_order(Actor("store", DEMO_STORE), bob.id, "SH-001-0001", 6600, "demo-SH-001-0001")
    await services.expiry.run()  # releases the first order
