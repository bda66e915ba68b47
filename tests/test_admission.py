"""The admission gate for scarce stock: refusals without a write, and never a unit oversold or unsold.

On SQLite the server holds a ticket count per sale in the process (domain/admission.py); on PostgreSQL
the count is in Redis (persistence/admission.py), shared by every process. The tests over HTTP run on
both and expect the same answers as without a gate: the gate may only make refusals cheaper, never
different. The gate's own rules are tested on both implementations.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
import subprocess
import time
from datetime import timedelta

import httpx
import pytest
import redis

from api.http.app import create_app
from api.ops.config import Settings
from api.ops.services import Services
from domain.admission import TicketCounters, Verdict
from domain.configuration import Actor
from domain.errors import NotFound
from domain.flash_sales import FlashSale
from domain.group_redemptions import GroupRedemptionService
from domain.mall import ItemKind, MallItem, MallService, Standing
from domain.randomness import SeededRandomSource
from persistence.admission import RedisTicketCounters
from tests.conftest import RANDOM_SEED, SECRET, LiveServer, start_server, stop_server
from tests.test_api_expiry import SETTINGS
from tests.test_api_flash_sales import new_sale, redeem_all
from tests.test_api_group_redemptions import JOIN, group_item, join, start
from tests.test_api_ledger import member_gid
from tests.test_api_lottery import draw, new_lottery, nothing
from tests.test_api_mall import CANCEL, REDEEM_ID, create, funded, redeem
from tests.test_cli import free_port


def on_postgresql(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def gate_redis(database_url, request) -> tuple[str | None, str]:
    """Redis for the gate where the server would use it (PostgreSQL); none on SQLite."""
    if not on_postgresql(database_url):
        return None, "jifen"
    return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")


def gated_services(database_url, clock, gate_redis) -> Services:
    redis_url, prefix = gate_redis
    return Services.build(database_url, clock, SeededRandomSource(RANDOM_SEED), redis_url=redis_url,
                          redis_prefix=prefix)


@pytest.fixture
def live_server(database_url, clock, gate_redis):
    """The conftest server, with its gate where `jifen serve` has it: Redis on PostgreSQL."""
    redis_url, prefix = gate_redis
    settings = Settings(database_url=database_url, secret=SECRET, env="dev", sweep_seconds=0,
                        redis_url=redis_url, redis_prefix=prefix)
    services = gated_services(database_url, clock, gate_redis)
    server, thread, base_url = start_server(create_app(settings, clock=clock, services=services))
    yield LiveServer(base_url, clock, database_url, services)
    stop_server(server, thread)


@pytest.fixture
async def services(database_url, clock, gate_redis):
    built = gated_services(database_url, clock, gate_redis)
    yield built
    await built.close()


@contextlib.asynccontextmanager
async def another_process(live_server, gate_redis):
    """A second set of services over the server's database and gate, as a second `--workers` process."""
    services = gated_services(live_server.database_url, live_server.clock, gate_redis)
    try:
        yield services
    finally:
        await services.close()


async def with_services(live_server, gate_redis, action):
    async with another_process(live_server, gate_redis) as services:
        return await action(services)


STAFF = Actor("staff", "ops")
UPDATE = """mutation($id: ID!, $stock: Int, $starts: DateTime) { updateFlashSale(input: {flashSaleId: $id,
  stock: $stock, startsAt: $starts}) { flashSale { stock } userErrors { code } } }"""


def known(standing: Standing):
    """A standing as a request reads it, when a refusal first needs it."""
    async def now() -> Standing:
        return standing
    return now


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


def test_a_winning_key_replayed_after_the_sell_out_gets_its_win_whatever_was_refused_before(live_server):
    """A member refused first (the server then knows their keys), who then wins and sends the winning key
    again after the stock is gone, gets the win again; a fresh key gets SOLD_OUT."""
    sale = new_sale(live_server, 1, starts_in=timedelta(minutes=5))
    winner, late = funded(live_server, "known-winner", 10), funded(live_server, "known-late", 10)
    assert codes(redeem(winner, sale, "too-early")) == ["FLASH_SALE_NOT_STARTED"]
    live_server.clock.advance(timedelta(minutes=5))
    won = redeem(winner, sale, "win")
    assert codes(won) == []
    assert codes(redeem(late, sale, "late")) == ["SOLD_OUT"]
    assert redeem(winner, sale, "win") == won
    assert codes(redeem(winner, sale, "too-early")) == ["SOLD_OUT"]  # refused before, kept nothing


