"""Flash-sale stampede: N concurrent clients, 10,000 attempts on stock 100, against a real server.

The server (`jifen serve`, one process) runs pinned to CPU 0 and this client to CPU 1, so the
figure is what one core of server does. It prints attempts/s and the number of winners, which
must be exactly the stock; then `jifen check` recomputes every balance from the ledger.

    python bench/flash_sale.py --database sqlite
    python bench/flash_sale.py --database postgresql   # needs PostgreSQL at 127.0.0.1:5432
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from api.auth import issue_token

SECRET = "bench-secret-" + "x" * 40
POSTGRES_ADMIN = os.environ.get("JIFEN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
JIFEN = str(Path(sys.executable).with_name("jifen"))
ADJUST = """mutation($m: ID!, $k: String!) { adjustPoints(input: {memberId: $m, delta: 100, memo: "bench",
  idempotencyKey: $k}) { userErrors { code } } }"""
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


async def prepare(http: httpx.AsyncClient, url: str, members: int, stock: int) -> tuple[str, list[str]]:
    staff = issue_token(SECRET, "bench-staff", role="staff")
    item = (await post(http, url, staff, ITEM, {}))["createMallItem"]["item"]["id"]
    now = datetime.now(UTC)
    sale = (await post(http, url, staff, SALE, {"item": item, "stock": stock, "starts": now.isoformat(),
                                                "ends": (now + timedelta(hours=1)).isoformat()}))
    tokens = [issue_token(SECRET, f"bench-{i}") for i in range(members)]
    gate = asyncio.Semaphore(16)

    async def fund(i: int) -> None:
        async with gate:
            await post(http, url, tokens[i], "{ me { id } }", {})
            member = base64.b64encode(f"Member:bench-{i}".encode()).decode()
            await post(http, url, staff, ADJUST, {"m": member, "k": f"fund-{i}"})

    await asyncio.gather(*(fund(i) for i in range(members)))
    return sale["createFlashSale"]["flashSale"]["id"], tokens


async def stampede(http: httpx.AsyncClient, url: str, sale: str, tokens: list[str], attempts: int,
                   concurrency: int) -> tuple[int, dict[str, int], float]:
    queue = iter(range(attempts))
    winners, refusals = 0, {}

    async def client() -> None:
        nonlocal winners
        for i in queue:
            reply = (await post(http, url, tokens[i % len(tokens)], REDEEM, {"item": sale, "key": f"a{i}"}))["redeem"]
            if reply["userErrors"]:
                code = reply["userErrors"][0]["code"]
                refusals[code] = refusals.get(code, 0) + 1
            else:
                winners += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return winners, refusals, time.perf_counter() - started


async def run(args: argparse.Namespace, url: str) -> tuple[int, dict[str, int], float]:
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        sale, tokens = await prepare(http, url, args.members, args.stock)
        return await stampede(http, url, sale, tokens, args.attempts, args.concurrency)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--attempts", type=int, default=10_000)
    parser.add_argument("--stock", type=int, default=100)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--profile", help="write the server's py-spy profile (collapsed stacks) here")
    args = parser.parse_args()
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {1})  # the client on the other core
    with database(args.database) as database_url, server(database_url, free_port(), args.profile) as (url, _):
        winners, refusals, elapsed = asyncio.run(run(args, url))
        check = subprocess.run([JIFEN, "check"], env={**os.environ, "DATABASE_URL": database_url},
                               capture_output=True, text=True)
    print(f"database={args.database} attempts={args.attempts} stock={args.stock} members={args.members} "
          f"concurrency={args.concurrency}")
    print(f"winners={winners} refusals={refusals} elapsed={elapsed:.1f}s "
          f"attempts/s={args.attempts / elapsed:.0f} ledger_check={'ok' if check.returncode == 0 else 'FAILED'}")
    return 0 if winners == args.stock and check.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
