"""The unit of work and the transactions runner: what every domain service is given."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TYPE_CHECKING, TypeVar

from domain.ports.coupons import CouponRepository
from domain.ports.feed import FeedRepository
from domain.ports.exports import ExportRepository
from domain.ports.imports import ImportRepository
from domain.ports.analytics import AnalyticsRepository, DayFigureRepository, DaySummaryRepository
from domain.ports.assists import AssistRepository
from domain.ports.badges import BadgeRepository
from domain.ports.birthdays import BirthdayRepository
from domain.ports.campaigns import CampaignRepository
from domain.ports.checkin import CheckInRepository
from domain.ports.checkout import CheckoutRepository
from domain.ports.deductions import DeductionRepository
from domain.ports.events import EventRepository
from domain.ports.flash_sales import FlashSaleRepository
from domain.ports.group_redemptions import GroupRedemptionRepository
from domain.ports.gifts import GiftRepository
from domain.ports.perks import PerkRepository
from domain.ports.chances import ChanceRepository
from domain.ports.conversions import ConversionRepository
from domain.ports.tags import TagRepository
from domain.ports.idempotency import IdempotencyRepository
from domain.ports.invitations import InvitationRepository
from domain.ports.leaderboards import LeaderboardRepository
from domain.ports.ledger import LedgerRepository
from domain.ports.lottery import LotteryRepository
from domain.ports.mall import MallRepository
from domain.ports.members import MemberRepository
from domain.ports.notifications import NotificationRepository
from domain.ports.orders import OrderRepository
from domain.ports.partners import PartnerRepository
from domain.ports.segments import SegmentRepository
from domain.ports.settings import AuditLog, SettingsRepository
from domain.ports.submissions import SubmissionRepository
from domain.ports.tasks import TaskRepository
from domain.ports.webhooks import WebhookRepository

if TYPE_CHECKING:
    from domain.leaderboards import ScoreChange
    from domain.realtime import Activity, BadgeAwarded

T = TypeVar("T")


class UnitOfWork(Protocol):
    members: MemberRepository
    ledger: LedgerRepository
    check_ins: CheckInRepository
    orders: OrderRepository
    campaigns: CampaignRepository
    tasks: TaskRepository
    invitations: InvitationRepository
    submissions: SubmissionRepository
    notifications: NotificationRepository
    events: EventRepository
    assists: AssistRepository
    birthdays: BirthdayRepository
    mall: MallRepository
    checkout: CheckoutRepository
    deductions: DeductionRepository
    flash_sales: FlashSaleRepository
    lotteries: LotteryRepository
    groups: GroupRedemptionRepository
    leaderboards: LeaderboardRepository
    badges: BadgeRepository
    partners: PartnerRepository
    segments: SegmentRepository
    analytics: AnalyticsRepository
    summaries: DaySummaryRepository
    figures: DayFigureRepository
    coupons: CouponRepository
    gifts: GiftRepository
    perks: PerkRepository
    chances: ChanceRepository
    conversions: ConversionRepository
    tags: TagRepository
    feed: FeedRepository
    imports: ImportRepository
    exports: ExportRepository
    webhooks: WebhookRepository
    activity: list["Activity"]  # public pulse lines, announced only if the transaction commits
    scores: list["ScoreChange"]  # leaderboard changes for the sorted sets, sent after the commit
    badge_awards: list["BadgeAwarded"]  # toasts for new badges, sent after the commit
    restocked: list[str]  # admission scopes whose stock rose or whose facts changed: forgotten after the commit
    idempotency: IdempotencyRepository
    settings: SettingsRepository
    audit: AuditLog

class Transactions(Protocol):
    async def write(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run ``work`` in one write transaction; commit on return, roll back on error.

        Transient conflicts (deadlock, serialization failure, a unique race) rerun ``work``
        from the start, a bounded number of times, so ``work`` must not keep state between runs.
        """

    async def read(self, work: Callable[[UnitOfWork], Awaitable[T]], *, heavy: bool = False) -> T:
        """Run ``work`` over committed data. ``heavy``: it may scan much, or needs one snapshot across
        several statements (a reconciliation): it gets a transaction of its own off the request path."""