def test_a_restock_while_the_sale_runs_sells_again(live_server):
    sale = new_sale(live_server, 1)
    buyers = [funded(live_server, f"restock-{i}", 10) for i in range(4)]
    assert codes(redeem(buyers[0], sale, "k")) == []
    assert codes(redeem(buyers[1], sale, "k")) == ["SOLD_OUT"]
    staff = live_server.staff()
    assert staff.data(UPDATE, {"id": sale, "stock": 2})["updateFlashSale"]["flashSale"] == {"stock": 2}
    # The refused key was never used: the same key buys now.
    assert [codes(redeem(b, sale, "k")) for b in buyers[1:]] == [[], [], ["SOLD_OUT"]]


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
        await services.flash_sales.redeem(Actor("member", "ghost"), 987654, sale.id, 1, "ghost", known(Standing(10, 1)))
    real = await services.members.ensure("real-one")
    await services.points.adjust(STAFF, real.id, 10, "m", "fund")
    outcome = await services.flash_sales.redeem(Actor("member", "real-one"), real.id, sale.id, 1, "k", known(Standing(10, 1)))
    assert outcome.error is None and outcome.entry.delta == -1  # the unit the failed attempt held came back


async def test_a_restarted_server_counts_the_stock_again(live_server, gate_redis):
    sale = new_sale(live_server, 3)
    assert codes(redeem(funded(live_server, "before-0", 10), sale, "k")) == []
    restarted = await with_services(live_server, gate_redis, lambda services: rush(services, sale, 6))
    assert sorted(restarted, key=str) == [None, None, "SOLD_OUT", "SOLD_OUT", "SOLD_OUT", "SOLD_OUT"]
    assert live_server.anonymous().data("{ flashSales { stock } }")["flashSales"] == [{"stock": 0}]


def sale_id_of(sale: str) -> int:
    return int(base64.b64decode(sale).decode().split(":")[1])


async def rush(services, sale: str, n: int, who: str = "after") -> list[str | None]:
    """n members, a fresh process's gate (these services), all at once."""
    sale_id = sale_id_of(sale)
    members = []
    for i in range(n):
        member = await services.members.ensure(f"{who}-{i}")
        await services.points.adjust(Actor("staff", "ops"), member.id, 10, "m", f"fund-{who}-{i}")
        members.append(member)
    outcomes = await asyncio.gather(*(services.flash_sales.redeem(Actor("member", f"{who}-{i}"), m.id, sale_id, 1,
                                                                  "k", known(Standing(10, 1)))
                                      for i, m in enumerate(members)))
    return [o.error.code.value if o.error else None for o in outcomes]


async def test_a_rush_through_the_gate_sells_exactly_the_stock_and_each_key_once(live_server, gate_redis):
    sale = new_sale(live_server, 30, limit=2)
    members = [funded(live_server, f"gate-{i}", 10) for i in range(40)]
    # Every member sends each of three keys twice: retries must not buy twice.
    payloads = await redeem_all(sale, [(m, f"k{j}") for m in members for j in range(3)] * 2)
    assert {c for p in payloads for c in codes(p)} <= {"SOLD_OUT", "LIMIT_REACHED"}
    assert live_server.anonymous().data("{ flashSales { stock } }")["flashSales"] == [{"stock": 0}]
    bought = sum(10 - m.data("{ me { points { available } } }")["me"]["points"]["available"] for m in members)
    assert bought == 30  # each unit costs 1: exactly the stock, however many retries
    assert (await with_services(live_server, gate_redis, lambda s: s.reconciliation.run())).ok




def stock_left(live_server) -> int:
    return live_server.anonymous().data("{ flashSales { stock } }")["flashSales"][0]["stock"]


async def bought_by(live_server, members) -> int:
    points = [m.data("{ me { points { available } } }")["me"]["points"]["available"] for m in members]
    return sum(10 - p for p in points)


