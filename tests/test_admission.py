"""The admission gate for scarce stock: refusals without a write, and never a unit oversold or unsold.

On SQLite the server holds a ticket count per sale (domain/admission.py); on PostgreSQL every attempt
goes to the transaction. The tests over HTTP run on both and expect the same answers: the gate may
only make refusals cheaper, never different.
"""
from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import pytest

from domain.admission import TicketCounters
from domain.configuration import Actor
from domain.errors import NotFound
from domain.flash_sales import FlashSale
from domain.mall import ItemKind, MallItem
from tests.conftest import with_services
from tests.test_api_flash_sales import new_sale, redeem_all
from tests.test_api_ledger import member_gid
from tests.test_api_mall import funded, redeem

STAFF = Actor("staff", "ops")
UPDATE = """mutation($id: ID!, $stock: Int, $starts: DateTime) { updateFlashSale(input: {flashSaleId: $id,
  stock: $stock, startsAt: $starts}) { flashSale { stock } userErrors { code } } }"""


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def test_a_ticket_whose_transaction_sells_nothing_goes_back(live_server):
    sale = new_sale(live_server, 2, limit=1)
    first, second, third = (funded(live_server, f"in-{i}", 10) for i in range(3))
    assert codes(redeem(first, sale, "a")) == []
    assert codes(redeem(first, sale, "again")) == ["LIMIT_REACHED"]  # admitted, refused by the transaction
    assert codes(redeem(second, sale, "b")) == []  # so the last unit is still there for someone else
    assert codes(redeem(third, sale, "c")) == ["SOLD_OUT"]


def test_refusals_from_what_the_server_knows_keep_nothing(live_server):
    sale = new_sale(live_server, 3, starts_in=timedelta(minutes=5))
    member = funded(live_server, "eager", 10)
    assert codes(redeem(member, sale, "early")) == ["FLASH_SALE_NOT_STARTED"]
    live_server.clock.advance(timedelta(minutes=5))
    broke = live_server.member("broke-one")
    broke.data("{ me { id } }")
    assert codes(redeem(broke, sale, "poor")) == ["INSUFFICIENT_POINTS"]
    live_server.staff().data("""mutation($m: ID!) { adjustPoints(input: {memberId: $m, delta: 5, memo: "top up",
                                idempotencyKey: "top"}) { userErrors { code } } }""", {"m": member_gid("broke-one")})
    # Refused without a write, the key was never used: sent again with the points, it buys.
    assert codes(redeem(broke, sale, "poor")) == []
    assert codes(redeem(member, sale, "early")) == []


def test_a_restock_while_the_sale_runs_sells_again(live_server):
    sale = new_sale(live_server, 1)
    buyers = [funded(live_server, f"restock-{i}", 10) for i in range(4)]
    assert codes(redeem(buyers[0], sale, "k")) == []
    assert codes(redeem(buyers[1], sale, "k")) == ["SOLD_OUT"]
    staff = live_server.staff()
    assert staff.data(UPDATE, {"id": sale, "stock": 2})["updateFlashSale"]["flashSale"] == {"stock": 2}
    assert [codes(redeem(b, sale, "k2")) for b in buyers[1:]] == [[], [], ["SOLD_OUT"]]


def test_moving_a_sale_s_start_is_seen_at_once(live_server):
    sale = new_sale(live_server, 2, starts_in=timedelta(hours=1))
    member = funded(live_server, "mover", 10)
    assert codes(redeem(member, sale, "k")) == ["FLASH_SALE_NOT_STARTED"]
    live_server.staff().data(UPDATE, {"id": sale, "starts": live_server.clock.now().isoformat()})
    assert codes(redeem(member, sale, "k")) == []


async def test_an_attempt_that_fails_after_admission_returns_its_ticket(services, clock):
    item = await services.mall.create(STAFF, MallItem("保温杯", ItemKind.GOODS, 500, 10))
    now = clock.now()
    sale = await services.flash_sales.create(STAFF, FlashSale(item.id, "秒杀", 1, 1, 1, now, now + timedelta(hours=1)))
    with pytest.raises(NotFound):  # admitted, then the transaction finds no such member
        await services.flash_sales.redeem(Actor("member", "ghost"), 987654, sale.id, 1, "ghost", available=10)
    real = await services.members.ensure("real-one")
    await services.points.adjust(STAFF, real.id, 10, "m", "fund")
    outcome = await services.flash_sales.redeem(Actor("member", "real-one"), real.id, sale.id, 1, "k", available=10)
    assert outcome.error is None and outcome.entry.delta == -1  # the unit the failed attempt held came back


