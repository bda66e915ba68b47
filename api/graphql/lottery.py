"""Lotteries (抽奖): the public prize tables, drawing, staff management, and anyone's verification of a draw."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import (BadUserInput, UserError, caller, may_see_private, require_member, require_staff,
                                user_errors)
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.mall import MallItemType, RedemptionType, item_key, standing_now
from api.graphql.members import MemberType, fresh_member
from api.graphql.relay import Node, int_key, to_global_id
from domain import lottery as game
from domain.errors import DomainError, InvalidInput
from domain.tags import checked_tags

PrizeKind = strawberry.enum(game.PrizeKind, description="NOTHING is 谢谢参与.")


@strawberry.type(name="LotteryPrize")
class PrizeType(Node):
    _prize: strawberry.Private[game.Prize]
    _total_weight: strawberry.Private[int]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("LotteryPrize", self._prize.id)

    @strawberry.field
    def name(self) -> str:
        return self._prize.name

    @strawberry.field
    def kind(self) -> PrizeKind:  # type: ignore[valid-type]
        return self._prize.kind

    @strawberry.field(description="Points paid by a POINTS prize.")
    def points(self) -> int:
        return self._prize.points

    @strawberry.field
    async def item(self, info: Info) -> MallItemType | None:
        if self._prize.item_id is None:
            return None
        item = await info.context.loaders.mall_items.load(self._prize.item_id)
        return MallItemType(_item=item) if item else None

    @strawberry.field(description="The prize's share of the table's total weight.")
    def weight(self) -> int:
        return self._prize.weight

    @strawberry.field(description="weight / total weight: the published odds of drawing this prize.")
    def probability(self) -> float:
        return self._prize.weight / self._total_weight if self._total_weight else 0.0

    @strawberry.field(description="What is left; null: unlimited.")
    def stock(self) -> int | None:
        return self._prize.stock

    @strawberry.field(description="Given instead of a drawn prize that ran out of stock.")
    def fallback(self) -> bool:
        return self._prize.fallback


def prize_types(prizes: list[game.Prize]) -> list[PrizeType]:
    total = sum(p.weight for p in prizes)
    return [PrizeType(_prize=p, _total_weight=total) for p in prizes]


LotteryPayment = strawberry.enum(game.LotteryPayment, description=(
    "How a draw is paid: POINTS (the entry cost), CHANCES (a lottery chance, drawLottery(useChance: true)) or "
    "EITHER."))


@strawberry.type(name="Lottery")
class LotteryType(Node):
    _lottery: strawberry.Private[game.Lottery]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Lottery", self._lottery.id)

    @strawberry.field
    def name(self) -> str:
        return self._lottery.name

    @strawberry.field(description="Points one draw costs (0: free).")
    def entry_cost(self) -> int:
        return self._lottery.entry_cost

    @strawberry.field(description="Draws per member per day in the brand's time zone; 0: no limit.")
    def daily_limit(self) -> int:
        return self._lottery.daily_limit

    @strawberry.field
    def payment(self) -> LotteryPayment:  # type: ignore[valid-type]
        return self._lottery.payment

    @strawberry.field(description="Members from this tier level draw; others are told TIER_TOO_LOW.")
    def min_tier_level(self) -> int:
        return self._lottery.min_tier_level

    @strawberry.field(description="Staff: the tags whose members alone may draw (empty: everyone). Null for others: "
                                  "a member holding none is told NOT_TARGETED.")
    def target_tags(self, info: Info) -> list[str] | None:
        from api.graphql.tags import target_tags
        return target_tags(info, self._lottery.tags)

    @strawberry.field(description="The Nth draw without a win is made among winning prizes only; 0: no pity.")
    def pity_after(self) -> int:
        return self._lottery.pity_after

    @strawberry.field
    def starts_at(self) -> datetime | None:
        return self._lottery.starts_at

    @strawberry.field
    def ends_at(self) -> datetime | None:
        return self._lottery.ends_at

    @strawberry.field
    def enabled(self) -> bool:
        return self._lottery.enabled

    @strawberry.field
    def running(self, info: Info) -> bool:
        return self._lottery.running(info.context.services.clock.now())

    @strawberry.field(description="The prize table's version; past draws keep the version they were made under.")
    def version(self) -> int:
        return self._lottery.version

    @strawberry.field
    def prizes(self) -> list[PrizeType]:
        return prize_types(self._lottery.prizes)

    @strawberry.field(description="SHA-256 of the secret seed the next draws use, published before they happen.")
    async def seed_commitment(self, info: Info) -> str:
        return (await info.context.services.lotteries.current_seed(self._lottery.id)).commitment

    @strawberry.field(description="Member: draws you made today.")
    async def my_draws_today(self, info: Info) -> int | None:
        return (await self._progress(info))[0]

    @strawberry.field(description="Member: draws left until the pity guarantee applies (null: no pity).")
    async def my_draws_until_guaranteed(self, info: Info) -> int | None:
        misses = (await self._progress(info))[1]
        return None if misses is None or not self._lottery.pity_after else self._lottery.pity_after - misses

    async def _progress(self, info: Info) -> tuple[int | None, int | None]:
        who = caller(info)
        if who.kind != "member":
            return None, None
        return await info.context.services.lotteries.member_progress(who.member_id, self._lottery)


@strawberry.type(name="LotteryDraw", description="One draw, with everything an auditor needs to re-compute it.")
class DrawType(Node):
    _draw: strawberry.Private[game.LotteryDraw]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("LotteryDraw", self._draw.id)

    @strawberry.field
    async def lottery(self, info: Info) -> LotteryType | None:
        found = await info.context.services.lotteries.get(self._draw.lottery_id)
        return LotteryType(_lottery=found) if found else None

    @strawberry.field(description="What the member got: the drawn prize, or the fallback when it ran out.")
    async def prize(self, info: Info) -> PrizeType:
        return await self._prize(info, self._draw.prize_id)

    @strawberry.field(description="What the roll picked (null when pity found no winning prize in stock).")
    async def drawn_prize(self, info: Info) -> PrizeType | None:
        return await self._prize(info, self._draw.drawn_prize_id) if self._draw.drawn_prize_id else None

    async def _prize(self, info: Info, prize_id: int) -> PrizeType:
        found = await info.context.services.lotteries.prizes([prize_id])
        return PrizeType(_prize=found[prize_id], _total_weight=0)

    @strawberry.field(description="The redemption delivering an ITEM prize: the member who drew and staff only "
                                  "(a public verification shows the prize, never its delivery).")
    async def redemption(self, info: Info) -> RedemptionType | None:
        if self._draw.redemption_id is None or not may_see_private(info, self._draw.member_id):
            return None
        found = await info.context.services.mall.redemption(self._draw.redemption_id)
        return RedemptionType(_redemption=found) if found else None

    @strawberry.field(description="Points the draw cost (0 when a chance paid for it).")
    def entry_cost(self) -> int:
        return self._draw.entry_cost

    @strawberry.field(description="A lottery chance paid for it.")
    def paid_with_chance(self) -> bool:
        return self._draw.paid_with_chance

    @strawberry.field
    def drawn_at(self) -> datetime:
        return self._draw.drawn_at

    @strawberry.field(description="The prize table version the draw used.")
    def version(self) -> int:
        return self._draw.version

    @strawberry.field(description="Which committed seed the draw used.")
    def seed_epoch(self) -> int:
        return self._draw.epoch

    @strawberry.field(description="The lottery's draw counter at this draw.")
    def sequence(self) -> int:
        return self._draw.sequence

    @strawberry.field
    def client_seed(self) -> str:
        return self._draw.client_seed

    @strawberry.field(description="HMAC-SHA256(seed, message), first 7 bytes, as a decimal string.")
    def roll(self) -> str:
        return str(self._draw.roll)

    @strawberry.field(description="The HMAC message: lotteryId:version:seedEpoch:sequence:clientSeed.")
    def message(self) -> str:
        d = self._draw
        return game.draw_message(d.lottery_id, d.version, d.epoch, d.sequence, d.client_seed).decode()

    @strawberry.field(description="Prize ids the roll chose among, in table order (roll mod their total weight).")
    def candidates(self) -> list[strawberry.ID]:
        return [to_global_id("LotteryPrize", i) for i in self._draw.candidates]

    @strawberry.field
    def pity_applied(self) -> bool:
        return self._draw.pity_applied

    @strawberry.field
    def fell_back(self) -> bool:
        return self._draw.fell_back


@strawberry.type(description="A past draw re-computed from its record and its revealed seed.")
class DrawVerification:
    _verification: strawberry.Private[game.Verification]

    @strawberry.field
    def draw(self) -> DrawType:
        return DrawType(_draw=self._verification.draw)

    @strawberry.field
    def seed_commitment(self) -> str:
        return self._verification.seed.commitment

    @strawberry.field(description="The seed, once revealed (staff reveal it, or it is rotated after a day).")
    def server_seed(self) -> str | None:
        return self._verification.seed.seed if self._verification.revealed else None

    @strawberry.field
    def revealed_at(self) -> datetime | None:
        return self._verification.seed.revealed_at

    @strawberry.field(description="The roll re-computed from the revealed seed.")
    def recomputed_roll(self) -> str | None:
        roll = self._verification.roll
        return None if roll is None else str(roll)

    @strawberry.field
    def recomputed_prize_id(self) -> strawberry.ID | None:
        prize_id = self._verification.prize_id
        return None if prize_id is None else to_global_id("LotteryPrize", prize_id)

    @strawberry.field(description="True when roll and prize re-compute as recorded; null until the seed is revealed.")
    def valid(self) -> bool | None:
        return self._verification.valid


@strawberry.input
class PrizeInput:
    name: str
    kind: PrizeKind  # type: ignore[valid-type]
    weight: int
    points: int = 0
    item_id: strawberry.ID | None = None
    stock: int | None = None
    fallback: bool = False


@strawberry.input
class CreateLotteryInput:
    name: str
    entry_cost: int
    prizes: list[PrizeInput]
    daily_limit: int = 0
    pity_after: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    enabled: bool = True
    payment: LotteryPayment = game.LotteryPayment.POINTS  # type: ignore[valid-type]
    min_tier_level: int = 1
    target_tags: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateLotteryInput:
    lottery_id: strawberry.ID
    name: str | None = None
    entry_cost: int | None = None
    daily_limit: int | None = None
    pity_after: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    enabled: bool | None = None
    payment: LotteryPayment | None = None  # type: ignore[valid-type]
    min_tier_level: int | None = None
    target_tags: list[str] | None = None
    prizes: list[PrizeInput] | None = strawberry.field(default=None, description="A new table: a new version.")


@strawberry.type
class LotteryPayload:
    lottery: LotteryType | None
    user_errors: list[UserError]


@strawberry.input
class DrawLotteryInput:
    lottery_id: strawberry.ID
    client_seed: str | None = strawberry.field(default=None, description="Your part of the randomness; "
                                                                          "defaults to the idempotency key.")
    use_chance: bool = strawberry.field(default=False, description="Pay with your first-expiring lottery chance "
                                                                   "instead of points.")
    idempotency_key: str


@strawberry.type
class DrawLotteryPayload:
    member: MemberType | None
    entry: LedgerEntry | None = strawberry.field(description="The entry cost's entry (or the prize's, if free).")
    draw: DrawType | None
    user_errors: list[UserError]


@strawberry.input
class RevealLotterySeedInput:
    lottery_id: strawberry.ID


@strawberry.type
class RevealLotterySeedPayload:
    epoch: int | None
    server_seed: str | None
    next_seed_commitment: str | None
    user_errors: list[UserError]


def lottery_key(global_id: str) -> int:
    try:
        return int_key(global_id, "Lottery")
    except BadUserInput as error:
        raise InvalidInput(error.message, ("lotteryId",)) from None


def to_prizes(inputs: list[PrizeInput]) -> list[game.Prize]:
    if len(inputs) > game.MAX_PRIZES:
        raise InvalidInput(f"a prize table has at most {game.MAX_PRIZES} prizes", ("prizes",))
    return [game.Prize(p.name, game.PrizeKind(p.kind.value), p.weight, p.points,
                          item_key(p.item_id) if p.item_id is not None else None, p.stock, p.fallback)
            for p in inputs]


@strawberry.type
class LotteryQueries:
    @strawberry.field(description="Lotteries open now (staff see closed ones too).")
    async def lotteries(self, info: Info) -> list[LotteryType]:
        staff = caller(info).kind == "staff"
        return [LotteryType(_lottery=lot) for lot in
                await info.context.services.lotteries.lotteries(include_closed=staff)]

    @strawberry.field(description="Anyone: re-compute a past draw from its record and revealed seed.")
    async def verify_lottery_draw(self, info: Info, draw_id: strawberry.ID) -> DrawVerification | None:
        found = await info.context.services.lotteries.verify(int_key(draw_id, "LotteryDraw"))
        return DrawVerification(_verification=found) if found else None


@strawberry.type
class LotteryMutations:
    @strawberry.mutation(description="Member: pay the entry cost and draw a prize.")
    async def draw_lottery(self, info: Info, input: DrawLotteryInput) -> DrawLotteryPayload:
        member = require_member(info)
        service = info.context.services.lotteries
        try:
            outcome = await service.draw(member.actor, member.member_id, lottery_key(input.lottery_id),
                                         input.client_seed, input.idempotency_key, standing_now(info),
                                         input.use_chance)
        except DomainError as error:
            return DrawLotteryPayload(member=None, entry=None, draw=None, user_errors=user_errors(error))
        draw = await service.get_draw(outcome.subject_id) if outcome.subject_id else None
        return DrawLotteryPayload(member=fresh_member(info, member.member_id), entry=entry_type(outcome.entry),
                                  draw=DrawType(_draw=draw) if draw else None, user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Staff: a lottery with its prize table, odds, limits and pity.")
    async def create_lottery(self, info: Info, input: CreateLotteryInput) -> LotteryPayload:
        staff = require_staff(info)
        try:
            created = await info.context.services.lotteries.create(staff.actor, game.Lottery(
                input.name, input.entry_cost, input.daily_limit, input.pity_after, input.starts_at, input.ends_at,
                input.enabled, prizes=to_prizes(input.prizes), payment=game.LotteryPayment(input.payment.value),
                min_tier_level=input.min_tier_level, tags=checked_tags(tuple(input.target_tags[:11]), "targetTags")))
        except DomainError as error:
            return LotteryPayload(lottery=None, user_errors=user_errors(error))
        return LotteryPayload(lottery=LotteryType(_lottery=created), user_errors=[])

    @strawberry.mutation(description="Staff: change settings, enable/disable, or publish a new prize table.")
    async def update_lottery(self, info: Info, input: UpdateLotteryInput) -> LotteryPayload:
        staff = require_staff(info)
        changes = {name: getattr(input, name) for name in ("name", "entry_cost", "daily_limit", "pity_after",
                                                           "starts_at", "ends_at", "enabled", "min_tier_level")
                   if getattr(input, name) is not None}
        if input.payment is not None:
            changes["payment"] = game.LotteryPayment(input.payment.value)
        if input.target_tags is not None:
            changes["tags"] = tuple(input.target_tags[:11])
        try:
            prizes = to_prizes(input.prizes) if input.prizes is not None else None
            updated = await info.context.services.lotteries.update(staff.actor, lottery_key(input.lottery_id),
                                                                    changes, prizes)
        except DomainError as error:
            return LotteryPayload(lottery=None, user_errors=user_errors(error))
        return LotteryPayload(lottery=LotteryType(_lottery=updated), user_errors=[])

    @strawberry.mutation(description="Staff: reveal the current seed (its draws become verifiable) and commit "
                                     "to a new one.")
    async def reveal_lottery_seed(self, info: Info, input: RevealLotterySeedInput) -> RevealLotterySeedPayload:
        staff = require_staff(info)
        service = info.context.services.lotteries
        try:
            lottery_id = lottery_key(input.lottery_id)
            revealed = await service.reveal_seed(staff.actor, lottery_id)
        except DomainError as error:
            return RevealLotterySeedPayload(epoch=None, server_seed=None, next_seed_commitment=None,
                                            user_errors=user_errors(error))
        upcoming = await service.current_seed(lottery_id)
        return RevealLotterySeedPayload(epoch=revealed.epoch, server_seed=revealed.seed,
                                        next_seed_commitment=upcoming.commitment, user_errors=[])