async def test_a_restock_in_the_middle_of_a_rush_sells_every_unit(live_server, gate_redis):
    sale = new_sale(live_server, 10)
    members = [funded(live_server, f"mid-{i}", 10) for i in range(60)]
    first = await redeem_all(sale, [(m, "k") for m in members[:30]])
    assert sum(not p["userErrors"] for p in first) == 10
    staff = live_server.staff()
    restocking = asyncio.to_thread(staff.data, UPDATE, {"id": sale, "stock": 15})
    second, _ = await asyncio.gather(redeem_all(sale, [(m, "k") for m in members]), restocking)
    third = await redeem_all(sale, [(m, "again") for m in members])  # what the restock left, if anything
    assert stock_left(live_server) == 0 and await bought_by(live_server, members) == 25
    assert {c for p in first + second + third for c in codes(p)} <= {"SOLD_OUT", "LIMIT_REACHED"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_processes_share_one_sale(live_server, gate_redis):
    sale = new_sale(live_server, 20)
    members = [funded(live_server, f"here-{i}", 10) for i in range(30)]
    over_http = redeem_all(sale, [(m, "k") for m in members])
    async with another_process(live_server, gate_redis) as there:
        payloads, elsewhere = await asyncio.gather(over_http, rush(there, sale, 30, who="there"))
    winners = sum(not p["userErrors"] for p in payloads) + elsewhere.count(None)
    assert winners == 20 and stock_left(live_server) == 0
    assert set(elsewhere) <= {None, "SOLD_OUT"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_redis_flushed_mid_sale_is_rebuilt_from_the_database(live_server, gate_redis):
    redis_url, prefix = gate_redis
    sale = new_sale(live_server, 12)
    members = [funded(live_server, f"flush-{i}", 10) for i in range(40)]
    client = redis.asyncio.Redis.from_url(redis_url)

    async def flush_while_it_runs():
        await asyncio.sleep(0.05)
        for key in [key async for key in client.scan_iter(f"{prefix}:gate:*")]:
            await client.delete(key)

    payloads, _ = await asyncio.gather(redeem_all(sale, [(m, "k") for m in members]), flush_while_it_runs())
    await client.aclose()
    assert sum(not p["userErrors"] for p in payloads) == 12 and stock_left(live_server) == 0
    late = funded(live_server, "flush-late", 10)
    assert codes(redeem(late, sale, "k")) == ["SOLD_OUT"]
    assert (await with_services(live_server, gate_redis, lambda s: s.reconciliation.run())).ok


# The gate's own rules, on both implementations.

@pytest.fixture(params=["in-process", "redis"])
async def gate(request):
    if request.param == "in-process":
        yield TicketCounters()
        return
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    built = RedisTicketCounters(url, prefix, lease_ms=200, timeout=0.5, pause_after_failure=0.2)
    yield built
    await built.close()


def stock_of(*values):
    """A stock reader answering each value in turn (the last one from then on), counting its reads."""
    answers = list(values)

    async def read():
        read.calls += 1
        await asyncio.sleep(0.01)
        return answers.pop(0) if len(answers) > 1 else answers[0]
    read.calls = 0
    return read


async def test_a_count_admits_exactly_its_stock_and_takes_back_what_was_not_sold(gate):
    epoch = await gate.epoch("s")
    read = stock_of(2)
    answers = await asyncio.gather(*(gate.admit("s", 1, epoch, read) for _ in range(5)))
    verdicts = [a.verdict for a in answers]
    # While tickets are held a short count is no proof of "sold out": a holder may still give back.
    assert verdicts.count(Verdict.ADMITTED) == 2 and verdicts.count(Verdict.OPEN) == 3
    first, second = (a.ticket for a in answers if a.ticket)
    await gate.give_back(first)
    again = await gate.admit("s", 1, epoch, read)
    assert again.verdict is Verdict.ADMITTED  # the unit given back is sold again
    await gate.settle(second)
    assert (await gate.admit("s", 1, epoch, read)).verdict is Verdict.OPEN
    await gate.settle(again.ticket)
    assert (await gate.admit("s", 1, epoch, read)).verdict is Verdict.SOLD_OUT  # nothing held: a true one
    assert read.calls == 1


async def test_a_unit_given_back_is_one_unit(gate):
    epoch = await gate.epoch("s")
    ticket = (await gate.admit("s", 1, epoch, stock_of(1))).ticket
    await gate.give_back(ticket)
    await gate.give_back(ticket)  # twice by mistake: still one unit
    assert (await gate.admit("s", 2, epoch, stock_of(1))).verdict is Verdict.SOLD_OUT


async def test_a_new_epoch_sends_callers_back_to_the_database_and_old_tickets_count_for_nothing(gate):
    epoch = await gate.epoch("s")
    old = (await gate.admit("s", 1, epoch, stock_of(1))).ticket
    await gate.forget("s")  # a restock
    stale = await gate.admit("s", 1, epoch, stock_of(5))
    assert stale.verdict is Verdict.STALE and stale.epoch != epoch
    read = stock_of(2)
    tickets = [(await gate.admit("s", 1, stale.epoch, read)).ticket for _ in range(2)]
    assert all(tickets)
    await gate.give_back(old)  # issued by the count before the restock: changes nothing
    for ticket in tickets:
        await gate.settle(ticket)
    assert (await gate.admit("s", 1, stale.epoch, read)).verdict is Verdict.SOLD_OUT
    assert read.calls == 1


async def test_a_stock_read_while_the_epoch_changes_is_not_kept(gate):
    epoch = await gate.epoch("s")

    async def slow_old_stock():
        await asyncio.sleep(0.05)
        return 0

    racing = asyncio.ensure_future(gate.admit("s", 1, epoch, slow_old_stock))
    await asyncio.sleep(0.01)
    await gate.forget("s")  # the restock lands while the old stock is being read
    assert (await racing).verdict is Verdict.OPEN  # that read counts for nothing: the transaction decides
    current = await gate.epoch("s")
    assert (await gate.admit("s", 1, current, stock_of(3))).verdict is Verdict.ADMITTED


async def test_a_refusal_by_the_database_makes_the_gate_count_again(gate):
    epoch = await gate.epoch("s")
    read = stock_of(3, 0)  # the count said 3; the database then had none (sold elsewhere, a flush)
    ticket = (await gate.admit("s", 1, epoch, read)).ticket
    await gate.recount(ticket)
    assert (await gate.admit("s", 1, epoch, read)).verdict is Verdict.SOLD_OUT
    assert read.calls == 2


async def test_a_ticket_whose_holder_died_is_reclaimed_from_the_database(redis_url, redis_prefix):
    gate = RedisTicketCounters(redis_url, redis_prefix, lease_ms=100)
    epoch = await gate.epoch("s")
    assert (await gate.admit("s", 1, epoch, stock_of(1))).verdict is Verdict.ADMITTED  # never settled
    assert (await gate.admit("s", 1, epoch, stock_of(1))).verdict is Verdict.OPEN  # held: the database decides
    await asyncio.sleep(0.15)
    # The lease lapsed: the database is asked, and still has the unit the dead holder never sold.
    assert (await gate.admit("s", 1, epoch, stock_of(1))).verdict is Verdict.ADMITTED
    await gate.close()


async def test_a_flushed_redis_starts_a_new_epoch(redis_url, redis_prefix):
    gate = RedisTicketCounters(redis_url, redis_prefix)
    epoch = await gate.epoch("s")
    assert (await gate.admit("s", 1, epoch, stock_of(1))).verdict is Verdict.ADMITTED
    client = redis.asyncio.Redis.from_url(redis_url)
    for key in [key async for key in client.scan_iter(f"{redis_prefix}:*")]:
        await client.delete(key)
    await client.aclose()
    after = await gate.admit("s", 1, epoch, stock_of(1))
    assert after.verdict is Verdict.STALE and after.epoch != epoch  # callers read their facts again
    assert (await gate.admit("s", 1, after.epoch, stock_of(1))).verdict is Verdict.ADMITTED
    await gate.close()


@contextlib.contextmanager
def private_redis():
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server must be on the PATH on CI")
        pytest.skip("redis-server not on the PATH: this test starts and stops a Redis of its own")
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield process, f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


async def test_without_redis_the_gate_steps_aside_and_a_restock_is_not_lost(caplog):
    with private_redis() as (server, url):
        gate = RedisTicketCounters(url, "jifen", timeout=0.3, pause_after_failure=0.3)
        epoch = await gate.epoch("s")
        assert (await gate.admit("s", 1, epoch, stock_of(0))).verdict is Verdict.SOLD_OUT
        os.kill(server.pid, signal.SIGSTOP)  # Redis unreachable, its data intact
        try:
            assert (await gate.admit("s", 1, epoch, stock_of(0))).verdict is Verdict.OPEN
            await gate.forget("s")  # a restock while Redis cannot hear of it
            assert await gate.epoch("s") is None  # paused: no timeouts paid on every attempt
        finally:
            os.kill(server.pid, signal.SIGCONT)
        await asyncio.sleep(0.35)
        after = await gate.admit("s", 1, epoch, stock_of(5))
        assert after.verdict is Verdict.STALE  # the forget was sent first: nobody counts the old stock
        assert (await gate.admit("s", 1, after.epoch, stock_of(5))).verdict is Verdict.ADMITTED
        await gate.close()
    assert "admission gate unavailable" in caplog.text



# Mall items take the same gate.

def item_stock(live_server, item: str) -> int:
    return live_server.anonymous().data("query($id: ID!) { node(id: $id) { ... on MallItem { stock } } }",
                                        {"id": item})["node"]["stock"]


async def test_a_rush_on_a_mall_item_sells_exactly_its_stock(live_server, gate_redis):
    item = create(live_server.staff(), "限量徽章", 3, 12, limit=1)
    members = [funded(live_server, f"item-{i}", 10) for i in range(30)]
    payloads = await redeem_all(item, [(m, f"k{j}") for m in members for j in range(2)] * 2)
    assert {c for p in payloads for c in codes(p)} <= {"SOLD_OUT", "LIMIT_REACHED"}
    assert item_stock(live_server, item) == 0
    spent = sum(10 - m.data("{ me { points { available } } }")["me"]["points"]["available"] for m in members)
    assert spent == 12 * 3
    assert (await with_services(live_server, gate_redis, lambda s: s.reconciliation.run())).ok


def test_stock_a_cancelled_redemption_returns_is_sold_again(live_server):
    staff = live_server.staff()
    item = create(staff, "围巾", 2, 1)
    first, second = funded(live_server, "scarf-1", 10), funded(live_server, "scarf-2", 10)
    won = first.data(REDEEM_ID, {"item": item, "key": "k"})["redeem"]
    assert codes(second.data(REDEEM_ID, {"item": item, "key": "k"})["redeem"]) == ["SOLD_OUT"]
    assert staff.data(CANCEL, {"id": won["redemption"]["id"], "key": "c"})["cancelRedemption"]["userErrors"] == []
    assert codes(second.data(REDEEM_ID, {"item": item, "key": "k"})["redeem"]) == []  # the same key, unwritten


def test_an_item_s_shelf_and_tier_changes_are_seen_at_once(live_server):
    staff = live_server.staff()
    item = create(staff, "会员礼", 2, 5)
    member = funded(live_server, "shelf-watcher", 10)
    shelf = 'mutation($id: ID!, $on: Boolean!) { updateMallItem(input: {itemId: $id, onShelf: $on}) { item { id } } }'
    staff.data(shelf, {"id": item, "on": False})
    assert codes(redeem(member, item, "k")) == ["ITEM_OFF_SHELF"]
    staff.data(shelf, {"id": item, "on": True})
    assert codes(redeem(member, item, "k")) == []


async def test_the_gate_refuses_as_the_transaction_would(services, clock):
    """The same attempts through the gate and straight to the transaction get the same codes, in the
    transaction's order (facts, stock, points, then the per-member limit)."""
    plain = MallService(services.mall.operations, services.transactions, clock)  # no gate
    cases = [MallItem("缺货", ItemKind.GOODS, 5, 0), MallItem("贵", ItemKind.GOODS, 50, 5),
             MallItem("限一", ItemKind.GOODS, 1, 5, per_member_limit=1), MallItem("高级", ItemKind.GOODS, 1, 5,
                                                                            min_tier_level=3),
             MallItem("下架", ItemKind.GOODS, 1, 5, on_shelf=False), MallItem("现金", ItemKind.GOODS, 1, 5,
                                                                           cash_price_fen=100)]
    for n, item in enumerate(cases):
        await services.mall.create(STAFF, item)
        answers = []
        for way, service in (("gate", services.mall), ("plain", plain)):
            member = await services.members.ensure(f"{way}-{n}")
            await services.points.adjust(STAFF, member.id, 5, "m", f"fund-{way}-{n}")
            actor = Actor("member", f"{way}-{n}")
            standing = Standing(5, member.tier_level)
            for attempt in range(3):
                outcome = await service.redeem(actor, member.id, item.id, 1, f"k{attempt}",
                                               known(standing) if way == "gate" else None)
                answers.append((way, outcome.error.code.value if outcome.error else None))
                standing = Standing(standing.available - (0 if outcome.error else item.points_price),
                                    member.tier_level)
        assert [a for w, a in answers if w == "gate"] == [a for w, a in answers if w == "plain"], item.name


# 拼团 places are a group's stock: a rush of friends for the last places meets the same gate.

async def test_a_rush_for_a_group_s_last_places_fills_it_once_and_keeps_nothing_of_the_refused(live_server):
    item = group_item(live_server, size=4, price=100)
    group = start(funded(live_server, "rush-owner", 100), item)["group"]["id"]
    friends = [funded(live_server, f"rusher-{i}", 100) for i in range(24)]
    async with httpx.AsyncClient(timeout=120) as http:
        replies = await asyncio.gather(*(f.execute_async(http, JOIN, {"group": group, "key": key})
                                         for f in friends for key in ("go", "go", "again")))
    payloads = [r["data"]["joinGroupRedemption"] for r in replies]
    joined = {p["member"]["points"]["available"] for p in payloads if not p["userErrors"]}
    assert {c for p in payloads for c in codes(p)} <= {"GROUP_CLOSED", "ALREADY_JOINED"}
    assert item_stock(live_server, item) == 10 - 4  # filled exactly once
    points = [f.data("{ me { points { available held } } }")["me"]["points"] for f in friends]
    assert sorted(p["available"] for p in points) == [0] * 3 + [100] * 21 and joined == {0}
    # Once it is known filled, a join is refused at the gate: the key is not used, and starts a group.
    latecomer = funded(live_server, "latecomer", 100)
    assert codes(join(latecomer, group, "late")) == ["GROUP_CLOSED"]
    assert start(latecomer, item, "late")["userErrors"] == []


async def test_a_group_refuses_at_the_gate_as_its_transaction_would(services, clock):
    """The same joins through the gate and straight to the transaction get the same codes: in the
    group, filled, expired, not enough points."""
    plain = GroupRedemptionService(services.groups.operations, services.transactions, clock)  # no gate
    answers = {}
    for way, service in (("gate", services.groups), ("plain", plain)):
        item = await services.mall.create(STAFF, MallItem("拼团茶", ItemKind.GOODS, 300, 10, group_size=3,
                                                          group_points_price=100, group_hours=1))
        people = []
        for name in ("owner", "friend", "poor", "last", "late"):
            member = await services.members.ensure(f"{way}-{name}")
            if name != "poor":
                await services.points.adjust(STAFF, member.id, 100, "m", f"fund-{way}-{name}")
            people.append((Actor("member", f"{way}-{name}"), member.id))
        (owner, owner_id), friend, poor, last, late = people
        group = (await services.groups.start(owner, owner_id, item.id, "s")).subject_id
        # The first join is not seen by the gate: it learns a group that already has the friend in it.
        outcomes = [await plain.join(*friend, group, "a")]
        outcomes += [await service.join(*who, group, key) for who, key in
                     ((friend, "b"), (poor, "c"), (last, "d"), (friend, "e"), (late, "f"))]
        answers[way] = [o.error.code.value if o.error else None for o in outcomes]
    assert answers["gate"] == answers["plain"] == [None, "ALREADY_JOINED", "INSUFFICIENT_POINTS", None,
                                                   "GROUP_CLOSED", "GROUP_CLOSED"]


# A lottery has no stock to count (a drawn prize out of stock becomes the fallback), but its refusals
# come from what the server knows: its window, a daily limit the member reached, their points.

def test_a_reached_daily_limit_is_refused_until_the_day_ends_or_staff_raise_it(live_server):
    lottery = new_lottery(live_server, [nothing(1, fallback=False), nothing(1)], cost=1, daily=2)["id"]
    member = funded(live_server, "limited", 20)
    assert [codes(draw(member, lottery, key)) for key in ("a", "b", "c", "d")] == \
        [[], [], ["DAILY_LIMIT_REACHED"], ["DAILY_LIMIT_REACHED"]]
    staff = live_server.staff()
    raise_limit = """mutation($id: ID!) { updateLottery(input: {lotteryId: $id, dailyLimit: 3}) {
                       userErrors { code } } }"""
    assert staff.data(raise_limit, {"id": lottery})["updateLottery"]["userErrors"] == []
    assert codes(draw(member, lottery, "d")) == []  # the refused key kept nothing
    assert codes(draw(member, lottery, "e")) == ["DAILY_LIMIT_REACHED"]  # by the transaction: kept under "e"
    assert codes(draw(member, lottery, "f")) == ["DAILY_LIMIT_REACHED"]  # remembered
    live_server.clock.advance(timedelta(days=1))
    assert codes(draw(member, lottery, "e")) == ["DAILY_LIMIT_REACHED"]  # "e" replays its answer
    assert codes(draw(member, lottery, "f")) == []
    disable = "mutation($id: ID!) { updateLottery(input: {lotteryId: $id, enabled: false}) { userErrors { code } } }"
    staff.data(disable, {"id": lottery})
    assert codes(draw(member, lottery, "g")) == ["LOTTERY_CLOSED"]
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 20 - 4


def test_a_new_time_zone_starts_a_new_day_for_daily_limits(live_server):
    lottery = new_lottery(live_server, [nothing(1, fallback=False), nothing(1)], daily=1)["id"]
    member = funded(live_server, "night-owl", 0)
    live_server.clock.advance(timedelta(hours=12, minutes=30))  # 22:30 in Shanghai, 23:30 in Tokyo
    assert [codes(draw(member, lottery, key)) for key in ("a", "b")] == [[], ["DAILY_LIMIT_REACHED"]]
    live_server.clock.advance(timedelta(hours=1))  # still the same day in Shanghai, a new one in Tokyo
    assert codes(draw(member, lottery, "c")) == ["DAILY_LIMIT_REACHED"]  # remembered until Shanghai's midnight
    settings = live_server.staff().data(SETTINGS, {"months": 24, "tz": "Asia/Tokyo"})["updateBrandSettings"]
    assert settings["userErrors"] == []
    assert codes(draw(member, lottery, "c")) == []


def test_a_draw_the_member_cannot_pay_for_is_refused_and_kept_nothing_of(live_server):
    lottery = new_lottery(live_server, [nothing(1, fallback=False), nothing(1)], cost=30)["id"]
    member = funded(live_server, "short-of-points", 20)
    assert codes(draw(member, lottery, "k")) == ["INSUFFICIENT_POINTS"]
    live_server.staff().data("""mutation($m: ID!) { adjustPoints(input: {memberId: $m, delta: 10, memo: "top up",
                                idempotencyKey: "top"}) { userErrors { code } } }""",
                             {"m": member_gid("short-of-points")})
    assert codes(draw(member, lottery, "k")) == []


async def test_a_process_keeps_a_bounded_number_of_counts_and_reads_a_dropped_one_again():
    gate = TicketCounters()
    gate.MAX_SCOPES = 2  # members start groups all day: the counts must not grow for ever
    reads = []

    def reader(scope: str):
        async def read() -> int:
            reads.append(scope)
            return 1
        return read

    first = await gate.admit("a", 1, "0", reader("a"))
    for scope in ("b", "c"):
        await gate.admit(scope, 1, "0", reader(scope))  # "a", the oldest, is dropped
    await gate.give_back(first.ticket)  # a ticket of a dropped count gives nothing back
    assert (await gate.admit("a", 1, "0", reader("a"))).verdict is Verdict.ADMITTED
    assert (await gate.admit("a", 1, "0", reader("a"))).verdict is Verdict.OPEN  # none left, one held
    assert reads == ["a", "b", "c", "a"]


def test_a_member_day_item_is_refused_by_the_gate_until_its_day_and_sells_its_stock_then(live_server):
    from tests.test_api_member_days import ITEM, MIDNIGHT_18TH, member_day, travel_to
    member_day(live_server)
    item = live_server.staff().data(ITEM, {"day": "day18"})["createMallItem"]["item"]["id"]
    member = funded(live_server, "gated-day", 1000)
    refused = member.data(REDEEM_ID, {"item": item, "key": "before"})["redeem"]
    assert codes(refused) == ["NOT_MEMBER_DAY"]
    travel_to(live_server, MIDNIGHT_18TH)
    assert codes(member.data(REDEEM_ID, {"item": item, "key": "before"})["redeem"]) == []  # the key kept nothing


def test_early_access_lets_the_tier_through_the_gate_before_the_sale_opens(live_server):
    from tests.test_api_perks import give_v1
    sale = new_sale(live_server, 3, starts_in=timedelta(minutes=20))
    member = funded(live_server, "gated-early", 10)
    assert codes(redeem(member, sale, "k")) == ["FLASH_SALE_NOT_STARTED"]
    give_v1(live_server, [{"kind": "EARLY_ACCESS", "name": "提前 30 分钟", "minutes": 30}])
    assert codes(redeem(member, sale, "k")) == []  # refused at the gate, the key kept nothing
