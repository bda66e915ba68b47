"""Lotteries, their versioned prize tables, seeds and draws. The lottery row is each draw's lock."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, update

from domain.lottery import Lottery, LotteryDraw, LotteryPayment, LotterySeed, Prize, PrizeKind
from persistence.tables import lotteries, lottery_draws, lottery_prizes, lottery_seeds

LOTTERY_FIELDS = ("name", "entry_cost", "daily_limit", "pity_after", "starts_at", "ends_at", "enabled", "version",
                  "draws", "min_tier_level")
DRAW_FIELDS = ("lottery_id", "member_id", "version", "epoch", "sequence", "client_seed", "roll", "drawn_prize_id",
               "prize_id", "pity_applied", "misses_after", "entry_cost", "drawn_at", "redemption_id",
               "paid_with_chance")


def prize_from_row(row) -> Prize:
    return Prize(row.name, PrizeKind(row.kind), row.weight, row.points, row.item_id, row.stock, row.fallback,
                 row.position, row.id)


def draw_from_row(row) -> LotteryDraw:
    values = {name: getattr(row, name) for name in DRAW_FIELDS}
    return LotteryDraw(**values, candidates=[int(i) for i in row.candidates.split(",") if i], id=row.id)


def lottery_from_row(row) -> Lottery:
    """Without its prizes, which are read by version."""
    return Lottery(**{name: getattr(row, name) for name in LOTTERY_FIELDS}, id=row.id,
                   payment=LotteryPayment(row.payment), tags=tuple(row.tags.split(",")) if row.tags else ())


def lottery_values(lottery: Lottery) -> dict:
    return {**{name: getattr(lottery, name) for name in LOTTERY_FIELDS}, "payment": lottery.payment.value,
            "tags": ",".join(lottery.tags)}


def seed_from_row(row) -> LotterySeed:
    return LotterySeed(row.lottery_id, row.epoch, row.seed, row.created_at, row.revealed_at)


class SqlLotteryRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def add(self, lottery: Lottery) -> None:
        result = await self.connection.execute(insert(lotteries).values(
            **lottery_values(lottery)).returning(lotteries.c.id))
        lottery.id = result.scalar_one()

    async def add_prizes(self, lottery_id: int, version: int, prizes: list[Prize]) -> None:
        for prize in prizes:
            result = await self.connection.execute(insert(lottery_prizes).values(
                lottery_id=lottery_id, version=version, position=prize.position, name=prize.name,
                kind=prize.kind.value, weight=prize.weight, points=prize.points, item_id=prize.item_id,
                stock=prize.stock, fallback=prize.fallback).returning(lottery_prizes.c.id))
            prize.id = result.scalar_one()

    async def _with_prizes(self, row) -> Lottery | None:
        if row is None:
            return None
        lottery = lottery_from_row(row)
        lottery.prizes = await self.prizes_of(row.id, row.version)
        return lottery

    async def get(self, lottery_id: int) -> Lottery | None:
        return await self._with_prizes(
            (await self.connection.execute(select(lotteries).where(lotteries.c.id == lottery_id))).first())

    async def lock(self, lottery_id: int) -> Lottery | None:
        return await self._with_prizes((await self.connection.execute(
            select(lotteries).where(lotteries.c.id == lottery_id).with_for_update())).first())

    async def all(self) -> list[Lottery]:
        rows = (await self.connection.execute(select(lotteries).order_by(lotteries.c.id))).all()
        found = [lottery_from_row(row) for row in rows]
        if not found:
            return []
        prize_rows = await self.connection.execute(select(lottery_prizes).where(
            lottery_prizes.c.lottery_id.in_([lot.id for lot in found])).order_by(lottery_prizes.c.position))
        by_key: dict[tuple[int, int], list[Prize]] = {}
        for row in prize_rows:
            by_key.setdefault((row.lottery_id, row.version), []).append(prize_from_row(row))
        for lottery in found:
            lottery.prizes = by_key.get((lottery.id, lottery.version), [])
        return found

    async def update(self, lottery: Lottery) -> None:
        await self.connection.execute(update(lotteries).where(lotteries.c.id == lottery.id).values(
            **lottery_values(lottery)))

    async def update_prize_stock(self, prize: Prize) -> None:
        await self.connection.execute(
            update(lottery_prizes).where(lottery_prizes.c.id == prize.id).values(stock=prize.stock))

    async def prizes_of(self, lottery_id: int, version: int) -> list[Prize]:
        rows = await self.connection.execute(select(lottery_prizes).where(
            lottery_prizes.c.lottery_id == lottery_id, lottery_prizes.c.version == version)
            .order_by(lottery_prizes.c.position))
        return [prize_from_row(row) for row in rows]

    async def prizes_by_id(self, prize_ids: Sequence[int]) -> dict[int, Prize]:
        rows = await self.connection.execute(select(lottery_prizes).where(lottery_prizes.c.id.in_(list(prize_ids))))
        return {row.id: prize_from_row(row) for row in rows}

    async def add_seed(self, seed: LotterySeed) -> None:
        await self.connection.execute(insert(lottery_seeds).values(
            lottery_id=seed.lottery_id, epoch=seed.epoch, seed=seed.seed, created_at=seed.created_at))

    async def current_seed(self, lottery_id: int) -> LotterySeed:
        row = (await self.connection.execute(select(lottery_seeds).where(
            lottery_seeds.c.lottery_id == lottery_id).order_by(lottery_seeds.c.epoch.desc()).limit(1))).one()
        return seed_from_row(row)

    async def seed(self, lottery_id: int, epoch: int) -> LotterySeed:
        row = (await self.connection.execute(select(lottery_seeds).where(
            lottery_seeds.c.lottery_id == lottery_id, lottery_seeds.c.epoch == epoch))).one()
        return seed_from_row(row)

    async def reveal_seed(self, seed: LotterySeed) -> None:
        await self.connection.execute(update(lottery_seeds).where(
            lottery_seeds.c.lottery_id == seed.lottery_id, lottery_seeds.c.epoch == seed.epoch)
            .values(revealed_at=seed.revealed_at))

    async def seeds_created_before(self, moment: datetime) -> list[int]:
        rows = await self.connection.execute(select(lottery_seeds.c.lottery_id).where(
            lottery_seeds.c.revealed_at.is_(None), lottery_seeds.c.created_at <= moment))
        return [row.lottery_id for row in rows]

    async def add_draw(self, draw: LotteryDraw) -> None:
        result = await self.connection.execute(insert(lottery_draws).values(
            **{name: getattr(draw, name) for name in DRAW_FIELDS},
            candidates=",".join(str(i) for i in draw.candidates)).returning(lottery_draws.c.id))
        draw.id = result.scalar_one()

    async def draw(self, draw_id: int) -> LotteryDraw | None:
        row = (await self.connection.execute(select(lottery_draws).where(lottery_draws.c.id == draw_id))).first()
        return draw_from_row(row) if row else None

    async def last_draw(self, member_id: int, lottery_id: int) -> LotteryDraw | None:
        row = (await self.connection.execute(select(lottery_draws).where(
            lottery_draws.c.member_id == member_id, lottery_draws.c.lottery_id == lottery_id)
            .order_by(lottery_draws.c.id.desc()).limit(1))).first()
        return draw_from_row(row) if row else None

    async def draws_since(self, member_id: int, lottery_id: int, since: datetime) -> int:
        return await self.connection.scalar(select(func.count()).select_from(lottery_draws).where(
            lottery_draws.c.member_id == member_id, lottery_draws.c.lottery_id == lottery_id,
            lottery_draws.c.drawn_at >= since))

    async def draws_page(self, member_id: int, before_id: int | None, limit: int) -> list[LotteryDraw]:
        query = select(lottery_draws).where(lottery_draws.c.member_id == member_id)
        if before_id is not None:
            query = query.where(lottery_draws.c.id < before_id)
        rows = await self.connection.execute(query.order_by(lottery_draws.c.id.desc()).limit(limit))
        return [draw_from_row(row) for row in rows]
