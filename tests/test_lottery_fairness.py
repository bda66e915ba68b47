"""The lottery's arithmetic, without a database: rolls follow the published odds, and a tampered record fails."""
from dataclasses import replace
from datetime import UTC, datetime

from domain.lottery import (LotteryDraw, LotterySeed, Prize, PrizeKind, candidates_for, draw_message, pick,
                            roll_for, verify)
from domain.randomness import SeededRandomSource

NOW = datetime(2026, 3, 12, tzinfo=UTC)
TABLE = [Prize("一等奖", PrizeKind.POINTS, 5, 100, id=1), Prize("二等奖", PrizeKind.POINTS, 25, 10, id=2),
         Prize("谢谢参与", PrizeKind.NOTHING, 70, fallback=True, id=3)]


def test_twenty_thousand_rolls_follow_the_weights():
    seed = SeededRandomSource(1).token(32).hex()
    counts = {1: 0, 2: 0, 3: 0}
    for sequence in range(1, 20_001):
        counts[pick(TABLE, roll_for(seed, draw_message(1, 1, 1, sequence, "client"))).id] += 1
    expected = {1: 1000, 2: 5000, 3: 14000}
    chi_square = sum((counts[k] - expected[k]) ** 2 / expected[k] for k in expected)
    assert chi_square < 13.8  # p = 0.001 for 2 degrees of freedom


def test_pity_chooses_among_winning_prizes_in_stock_only():
    out_of_stock = [replace(TABLE[0], stock=0), TABLE[1], TABLE[2]]
    assert [p.id for p in candidates_for(out_of_stock, pity=True)] == [2]
    assert [p.id for p in candidates_for(out_of_stock, pity=False)] == [1, 2, 3]


def test_a_tampered_record_does_not_verify():
    seed = LotterySeed(1, 1, SeededRandomSource(2).token(32).hex(), NOW, revealed_at=NOW)
    roll = roll_for(seed.seed, draw_message(1, 1, 1, 7, "k"))
    prize = pick(TABLE, roll)
    honest = LotteryDraw(1, 1, 1, 1, 7, "k", roll, [1, 2, 3], prize.id, prize.id, False, 0, 0, NOW)
    assert verify(honest, seed, TABLE).valid is True
    other = next(p.id for p in TABLE if p.id != prize.id)
    assert verify(replace(honest, drawn_prize_id=other), seed, TABLE).valid is False
    assert verify(replace(honest, roll=roll + 1), seed, TABLE).valid is False
    assert verify(replace(honest, candidates=[1]), seed, TABLE).valid is False  # pity not applied: the whole table
    assert verify(honest, replace(seed, revealed_at=None), TABLE).valid is None
