"""The composition root: one database, one clock, and the domain services built over them."""
from __future__ import annotations

from dataclasses import dataclass

from api.adapters.realtime import ActivityHub, Announcer, LocalBroker, build_broker
from api.adapters.webhooks import HttpWebhookTransport
from domain.analytics import AnalyticsService
from domain.assists import AssistService
from domain.audit import AuditService
from domain.birthdays import BirthdayService
from domain.brand import BrandService
from domain.campaigns import CampaignService
from domain.checkin import CheckInService
from domain.checkout import CheckoutService
from domain.deductions import DeductionService
from domain.clock import Clock, SystemClock
from domain.expiry import ExpirySweep
from domain.events import EventService
from domain.admission import Admission, ForgetRestocked, TicketCounters
from domain.flash_sales import FlashSaleService
from domain.chances import ChanceService
from domain.conversions import ConversionService
from domain.tags import TagService
from domain.gifts import GiftService
from domain.perks import PerkService
from domain.group_redemptions import GroupRedemptionService
from domain.invitations import InvitationService
from domain.leaderboards import LeaderboardService
from domain.lottery import LotteryService
from domain.mall import MallService
from domain.members import MemberService, PointsQueries
from domain.coupons import CouponService
from domain.notifications import NotificationService
from domain.orders import OrderService
from domain.stores import TillService
from domain.feed import FeedService
from domain.exports import ExportService
from domain.imports import ImportService
from domain.partners import PartnerService
from domain.points import PointsOperations, PointsService
from domain.randomness import RandomSource, SystemRandomSource
from domain.reconciliation import Reconciliation
from domain.segments import SegmentService
from domain.submissions import SubmissionService
from domain.tasks import TaskService
from domain.tiers import TierService
from domain.webhooks import WebhookService, WebhookTransport
from persistence.database import Database
from persistence.admission import RedisTicketCounters
from persistence.leaderboard_cache import RedisLeaderboardCache
from persistence.unit_of_work import SqlTransactions


@dataclass
class Services:
    database: Database
    clock: Clock
    transactions: SqlTransactions
    members: MemberService
    points: PointsService
    points_queries: PointsQueries
    check_in: CheckInService
    tiers: TierService
    brand: BrandService
    expiry: ExpirySweep
    reconciliation: Reconciliation
    orders: OrderService
    campaigns: CampaignService
    tasks: TaskService
    invitations: InvitationService
    submissions: SubmissionService
    notifications: NotificationService
    events: EventService
    assists: AssistService
    birthdays: BirthdayService
    mall: MallService
    checkout: CheckoutService
    deductions: DeductionService
    flash_sales: FlashSaleService
    lotteries: LotteryService
    groups: GroupRedemptionService
    broker: LocalBroker
    activity: ActivityHub
    leaderboards: LeaderboardService
    partners: PartnerService
    audit: AuditService
    segments: SegmentService
    analytics: AnalyticsService
    webhooks: WebhookService
    coupons: CouponService
    till: TillService
    feed: FeedService
    imports: ImportService
    exports: ExportService
    gifts: GiftService
    perks: PerkService
    chances: ChanceService
    conversions: ConversionService
    tags: TagService

    @classmethod
    def build(cls, database_url: str, clock: Clock | None = None, randomness: RandomSource | None = None,
              redis_url: str | None = None, redis_prefix: str = "jifen",
              webhook_transport: WebhookTransport | None = None) -> "Services":
        clock = clock or SystemClock()
        randomness = randomness or SystemRandomSource()
        database = Database.connect(database_url)
        tx = SqlTransactions(database)
        broker = build_broker(redis_url, redis_prefix)
        cache = RedisLeaderboardCache(redis_url, redis_prefix) if redis_url else None
        tx.listeners.append(Announcer(broker, cache))
        operations = PointsOperations(tx, clock)
        admission = admission_gate(database.dialect, redis_url, redis_prefix)
        if admission is not None:
            tx.listeners.append(ForgetRestocked(admission))
        orders, deductions = OrderService(operations, tx, clock), DeductionService(operations, tx, clock)
        events = EventService(operations, tx, clock)
        return cls(database, clock, tx, MemberService(tx, clock), PointsService(operations),
                   PointsQueries(tx, clock), CheckInService(operations, tx, clock), TierService(tx, clock),
                   BrandService(tx, clock), ExpirySweep(tx, clock), Reconciliation(tx, clock),
                   orders, CampaignService(tx, clock), TaskService(operations, tx, clock),
                   InvitationService(operations, tx, clock), SubmissionService(operations, tx, clock),
                   NotificationService(tx, clock), events,
                   AssistService(operations, tx, clock), BirthdayService(operations, tx, clock),
                   MallService(operations, tx, clock, admission), CheckoutService(operations, tx, clock),
                   deductions,
                   FlashSaleService(operations, tx, clock, admission),
                   LotteryService(operations, tx, clock, randomness, admission),
                   GroupRedemptionService(operations, tx, clock, admission),
                   broker, ActivityHub(broker), LeaderboardService(operations, tx, clock, cache),
                   PartnerService(operations, tx, clock),
                   AuditService(tx), SegmentService(tx, clock), AnalyticsService(tx, clock),
                   WebhookService(tx, clock, webhook_transport or HttpWebhookTransport()), CouponService(tx, clock),
                   TillService(orders, deductions, tx, clock), FeedService(tx),
                   ImportService(tx, clock, events), ExportService(tx),
                   GiftService(operations, tx, clock), PerkService(operations, tx, clock),
                   ChanceService(operations, tx, clock), ConversionService(operations, tx, clock),
                   TagService(tx, clock))

    async def close(self) -> None:
        await self.activity.close()
        await self.broker.close()
        if isinstance(self.webhooks.transport, HttpWebhookTransport):
            await self.webhooks.transport.close()
        if isinstance(self.leaderboards.cache, RedisLeaderboardCache):
            await self.leaderboards.cache.close()
        gate = self.flash_sales.gate
        if gate is not None and isinstance(gate.admission, RedisTicketCounters):
            await gate.admission.close()
        await self.database.dispose()


def admission_gate(dialect: str, redis_url: str | None, redis_prefix: str) -> Admission | None:
    """Counts in this process where only one process writes (SQLite); in Redis where processes share a
    database; none without Redis (every attempt goes to the transaction)."""
    if dialect == "sqlite":
        return TicketCounters()
    return RedisTicketCounters(redis_url, redis_prefix) if redis_url else None
