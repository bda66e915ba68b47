"""Lotteries (抽奖): an entry cost, a versioned prize table with odds, prize stock, a fallback prize,
a pity counter, daily limits, and draws anyone can re-compute.

Fairness is commit-and-reveal. Each lottery has a secret server seed whose SHA-256 (the
commitment) is public before any draw uses it. A draw's roll is
``HMAC-SHA256(seed, "lotteryId:version:epoch:sequence:clientSeed")``: the first 7 bytes as an
unsigned big-endian integer, modulo the total weight of the candidate prizes. The sequence is the
lottery's draw counter and the client seed is the member's (their idempotency key unless they
chose one), so neither side alone decides an outcome. Staff (or the daily rotation) reveal a seed
and start a new epoch; from then on anyone can re-compute every draw of that epoch with
``verifyLotteryDraw``.

A draw locks the member, then the lottery's row (the order every spend uses), so prize stock is
taken in the draw's own transaction and never goes below zero. A drawn prize that is out of stock
becomes the fallback prize, which has unlimited stock: a brand that wants "100% win" makes the
fallback a real prize and gives "thank you" (NOTHING) no weight. The pity counter counts a
member's draws since their last win (a prize that is neither NOTHING nor the fallback); the draw
that reaches ``pityAfter`` is made among the winning prizes in stock only.

A lottery takes points (its entry cost), lottery chances (domain/chances.py: ``useChance``, the
member's first-expiring chance, taken in the draw's transaction) or either, as its ``payment``
says, and may be limited to tiers from ``min_tier_level``.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain.admission import LOTTERY, Admission, KnownFacts, scope_of
from domain.brand import brand_settings
from domain.chances import spend_chance
from domain.configuration import SYSTEM, Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.idempotency import validate_key
from domain.ledger import LedgerReason
from domain.coupons import CouponSource
from domain.mall import Redemption, StandingNow, item_rules_refusal, record_redemption, standing_of
from domain.realtime import Activity, ActivityKind
from domain.text import checked_text
from domain.tags import check_tags_exist, checked_tags, targeting_refusal
from domain.tiers import tier_refusal

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork
    from domain.randomness import RandomSource

MAX_PRIZES = 20
MAX_TOTAL_WEIGHT = 1_000_000
MAX_ENTRY_COST = 1_000_000
MAX_PRIZE_POINTS = 1_000_000
SEED_BYTES = 32
SEED_LIFETIME = timedelta(hours=24)
CLIENT_SEED_MAX = 128
ROLL_BYTES = 7  # a roll fits a signed 64-bit column


class LotteryPayment(str, Enum):
    POINTS = "POINTS"  # the entry cost in points
    CHANCES = "CHANCES"  # a lottery chance a draw
    EITHER = "EITHER"  # the member chooses (useChance)

    def accepts(self, use_chance: bool) -> bool:
        return self is LotteryPayment.EITHER or (self is LotteryPayment.CHANCES) == use_chance


class PrizeKind(str, Enum):
    POINTS = "POINTS"  # credited as a LOTTERY_PRIZE entry
    ITEM = "ITEM"  # a mall item, delivered as a redemption through the mall's fulfilment
    NOTHING = "NOTHING"  # 谢谢参与


@dataclass
class Prize:
    name: str
    kind: PrizeKind
    weight: int
    points: int = 0
    item_id: int | None = None
    stock: int | None = None  # None: unlimited
    fallback: bool = False
    position: int = 0
    id: int | None = None

    @property
    def wins(self) -> bool:
        """What resets the pity counter: anything but "thank you" and the consolation fallback."""
        return self.kind is not PrizeKind.NOTHING and not self.fallback

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0

    def validate(self, index: int) -> None:
        where = ("prizes", str(index))
        self.name = checked_text(self.name, "name", max_length=40)
        if not 0 <= self.weight <= MAX_TOTAL_WEIGHT or (self.weight == 0 and not self.fallback):
            raise InvalidInput(f"weight must be 1-{MAX_TOTAL_WEIGHT} (0 only for the fallback)", (*where, "weight"))
        if self.kind is PrizeKind.POINTS and not 1 <= self.points <= MAX_PRIZE_POINTS:
            raise InvalidInput(f"a points prize pays 1-{MAX_PRIZE_POINTS} points", (*where, "points"))
        if self.kind is not PrizeKind.POINTS and self.points:
            raise InvalidInput("only a POINTS prize pays points", (*where, "points"))
        if (self.kind is PrizeKind.ITEM) != (self.item_id is not None):
            raise InvalidInput("an ITEM prize names an item, and only it does", (*where, "itemId"))
        if self.stock is not None and not 0 <= self.stock <= 10_000_000:
            raise InvalidInput("stock must be 0-10000000, or null for unlimited", (*where, "stock"))
        if self.fallback and self.stock is not None:
            raise InvalidInput("the fallback prize has unlimited stock", (*where, "stock"))


def validate_prizes(prizes: list[Prize]) -> list[Prize]:
    if not 2 <= len(prizes) <= MAX_PRIZES:
        raise InvalidInput(f"a prize table has 2-{MAX_PRIZES} prizes", ("prizes",))
    for index, prize in enumerate(prizes):
        prize.position = index
        prize.validate(index)
    if sum(p.fallback for p in prizes) != 1:
        raise InvalidInput("exactly one prize is the fallback", ("prizes",))
    if not 1 <= sum(p.weight for p in prizes) <= MAX_TOTAL_WEIGHT:
        raise InvalidInput(f"the weights add up to 1-{MAX_TOTAL_WEIGHT}", ("prizes",))
    return prizes


@dataclass
class Lottery:
    name: str
    entry_cost: int
    daily_limit: int = 0  # draws per member per local day; 0: none
    pity_after: int = 0  # the Nth draw without a win is made among winning prizes; 0: no pity
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    enabled: bool = True
    version: int = 1
    draws: int = 0  # the sequence of the last draw
    prizes: list[Prize] = field(default_factory=list)
    id: int | None = None
    payment: LotteryPayment = LotteryPayment.POINTS
    min_tier_level: int = 1
    tags: tuple[str, ...] = ()  # members holding any of these tags may draw; empty: everyone

    def validate(self) -> "Lottery":
        self.name = checked_text(self.name, "name", max_length=40)
        if not 0 <= self.entry_cost <= MAX_ENTRY_COST:
            raise InvalidInput(f"entryCost must be 0-{MAX_ENTRY_COST}", ("entryCost",))
        if not 0 <= self.daily_limit <= 1000:
            raise InvalidInput("dailyLimit must be 0 (none) to 1000", ("dailyLimit",))
        if not 0 <= self.pity_after <= 1000 or self.pity_after == 1:
            raise InvalidInput("pityAfter must be 0 (none) or 2-1000", ("pityAfter",))
        if not 1 <= self.min_tier_level <= 6:
            raise InvalidInput("minTierLevel must be 1-6", ("minTierLevel",))
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise InvalidInput("a lottery ends after it starts", ("endsAt",))
        validate_prizes(self.prizes)
        return self

    def running(self, now: datetime) -> bool:
        return (self.enabled and (self.starts_at is None or self.starts_at <= now)
                and (self.ends_at is None or now < self.ends_at))

    @property
    def fallback(self) -> Prize:
        return next(p for p in self.prizes if p.fallback)


@dataclass
class LotterySeed:
    lottery_id: int
    epoch: int
    seed: str  # hex; secret until revealed
    created_at: datetime
    revealed_at: datetime | None = None

    @property
    def commitment(self) -> str:
        return seed_commitment(self.seed)


@dataclass
class LotteryDraw:
    lottery_id: int
    member_id: int
    version: int
    epoch: int
    sequence: int
    client_seed: str
    roll: int
    candidates: list[int]  # prize ids the roll chose among, in table order
    drawn_prize_id: int | None  # what the roll picked (None when pity found no winning prize in stock)
    prize_id: int  # what the member got: the drawn prize, or the fallback
    pity_applied: bool
    misses_after: int  # draws since the last win, this one included
    entry_cost: int
    drawn_at: datetime
    redemption_id: int | None = None
    id: int | None = None
    paid_with_chance: bool = False

    @property
    def fell_back(self) -> bool:
        return self.prize_id != self.drawn_prize_id


def seed_commitment(seed_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def draw_message(lottery_id: int, version: int, epoch: int, sequence: int, client_seed: str) -> bytes:
    return f"{lottery_id}:{version}:{epoch}:{sequence}:{client_seed}".encode()


def roll_for(seed_hex: str, message: bytes) -> int:
    digest = hmac.new(bytes.fromhex(seed_hex), message, hashlib.sha256).digest()
    return int.from_bytes(digest[:ROLL_BYTES], "big")


def pick(candidates: list[Prize], roll: int) -> Prize:
    """The prize whose slice of the total weight holds ``roll mod total`` (a 2^56 roll: bias < 2e-11)."""
    point = roll % sum(p.weight for p in candidates)
    for prize in candidates:
        if point < prize.weight:
            return prize
        point -= prize.weight
    raise AssertionError("weights changed under the pick")


def candidates_for(prizes: list[Prize], *, pity: bool) -> list[Prize]:
    if pity:
        return [p for p in prizes if p.wins and p.weight and p.in_stock]
    return [p for p in prizes if p.weight]


@dataclass(frozen=True)
class Verification:
    draw: LotteryDraw
    seed: LotterySeed
    roll: int | None  # None until the seed is revealed
    prize_id: int | None

    @property
    def revealed(self) -> bool:
        return self.seed.revealed_at is not None

    @property
    def valid(self) -> bool | None:
        if not self.revealed:
            return None
        return self.roll == self.draw.roll and self.prize_id == self.draw.drawn_prize_id


def verify(draw: LotteryDraw, seed: LotterySeed, table: list[Prize]) -> Verification:
    """Re-compute a draw from its record, its revealed seed and the prize table of its version."""
    if seed.revealed_at is None:
        return Verification(draw, seed, None, None)
    roll = roll_for(seed.seed, draw_message(draw.lottery_id, draw.version, draw.epoch, draw.sequence,
                                            draw.client_seed))
    by_id = {p.id: p for p in table}
    allowed = candidates_for(table, pity=False)
    chosen = [by_id[i] for i in draw.candidates if i in by_id]
    # The candidates depend on stock at draw time (pity only), so they are recorded; an auditor
    # checks they are a legal set: the whole weighted table, or winning prizes only under pity.
    legal = (chosen == allowed) or (draw.pity_applied and all(p.wins for p in chosen)
                                    and len(chosen) == len(draw.candidates))
    if not legal or not chosen:
        return Verification(draw, seed, roll, None)
    return Verification(draw, seed, roll, pick(chosen, roll).id)


class LotteryService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock",
                 randomness: "RandomSource", admission: Admission | None = None) -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock
        self.randomness = randomness
        # None: every draw goes to the transaction (no gate for this database)
        self.facts = KnownFacts(admission, LOTTERY, self.get) if admission is not None else None

    async def create(self, staff: Actor, lottery: Lottery) -> Lottery:
        lottery.validate()

        async def work(uow: "UnitOfWork") -> Lottery:
            await self._check_items(uow, lottery.prizes)
            await check_tags_exist(uow, checked_tags(lottery.tags, "targetTags"), "targetTags")
            await uow.lotteries.add(lottery)
            await uow.lotteries.add_prizes(lottery.id, lottery.version, lottery.prizes)
            await uow.lotteries.add_seed(self._new_seed(lottery.id, 1))
            await uow.audit.record(staff.label, "lottery.create", str(lottery.id), lottery_record(lottery),
                                   self.clock.now())
            return lottery

        return await self.transactions.write(work)

    async def update(self, staff: Actor, lottery_id: int, changes: dict, prizes: list[Prize] | None) -> Lottery:
        """Change the settings; new prizes publish a new version (past draws keep theirs)."""
        async def work(uow: "UnitOfWork") -> Lottery:
            lottery = await self._locked(uow, lottery_id)
            for name, value in changes.items():
                setattr(lottery, name, value)
            if prizes is not None:
                lottery.prizes, lottery.version = prizes, lottery.version + 1
            lottery.validate()
            await check_tags_exist(uow, checked_tags(lottery.tags, "targetTags"), "targetTags")
            if prizes is not None:
                await self._check_items(uow, prizes)
                await uow.lotteries.add_prizes(lottery.id, lottery.version, prizes)
            await uow.lotteries.update(lottery)
            await uow.audit.record(staff.label, "lottery.update", str(lottery_id), lottery_record(lottery),
                                   self.clock.now())
            uow.restocked.append(scope_of(LOTTERY, lottery_id))  # window, cost or limit may have changed
            return lottery

        return await self.transactions.write(work)

    async def reveal_seed(self, actor: Actor, lottery_id: int) -> LotterySeed:
        """Reveal the current seed and commit to a fresh one; returns the revealed seed."""
        async def work(uow: "UnitOfWork") -> LotterySeed:
            await self._locked(uow, lottery_id)
            return await self._rotate(uow, actor, lottery_id)

        return await self.transactions.write(work)

    async def rotate_due_seeds(self) -> int:
        """Reveal seeds older than a day, so every draw becomes verifiable within a day or so."""
        now = self.clock.now()
        due = await self.transactions.read(lambda uow: uow.lotteries.seeds_created_before(now - SEED_LIFETIME))
        for lottery_id in due:
            async def work(uow: "UnitOfWork", lottery_id: int = lottery_id) -> None:
                await self._locked(uow, lottery_id)
                seed = await uow.lotteries.current_seed(lottery_id)
                if seed.created_at <= now - SEED_LIFETIME:  # another process may have rotated it already
                    await self._rotate(uow, SYSTEM, lottery_id)

            await self.transactions.write(work)
        return len(due)

    async def _rotate(self, uow: "UnitOfWork", actor: Actor, lottery_id: int) -> LotterySeed:
        now = self.clock.now()
        seed = await uow.lotteries.current_seed(lottery_id)
        seed.revealed_at = now
        await uow.lotteries.reveal_seed(seed)
        await uow.lotteries.add_seed(self._new_seed(lottery_id, seed.epoch + 1))
        await uow.audit.record(actor.label, "lottery.reveal_seed", str(lottery_id), {"epoch": seed.epoch}, now)
        return seed

    def _new_seed(self, lottery_id: int, epoch: int) -> LotterySeed:
        return LotterySeed(lottery_id, epoch, self.randomness.token(SEED_BYTES).hex(), self.clock.now())

    @staticmethod
    async def _locked(uow: "UnitOfWork", lottery_id: int) -> Lottery:
        lottery = await uow.lotteries.lock(lottery_id)
        if lottery is None:
            raise NotFound("no such lottery", ("lotteryId",))
        return lottery

    @staticmethod
    async def _check_items(uow: "UnitOfWork", prizes: list[Prize]) -> None:
        for index, prize in enumerate(prizes):
            if prize.item_id is not None and await uow.mall.get(prize.item_id) is None:
                raise NotFound("no such item", ("prizes", str(index), "itemId"))

    async def draw(self, member: Actor, member_id: int, lottery_id: int, client_seed: str | None,
                   key: str, standing: StandingNow | None = None, use_chance: bool = False) -> "PointsOutcome":
        """``standing``: the member's points as this request reads them, to refuse a draw they cannot pay
        for without a write; ``use_chance``: pay with a lottery chance instead of points."""
        client_seed = key if client_seed is None else client_seed
        if not 1 <= len(client_seed) <= CLIENT_SEED_MAX or not client_seed.isprintable():
            raise InvalidInput(f"clientSeed is 1-{CLIENT_SEED_MAX} printable characters", ("clientSeed",))
        validate_key(key)
        known = await self.facts.get(lottery_id) if self.facts is not None else None
        facts, epoch = known if known is not None else (None, None)
        if facts is not None:
            refusal = await self._known_refusal(facts, epoch, member_id, standing, use_chance)
            if refusal is not None:
                answer = await self.operations.refused_without_a_write(member, member_id, key, refusal)
                if answer is not None:
                    return answer

        day_ends: list[datetime] = []

        async def rule(ctx: "OperationContext") -> LotteryDraw:
            lottery = await ctx.uow.lotteries.lock(lottery_id)  # after the member's lock, like every spend
            if lottery is None:
                raise NotFound("no such lottery", ("lotteryId",))
            refusal = await self._refusal(ctx, lottery, use_chance)
            if refusal is not None:
                day_ends.append(ctx.brand.start_of_local_day(ctx.brand.local_date(ctx.now) + timedelta(days=1)))
                raise refusal
            return await self._make_draw(ctx, member, lottery, client_seed, use_chance)

        outcome = await self.operations.run(actor=member, key=key, operation="drawLottery", member_id=member_id,
                                             payload={"lottery": lottery_id, "clientSeed": client_seed,
                                                      **({"useChance": True} if use_chance else {})}, rule=rule)
        refused = outcome.error
        if epoch is not None and day_ends and not outcome.replayed and isinstance(refused, Refusal) \
                and refused.code is ErrorCode.DAILY_LIMIT_REACHED:
            # Committed, so the draws it counted are too: they only add up within a day, so it stays
            # refused until the day ends, or until staff change the limit (a new epoch).
            self.facts.remember_refusal(lottery_id, outcome.member_id, refused, epoch, day_ends[-1])
        return outcome

    async def _known_refusal(self, lottery: Lottery, epoch: str, member_id: int,
                             standing: StandingNow | None, use_chance: bool) -> Refusal | None:
        """The transaction's refusals, in its order, from what this process knows: the window, a daily
        limit this member reached under the same epoch, and their points when the lottery has no limit
        (with one, an unknown count of today's draws comes first)."""
        now = self.clock.now()
        if not lottery.running(now):
            return closed(lottery)
        if not lottery.payment.accepts(use_chance):
            return payment_refused(lottery)
        refusal = self.facts.refusal_for(lottery.id, member_id, epoch, now)
        if refusal is not None or lottery.daily_limit or use_chance:
            return refusal
        available = (await standing_of(standing)).available
        return too_poor(lottery) if available is not None and lottery.entry_cost > available else None

    @staticmethod
    async def _refusal(ctx: "OperationContext", lottery: Lottery, use_chance: bool) -> Refusal | None:
        if not lottery.running(ctx.now):
            return closed(lottery)
        if not lottery.payment.accepts(use_chance):
            return payment_refused(lottery)
        if refusal := tier_refusal(ctx.member.tier_level, lottery.min_tier_level, lottery.name, ("lotteryId",)) \
                or await targeting_refusal(ctx.uow, ctx.member.id, lottery.tags, lottery.name, ("lotteryId",)):
            return refusal
        if lottery.daily_limit:
            since = ctx.brand.start_of_day_of(ctx.now)
            if await ctx.uow.lotteries.draws_since(ctx.member.id, lottery.id, since) >= lottery.daily_limit:
                return Refusal(ErrorCode.DAILY_LIMIT_REACHED, f"{lottery.daily_limit} draws a day", ("lotteryId",))
        if not use_chance and lottery.entry_cost > ctx.member.account.available:
            return too_poor(lottery)
        return None

    async def _make_draw(self, ctx: "OperationContext", member: Actor, lottery: Lottery,
                         client_seed: str, use_chance: bool) -> LotteryDraw:
        uow, now = ctx.uow, ctx.now
        chance = await spend_chance(uow, ctx.member.id, now) if use_chance else None  # refused before any change
        seed = await uow.lotteries.current_seed(lottery.id)
        last = await uow.lotteries.last_draw(ctx.member.id, lottery.id)
        misses = last.misses_after if last else 0
        pity = bool(lottery.pity_after) and misses + 1 >= lottery.pity_after
        lottery.draws += 1
        candidates = candidates_for(lottery.prizes, pity=pity)
        roll = roll_for(seed.seed, draw_message(lottery.id, lottery.version, seed.epoch, lottery.draws, client_seed))
        drawn = pick(candidates, roll) if candidates else None
        # A prize out of stock, or an item the member may not have (its tier gate, its per-member limit),
        # gives the fallback: the odds stay the same for everyone, and the draw records what was drawn.
        prize = drawn if drawn is not None and drawn.in_stock and await self._may_have(ctx, drawn) \
            else lottery.fallback
        cost = 0 if chance else lottery.entry_cost
        if cost:
            ctx.member.account.debit(cost, LedgerReason.LOTTERY_ENTRY, now, member.label,
                                     f"抽奖 {lottery.name}", f"lottery:{lottery.id}")
        draw = LotteryDraw(lottery.id, ctx.member.id, lottery.version, seed.epoch, lottery.draws, client_seed, roll,
                           [p.id for p in candidates], drawn.id if drawn else None, prize.id, pity,
                           0 if prize.wins else misses + 1, cost, now, paid_with_chance=chance is not None)
        draw.redemption_id = await self._award(ctx, member, lottery, prize)
        if prize.wins:
            uow.activity.append(Activity.of(ActivityKind.LOTTERY_WIN, ctx.member.nickname, f"抽中了 {prize.name}", now))
        await uow.lotteries.update(lottery)
        await uow.lotteries.add_draw(draw)
        if chance is not None:
            await uow.chances.attach_draw(chance.id, draw.id)
        return draw

    @staticmethod
    async def _may_have(ctx: "OperationContext", prize: Prize) -> bool:
        if prize.kind is not PrizeKind.ITEM:
            return True
        return await item_rules_refusal(ctx, await ctx.uow.mall.get(prize.item_id), 1) is None

    @staticmethod
    async def _award(ctx: "OperationContext", member: Actor, lottery: Lottery, prize: Prize) -> int | None:
        if prize.stock is not None:
            prize.stock -= 1
            await ctx.uow.lotteries.update_prize_stock(prize)
        if prize.kind is PrizeKind.POINTS:
            ctx.member.account.credit(prize.points, LedgerReason.LOTTERY_PRIZE, ctx.now,
                                      ctx.brand.expiry_for(ctx.now), member.label,
                                      f"抽中 {prize.name}", f"lottery:{lottery.id}")
        if prize.kind is not PrizeKind.ITEM:
            return None
        item = await ctx.uow.mall.get(prize.item_id)
        redemption = Redemption(ctx.member.id, item.id, prize.name, 1, 0, ctx.now, note=f"抽奖 {lottery.name}")
        await record_redemption(ctx.uow, redemption, item, ctx.now, CouponSource.LOTTERY)
        return redemption.id

    async def lotteries(self, *, include_closed: bool) -> list[Lottery]:
        now = self.clock.now()
        found = await self.transactions.read(lambda uow: uow.lotteries.all())
        return [lot for lot in found if include_closed or lot.running(now)]

    async def get(self, lottery_id: int) -> Lottery | None:
        return await self.transactions.read(lambda uow: uow.lotteries.get(lottery_id))

    async def current_seed(self, lottery_id: int) -> LotterySeed:
        return await self.transactions.read(lambda uow: uow.lotteries.current_seed(lottery_id))

    async def get_draw(self, draw_id: int) -> LotteryDraw | None:
        return await self.transactions.read(lambda uow: uow.lotteries.draw(draw_id))

    async def draws_of(self, member_id: int, before_id: int | None, limit: int) -> list[LotteryDraw]:
        return await self.transactions.read(lambda uow: uow.lotteries.draws_page(member_id, before_id, limit))

    async def prizes(self, prize_ids: list[int]) -> dict[int, Prize]:
        return await self.transactions.read(lambda uow: uow.lotteries.prizes_by_id(prize_ids))

    async def member_progress(self, member_id: int, lottery: Lottery) -> tuple[int, int]:
        """Draws the member made today, and draws since their last win."""
        async def work(uow: "UnitOfWork") -> tuple[int, int]:
            brand = await brand_settings(uow)
            since = brand.start_of_day_of(self.clock.now())
            last = await uow.lotteries.last_draw(member_id, lottery.id)
            return await uow.lotteries.draws_since(member_id, lottery.id, since), last.misses_after if last else 0

        return await self.transactions.read(work)

    async def verify(self, draw_id: int) -> Verification | None:
        async def work(uow: "UnitOfWork") -> Verification | None:
            draw = await uow.lotteries.draw(draw_id)
            if draw is None:
                return None
            seed = await uow.lotteries.seed(draw.lottery_id, draw.epoch)
            return verify(draw, seed, await uow.lotteries.prizes_of(draw.lottery_id, draw.version))

        return await self.transactions.read(work)


def closed(lottery: Lottery) -> Refusal:
    return Refusal(ErrorCode.LOTTERY_CLOSED, f"{lottery.name} is not open now", ("lotteryId",))


def payment_refused(lottery: Lottery) -> Refusal:
    how = "with lottery chances" if lottery.payment is LotteryPayment.CHANCES else "with points"
    return Refusal(ErrorCode.PAYMENT_NOT_ACCEPTED, f"{lottery.name} is drawn {how} only", ("useChance",))


def too_poor(lottery: Lottery) -> Refusal:
    return Refusal(ErrorCode.INSUFFICIENT_POINTS, f"a draw costs {lottery.entry_cost} points", ("lotteryId",))


def lottery_record(lottery: Lottery) -> dict:
    return {"name": lottery.name, "entryCost": lottery.entry_cost, "dailyLimit": lottery.daily_limit,
            "pityAfter": lottery.pity_after, "enabled": lottery.enabled, "version": lottery.version,
            "payment": lottery.payment.value, "minTierLevel": lottery.min_tier_level, "tags": list(lottery.tags),
            "prizes": [{"name": p.name, "kind": p.kind.value, "weight": p.weight, "points": p.points,
                        "itemId": p.item_id, "stock": p.stock, "fallback": p.fallback} for p in lottery.prizes]}
