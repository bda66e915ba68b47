"""Flash-sale rush: 1,000 members, stock 100, `wrk -c64` sending redeems, against a real server.

The server (`jifen serve`) runs pinned to CPU 0 and wrk to CPU 1, so the figure is what one core of
server does; the load comes from wrk (C), never from a Python client that could be the limit
itself. Its Lua script rotates member tokens and sends an idempotency key never sent before with
every attempt. Each round opens a fresh sale, rushes it for `--seconds`, and measures the in-memory
strawberry baseline (`../shared/baselines`, its home query) right before or after; the figure is
attempts/s and its ratio to the baseline, per round and as the median. Every round must sell
exactly the stock, and `jifen check` recomputes every balance from the ledger at the end.

    python bench/flash_sale.py --database sqlite
    python bench/flash_sale.py --database postgresql                # PostgreSQL at 127.0.0.1:5432, Redis
    python bench/flash_sale.py --database postgresql --workers 2    # at 127.0.0.1:6379 (REDIS_URL)
    python bench/flash_sale.py --database postgresql --no-redis     # no gate: every attempt to the database
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from api.http.auth import issue_token
from api.ops.services import Services
from domain.configuration import Actor

ROOT = Path(__file__).resolve().parents[1]

SECRET = "bench-secret-" + "x" * 40
POSTGRES_ADMIN = os.environ.get("JIFEN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
JIFEN = str(Path(sys.executable).with_name("jifen"))
ITEM = """mutation { createMallItem(input: {name: "保温杯", pointsPrice: 500, stock: 1000}) { item { id } } }"""
SALE = """mutation($item: ID!, $starts: DateTime!, $ends: DateTime!, $stock: Int!) {
  createFlashSale(input: {itemId: $item, title: "1 积分秒杀", pointsPrice: 1, stock: $stock, perMemberLimit: 1,
                          startsAt: $starts, endsAt: $ends}) { flashSale { id } userErrors { code } } }"""
REDEEM = """mutation($item: ID!, $key: String!) { redeem(input: {itemId: $item, idempotencyKey: $key}) {
  redemption { id } userErrors { code } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def database(kind: str):
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/bench.db"
        return
    name = f"jifen_bench_{os.getpid()}"
    admin = ["psql", POSTGRES_ADMIN, "-q", "-c"]
    subprocess.run([*admin, f"CREATE DATABASE {name}"], check=True)
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        subprocess.run([*admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


def server_env(database_url: str, *, redis: bool) -> dict:
    """The environment of a benchmarked `jifen serve`: Redis (for the gate and toasts between
    `--workers` processes) under a prefix of this run's own."""
    env = {"DATABASE_URL": database_url, "JIFEN_SECRET": SECRET, "JIFEN_SWEEP_SECONDS": "0",
           "JIFEN_COST_BUDGET": "100000000"}
    if redis:
        env["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        env["JIFEN_REDIS_PREFIX"] = f"bench{os.getpid()}"
    return env


@contextlib.contextmanager
def running(command: list[str], port: int, *, cwd: Path | None = None, env: dict | None = None, output=None):
    """A GraphQL server on CPU 0 until the block ends: yields its URL and pid once it answers."""
    process = subprocess.Popen(["taskset", "-c", "0", *command], cwd=cwd, env={**os.environ, **(env or {})},
                               stdout=output or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(url, json={"query": "{ __typename }"}, timeout=2)
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{command} did not start")
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes its profile when its child exits
        process.wait(timeout=60)


@contextlib.contextmanager
def server(database_url: str, port: int, profile: str | None = None):
    env = {"DATABASE_URL": database_url, "JIFEN_SECRET": SECRET, "JIFEN_SWEEP_SECONDS": "0"}
    # py-spy's collapsed stacks show where the server's core goes (pip install py-spy).
    spy = ["py-spy", "record", "-f", "raw", "-o", profile, "--"] if profile else []
    log = tempfile.NamedTemporaryFile("w+", prefix="jifen-bench-", suffix=".log", delete=False)
    print(f"server log: {log.name}")
    with running([*spy, JIFEN, "serve", "--port", str(port)], port, env=env, output=log) as started:
        yield started


async def post(http: httpx.AsyncClient, url: str, token: str, query: str, variables: dict) -> dict:
    for attempt in range(3):
        try:
            response = await http.post(url, json={"query": query, "variables": variables},
                                       headers={"Authorization": f"Bearer {token}"})
            break
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # uvicorn closes keep-alive connections idle for 5 s; the pool may hand one out just then.
            # Every request here carries an idempotency key (or only reads), so sending it again is safe.
            if attempt == 2:
                raise
    response.raise_for_status()
    body = response.json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return body["data"]


RUSH = ('mutation Rush($item: ID!, $key: String!) { redeem(input: {itemId: $item, idempotencyKey: $key}) '
        '{ redemption { id } userErrors { code } } }')


def rush_script(sale: str, tokens: list[str], round_name: str) -> str:
    """wrk Lua: every attempt a member token in turn and an idempotency key never sent before."""
    table = ",".join(f'"{t}"' for t in tokens)
    prefix = '{"query": "%s", "variables": {"item": "%s", "key": "%s-' % (RUSH, sale, round_name)
    return f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tokens = {{{table}}}
local prefix = '{prefix}'
local i = 0
request = function()
  i = i + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1]
  return wrk.format(nil, nil, nil, prefix .. i .. '"}}}}')
end
"""


async def prepare(database_url: str, members: int) -> list[str]:
    """Members with points enough for every round (the sale's price is 1), and their tokens."""
    services = Services.build(database_url)
    try:
        for i in range(members):
            member = await services.members.ensure(f"bench-{i}", f"抢购{i}")
            await services.points.adjust(Actor("staff", "bench"), member.id, 1000, "bench", f"fund-{i}")
    finally:
        await services.close()
    return [issue_token(SECRET, f"bench-{i}") for i in range(members)]


async def new_sale(url: str, stock: int) -> str:
    async with httpx.AsyncClient(timeout=60) as http:
        staff = issue_token(SECRET, "bench-staff", role="staff")
        item = (await post(http, url, staff, ITEM, {}))["createMallItem"]["item"]["id"]
        now = datetime.now(UTC)
        sale = await post(http, url, staff, SALE, {"item": item, "stock": stock, "starts": now.isoformat(),
                                                   "ends": (now + timedelta(hours=1)).isoformat()})
        return sale["createFlashSale"]["flashSale"]["id"]


async def winners(database_url: str, sale: str) -> int:
    sale_id = int(base64.b64decode(sale).decode().split(":")[1])
    services = Services.build(database_url)
    try:
        async with services.database.read_engine.connect() as connection:
            rows = await connection.exec_driver_sql(
                f"SELECT coalesce(sum(quantity), 0) FROM redemptions WHERE flash_sale_id = {sale_id}")
            return int(rows.scalar_one())
    finally:
        await services.close()


def wrk(url: str, script: Path, seconds: int, connections: int) -> float:
    result = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s",
                             str(script), url], capture_output=True, text=True, check=True)
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if failed:
        raise RuntimeError(f"{failed.group(1)} failed requests:\n{result.stdout}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--stock", type=int, default=100)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5, help="a fresh sale each round, the baseline in turn")
    parser.add_argument("--workers", type=int, default=1, help="jifen serve --workers (PostgreSQL, with Redis)")
    parser.add_argument("--no-redis", action="store_true", help="PostgreSQL without Redis, so without the gate")
    parser.add_argument("--baselines", type=Path, default=ROOT.parent / "shared" / "baselines")
    parser.add_argument("--profile", help="write the server's py-spy profile (collapsed stacks) here")
    args = parser.parse_args()
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {1})  # the client on the other core
    uvicorn = [sys.executable, "-m", "uvicorn", "--no-access-log", "--log-level", "warning"]
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        scratch = Path(scratch)
        port = free_port()
        baseline_url, _ = stack.enter_context(running([*uvicorn, "inmemory_strawberry:app", "--port", str(port)],
                                                      port, cwd=args.baselines))
        database_url = stack.enter_context(database(args.database))
        env = server_env(database_url, redis=args.database == "postgresql" and not args.no_redis)
        subprocess.run([JIFEN, "migrate"], env={**os.environ, **env}, check=True, capture_output=True)
        tokens = asyncio.run(prepare(database_url, args.members))
        spy = ["py-spy", "record", "-f", "raw", "-o", args.profile, "--"] if args.profile else []
        port = free_port()
        command = [*spy, JIFEN, "serve", "--port", str(port), "--no-access-log", "--workers", str(args.workers)]
        url, _ = stack.enter_context(running(command, port, env=env))
        rates, baseline, sold = [], [], []
        for turn in range(args.rounds):
            sale = asyncio.run(new_sale(url, args.stock))
            script = scratch / f"rush-{turn}.lua"
            script.write_text(rush_script(sale, tokens, f"r{turn}"))
            measured = [("jifen", url, script), ("baseline", baseline_url, args.baselines / "home_query.lua")]
            for name, target, lua in measured if turn % 2 == 0 else measured[::-1]:
                (rates if name == "jifen" else baseline).append(wrk(target, lua, args.seconds, args.connections))
            sold.append(asyncio.run(winners(database_url, sale)))
        check = subprocess.run([JIFEN, "check"], env={**os.environ, **env}, capture_output=True, text=True)
    ratios = [ours / theirs for ours, theirs in zip(rates, baseline)]
    print(f"database={args.database} redis={'yes' if 'REDIS_URL' in env else 'no'} workers={args.workers} "
          f"stock={args.stock} members={args.members} "
          f"wrk -t1 -c{args.connections} -d{args.seconds}s x {args.rounds} rounds, a fresh sale each round")
    print(f"flash-sale attempts/s   median {statistics.median(rates):8.0f}   rounds: "
          + " ".join(f"{r:.0f}" for r in rates))
    print(f"inmemory_strawberry     median {statistics.median(baseline):8.0f}   rounds: "
          + " ".join(f"{r:.0f}" for r in baseline))
    print(f"ratio vs inmemory_strawberry  median of rounds {statistics.median(ratios):.3f}   rounds: "
          + " ".join(f"{r:.3f}" for r in ratios))
    print(f"winners per round: {sold} (stock {args.stock}); jifen check: {'ok' if check.returncode == 0 else 'FAILED'}")
    return 0 if all(n == args.stock for n in sold) and check.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