async def test_a_restarted_server_counts_the_stock_again(live_server):
    sale = new_sale(live_server, 3)
    assert codes(redeem(funded(live_server, "before-0", 10), sale, "k")) == []
    restarted = await with_services(live_server, lambda services: rush(services, sale, 6))
    assert sorted(restarted, key=str) == [None, None, "SOLD_OUT", "SOLD_OUT", "SOLD_OUT", "SOLD_OUT"]
    assert live_server.anonymous().data("{ flashSales { stock } }")["flashSales"] == [{"stock": 0}]


async def rush(services, sale: str, n: int) -> list[str | None]:
    """n members, a fresh process's gate (these services), all at once."""
    sale_id = int(base64.b64decode(sale).decode().split(":")[1])
    members = []
    for i in range(n):
        member = await services.members.ensure(f"after-{i}")
        await services.points.adjust(Actor("staff", "ops"), member.id, 10, "m", f"fund-after-{i}")
        members.append(member)
    outcomes = await asyncio.gather(*(services.flash_sales.redeem(Actor("member", f"after-{i}"), m.id, sale_id, 1,
                                                                  "k", available=10)
                                      for i, m in enumerate(members)))
    return [o.error.code.value if o.error else None for o in outcomes]


async def test_a_rush_through_the_gate_sells_exactly_the_stock_and_each_key_once(live_server):
    sale = new_sale(live_server, 30, limit=2)
    members = [funded(live_server, f"gate-{i}", 10) for i in range(40)]
    # Every member sends each of three keys twice: retries must not buy twice.
    payloads = await redeem_all(sale, [(m, f"k{j}") for m in members for j in range(3)] * 2)
    assert {c for p in payloads for c in codes(p)} <= {"SOLD_OUT", "LIMIT_REACHED"}
    assert live_server.anonymous().data("{ flashSales { stock } }")["flashSales"] == [{"stock": 0}]
    bought = sum(10 - m.data("{ me { points { available } } }")["me"]["points"]["available"] for m in members)
    assert bought == 30  # each unit costs 1: exactly the stock, however many retries
    assert (await with_services(live_server, lambda s: s.reconciliation.run())).ok


async def test_the_ticket_count_reads_the_stock_once_and_never_counts_a_stale_read():
    counters = TicketCounters()
    reads = []

    async def stock():
        reads.append(1)
        await asyncio.sleep(0.01)
        return 2

    tickets = await asyncio.gather(*(counters.admit("s", 1, stock) for _ in range(5)))
    assert len(reads) == 1 and [bool(t) for t in tickets].count(True) == 2 and tickets.count(False) == 3
    await counters.give_back(tickets[0])
    assert await counters.admit("s", 1, stock)  # the unit given back is sold again
    await counters.forget("s")
    await counters.give_back(tickets[1])  # a ticket of the count before the restock changes nothing
    assert counters.counts == {}

    async def slow_stock():
        await asyncio.sleep(0.02)
        return 0

    racing = asyncio.ensure_future(counters.admit("s", 1, slow_stock))
    await asyncio.sleep(0.005)
    await counters.forget("s")  # a restock while the old stock was being read
    assert await racing is None and counters.counts == {}  # that read is not kept: the next one counts
    assert await counters.admit("s", 1, stock)
    await counters.sold_out("s")
    assert await counters.admit("s", 1, stock) is False


def test_a_malformed_key_is_refused_as_such_even_when_the_sale_is_over(live_server):
    sale = new_sale(live_server, 1)
    assert codes(redeem(funded(live_server, "quick", 10), sale, "k")) == []
    late = funded(live_server, "late-key", 10)
    assert redeem(late, sale, "x" * 200)["userErrors"] == [{"field": ["idempotencyKey"], "code": "INVALID_INPUT"}]
