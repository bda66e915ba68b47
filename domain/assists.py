"""Friend assists (助力): a member starts a campaign and friends help it; thresholds pay the owner.

Rules, decided here:
- One running campaign per member at a time; it runs ``duration_hours`` (demo 48) and then ends.
- A friend helps a campaign once, never their own; helping an ended campaign is ``ASSIST_ENDED``.
- Reaching a threshold (demo: 5 helpers 50 points, 10 helpers 120 points) pays the owner an
  ``ASSIST`` entry, once per threshold. Helpers beyond the last threshold are still counted.
- Farming controls (brand rules): one help per device or phone per campaign, the owner's own
  device included (``DEVICE_ALREADY_COUNTED``), a cap on the helpers one campaign takes
  (``ASSIST_FULL``), and a cap on how many campaigns one member may help per local day
  (``DAILY_LIMIT_REACHED``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain import configuration
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import LedgerReason
from domain.members import NO_SIGNALS, MemberSignals
from domain.notifications import assist_completed, notify
from domain.text import checked_text

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.members import Member
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

ASSISTS_KEY = "assists"


@dataclass(frozen=True)
class AssistRule:
    thresholds: tuple[tuple[int, int], ...] = ((5, 50), (10, 120))  # (helpers, points)
    duration_hours: int = 48
    one_help_per_device: bool = True
    helper_daily_cap: int = 5  # campaigns one member may help per local day; 0: no cap
    max_helpers: int = 20  # helpers one campaign takes; 0: no cap

    def __post_init__(self) -> None:
        counts = [n for n, _ in self.thresholds]
        if not counts or counts != sorted(set(counts)) or counts[0] < 1 or len(counts) > 10:
            raise InvalidInput("thresholds need rising helper counts from 1, at most 10", ("thresholds",))
        if any(not 1 <= points <= 100_000 for _, points in self.thresholds):
            raise InvalidInput("threshold points must be 1-100000", ("thresholds",))
        if not 1 <= self.duration_hours <= 24 * 30:
            raise InvalidInput("a campaign runs 1-720 hours", ("durationHours",))
        if not 0 <= self.helper_daily_cap <= 100:
            raise InvalidInput("helperDailyCap must be 0-100", ("helperDailyCap",))
        if self.max_helpers and not self.target <= self.max_helpers <= 10_000:
            raise InvalidInput("maxHelpers is 0 (no cap) or from the last threshold's helpers to 10000",
                               ("maxHelpers",))

    @property
    def target(self) -> int:
        return self.thresholds[-1][0]

    def to_record(self) -> dict:
        return {"thresholds": [list(t) for t in self.thresholds], "durationHours": self.duration_hours,
                "oneHelpPerDevice": self.one_help_per_device, "helperDailyCap": self.helper_daily_cap,
                "maxHelpers": self.max_helpers}

    @classmethod
    def from_record(cls, r: dict) -> "AssistRule":
        # A rule kept before the farming controls keeps working as it did: no device rule, no cap.
        return cls(tuple(tuple(t) for t in r["thresholds"]), r["durationHours"], r.get("oneHelpPerDevice", False),
                   r.get("helperDailyCap", 0), r.get("maxHelpers", 0))


async def assist_rule(uow: "UnitOfWork") -> AssistRule:
    return await configuration.load(uow, ASSISTS_KEY, AssistRule.from_record, AssistRule())


@dataclass
class AssistCampaign:
    owner_id: int
    title: str
    started_at: datetime
    ends_at: datetime
    helpers: int = 0
    points_paid: int = 0
    id: int | None = None
    # The rule's thresholds when the campaign started: a later rule change never pays a step twice.
    thresholds: tuple[tuple[int, int], ...] = ()

    def owed(self) -> int:
        """What the thresholds reached so far are worth, less what was paid already."""
        return sum(points for count, points in self.thresholds if count <= self.helpers) - self.points_paid

    def running(self, now: datetime) -> bool:
        return self.started_at <= now < self.ends_at


class AssistService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def start(self, owner_id: int, title: str | None) -> AssistCampaign:
        title = checked_text(title, "title", max_length=40, required=False) or "帮我助力，一起领积分"

        async def work(uow: "UnitOfWork") -> AssistCampaign:
            await uow.members.lock(owner_id)  # one start at a time per member
            now = self.clock.now()
            latest = await uow.assists.latest_of(owner_id)
            if latest is not None and latest.running(now):
                raise Refusal(ErrorCode.ASSIST_RUNNING, "your assist campaign is still running")
            rule = await assist_rule(uow)
            campaign = AssistCampaign(owner_id, title, now, now + timedelta(hours=rule.duration_hours),
                                      thresholds=rule.thresholds)
            await uow.assists.add(campaign)
            return campaign

        return await self.transactions.write(work)

    async def assist(self, helper: Actor, helper_id: int, campaign_id: int, key: str,
                     signals: MemberSignals = NO_SIGNALS) -> "PointsOutcome":
        """``signals``: what the brand's server said about the helper's device and phone (token claims)."""
        campaign = await self.get(campaign_id)
        if campaign is None:
            raise NotFound("no such assist campaign", ("campaignId",))
        if campaign.owner_id == helper_id:
            raise Refusal(ErrorCode.SELF_ASSIST, "you cannot help your own campaign", ("campaignId",))

        async def rule(ctx: "OperationContext") -> None:
            locked = await ctx.uow.assists.get(campaign_id)  # re-read under the owner's lock
            if not locked.running(ctx.now):
                raise Refusal(ErrorCode.ASSIST_ENDED, "this assist campaign has ended", ("campaignId",))
            if await ctx.uow.assists.has_helped(campaign_id, helper_id):
                raise Refusal(ErrorCode.ALREADY_ASSISTED, "you already helped this campaign", ("campaignId",))
            await self._check_helper(ctx, locked, ctx.others[helper_id], signals)
            locked.thresholds = locked.thresholds or (await assist_rule(ctx.uow)).thresholds  # started before 0010
            locked.helpers += 1
            reward = locked.owed()
            if reward > 0:
                ctx.member.account.credit(reward, LedgerReason.ASSIST, ctx.now, ctx.brand.expiry_for(ctx.now),
                                          helper.label, f"好友助力达成 {locked.helpers} 人", f"assist:{campaign_id}")
                locked.points_paid += reward
            await ctx.uow.assists.add_helper(campaign_id, helper_id, ctx.now)
            await ctx.uow.assists.update(locked)
            if locked.helpers == locked.thresholds[-1][0]:
                await notify(ctx.uow, [assist_completed(locked.owner_id, campaign_id, locked.title, locked.helpers)],
                             ctx.now)

        return await self.operations.run(actor=helper, key=key, operation="assist", member_id=campaign.owner_id,
                                         payload={"campaign": campaign_id}, rule=rule, also_lock=(helper_id,))

    @staticmethod
    async def _check_helper(ctx: "OperationContext", campaign: AssistCampaign, helper: "Member",
                            signals: MemberSignals) -> None:
        """The farming controls, with the helper's row locked too (their signals are kept with it)."""
        helper.note_signals(signals)
        rule = await assist_rule(ctx.uow)
        if rule.max_helpers and campaign.helpers >= rule.max_helpers:
            raise Refusal(ErrorCode.ASSIST_FULL, f"this campaign has its {rule.max_helpers} helpers", ("campaignId",))
        if rule.one_help_per_device and (helper.shares_a_device_with(ctx.member) or await ctx.uow.assists.device_helped(
                campaign.id, helper.device_id, helper.phone_hash)):
            raise Refusal(ErrorCode.DEVICE_ALREADY_COUNTED, "a help from this device or phone already counts here",
                          ("campaignId",))
        if rule.helper_daily_cap:
            since = ctx.brand.start_of_day_of(ctx.now)
            if await ctx.uow.assists.helps_since(helper.id, since) >= rule.helper_daily_cap:
                raise Refusal(ErrorCode.DAILY_LIMIT_REACHED, f"you can help {rule.helper_daily_cap} campaigns a day",
                              ("campaignId",))

    async def get(self, campaign_id: int) -> AssistCampaign | None:
        return await self.transactions.read(lambda uow: uow.assists.get(campaign_id))

    async def rule(self) -> AssistRule:
        return await self.transactions.read(assist_rule)

    async def of_member(self, owner_id: int) -> list[AssistCampaign]:
        return await self.transactions.read(lambda uow: uow.assists.of_owner(owner_id, 20))

    async def update_rule(self, staff: Actor, rule: AssistRule) -> AssistRule:
        async def work(uow: "UnitOfWork") -> AssistRule:
            await configuration.store(uow, ASSISTS_KEY, rule.to_record(), staff, self.clock.now())
            return rule

        return await self.transactions.write(work)
