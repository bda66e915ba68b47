"""What anonymous `activityFeed` subscribers cost each write: server CPU per redeem with 0 and N feeds.

The server (`jifen serve`, one process) runs pinned to CPU 0; this script, on CPU 1, opens N anonymous
WebSockets subscribed to the public feed, then sends redeems (each one an activity on the feed) and
reads the server's CPU time from /proc before and after. The per-address caps are raised for the run:
it measures the cost of fan-out itself, from one address.

    python bench/activity_feed.py --database sqlite --feeds 2000
    python bench/activity_feed.py --database postgresql --feeds 2000
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flash_sale import ITEM, JIFEN, REDEEM, SECRET, database, free_port, post, running  # noqa: E402

from api.http.auth import issue_token  # noqa: E402
from subscribers import cpu_seconds  # noqa: E402

FEED = "subscription { activityFeed { kind memberName text } }"
ADJUST = """mutation($m: ID!) { adjustPoints(input: {memberId: $m, delta: 1000000, memo: "bench",
  idempotencyKey: "fund"}) { userErrors { code } } }"""


async def feed(url: str, ready: asyncio.Event, heard: list[int]) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        await socket.recv()
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": FEED}}))
        ready.set()
        async for raw in socket:
            if json.loads(raw).get("type") == "next":
                heard[0] += 1


async def redeems(http: httpx.AsyncClient, url: str, item: str, token: str, count: int, start: int) -> None:
    gate = asyncio.Semaphore(4)

    async def one(i: int) -> None:
        async with gate:
            await post(http, url, token, REDEEM, {"item": item, "key": f"r{i}"})

    await asyncio.gather(*(one(i) for i in range(start, start + count)))


async def measure(url: str, pid: int, feeds: int, count: int) -> tuple[float, float, int]:
    """(server CPU ms per redeem without feeds, with `feeds` feeds, messages the feeds heard)."""
    async with httpx.AsyncClient(timeout=120) as http:
        staff = issue_token(SECRET, "bench-staff", role="staff")
        item = (await post(http, url, staff, ITEM.replace("1000", "1000000"), {}))["createMallItem"]["item"]["id"]
        item_price = 500
        token = issue_token(SECRET, "feed-buyer")
        await post(http, url, token, "{ me { id } }", {})
        for _ in range((2 * count * item_price) // 1_000_000 + 1):
            await post(http, url, staff, ADJUST.replace('"fund"', f'"fund-{time.monotonic_ns()}"'),
                       {"m": "TWVtYmVyOmZlZWQtYnV5ZXI="})
        await redeems(http, url, item, token, 20, 10_000_000)  # warm up: documents parsed, connections open
        before = cpu_seconds(pid)
        await redeems(http, url, item, token, count, 0)
        quiet = (cpu_seconds(pid) - before) / count * 1000
        heard = [0]
        ws_url = url.replace("http://", "ws://")
        readies = [asyncio.Event() for _ in range(feeds)]
        tasks = [asyncio.create_task(feed(ws_url, ready, heard)) for ready in readies]
        await asyncio.gather(*(ready.wait() for ready in readies))
        await asyncio.sleep(2)
        before = cpu_seconds(pid)
        await redeems(http, url, item, token, count, count)
        await asyncio.sleep(1)  # deliveries still queued are part of the cost
        busy = (cpu_seconds(pid) - before) / count * 1000
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        return quiet, busy, heard[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--redeems", type=int, default=400)
    parser.add_argument("--profile", help="write the server's py-spy profile (collapsed stacks) here")
    args = parser.parse_args()
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {1})
    port = free_port()
    env = {"JIFEN_SECRET": SECRET, "JIFEN_SWEEP_SECONDS": "0", "JIFEN_SOCKETS_PER_ADDRESS": str(args.feeds + 10),
           "JIFEN_ANONYMOUS_FEEDS_PER_ADDRESS": str(args.feeds + 10)}
    spy = ["py-spy", "record", "-f", "raw", "-o", args.profile, "--"] if args.profile else []
    with database(args.database) as database_url, running(
            [*spy, JIFEN, "serve", "--port", str(port), "--no-access-log"], port,
            env={**env, "DATABASE_URL": database_url}) as (url, pid):
        quiet, busy, heard = asyncio.run(measure(url, pid, args.feeds, args.redeems))
    print(f"database={args.database} feeds={args.feeds} redeems={args.redeems}")
    per_message = (busy - quiet) * args.redeems / heard * 1000 if heard else float("nan")
    print(f"server CPU per redeem: {quiet:.2f} ms without feeds, {busy:.2f} ms with {args.feeds} feeds "
          f"({busy / quiet:.2f}x); the feeds heard {heard} messages, {per_message:.0f} µs of server CPU each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
