"""Toast latency: 1,000 WebSocket subscribers, 100 points changes a second spread over them.

The server (`jifen serve`, one process, pinned to CPU 0) holds the subscriptions. This script,
pinned to CPU 1, opens the WebSockets (graphql-transport-ws) and, as a second process of the
platform, writes the changes through the domain with Redis carrying the events to the server,
the way a job or another server process would. Latency is measured from the commit (an
after-commit listener notes the time) to the toast arriving at the client, on one clock.

    python bench/subscribers.py                  # SQLite; needs Redis at 127.0.0.1:6379
    python bench/subscribers.py --database postgresql
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import random
import sys
import time
import uuid
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flash_sale import SECRET, database, free_port, server  # noqa: E402  (the sibling script's helpers)

from api.http.auth import issue_token  # noqa: E402
from api.ops.services import Services  # noqa: E402
from domain.configuration import Actor  # noqa: E402

SUBSCRIPTION = "subscription { pointsChanged { toast entry { id } } }"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def subscriber(url: str, token: str, received: dict[int, float], ready: asyncio.Event) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        await socket.recv()
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
        ready.set()
        async for raw in socket:
            message = json.loads(raw)
            if message.get("type") == "next":
                entry = message["payload"]["data"]["pointsChanged"]["entry"]
                if entry:  # a global id: base64 of "LedgerEntry:<id>"
                    received[int(base64.b64decode(entry["id"]).decode().split(":")[1])] = time.monotonic()


async def write_changes(services: Services, members: list[int], rate: int, seconds: float) -> int:
    staff = Actor("staff", "bench")
    interval, sent, pending = 1 / rate, 0, set()
    started = time.monotonic()

    async def one(member_id: int) -> None:
        await services.points.adjust(staff, member_id, 1, "bench", uuid.uuid4().hex)

    while time.monotonic() - started < seconds:
        pending.add(asyncio.create_task(one(random.choice(members))))
        sent += 1
        pending = {t for t in pending if not t.done()}
        await asyncio.sleep(max(0.0, started + sent * interval - time.monotonic()))
    await asyncio.gather(*pending)
    return sent


def writer_process(database_url: str, prefix: str, members: list[int], rate: int, seconds: float, go, results) -> None:
    """A process of its own, so the writing never delays the clients' event loop (and so the measurement).

    It runs on CPU 0 beside the server, which needs a small share of that core (reported), while
    the clients have CPU 1 to themselves: on one core with the clients it saturates it, and the
    queueing it causes there would be measured as toast latency.
    """
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {0})

    async def write() -> tuple[int, dict[int, float]]:
        services = Services.build(database_url, redis_url=REDIS_URL, redis_prefix=prefix)
        committed: dict[int, float] = {}

        async def note_commit(outbox) -> None:
            for change in outbox.points:
                if change.entry is not None:
                    committed[change.entry.id] = time.monotonic()  # CLOCK_MONOTONIC: one clock for both processes

        services.transactions.listeners.insert(0, note_commit)  # before the announcer publishes
        try:
            go.wait()
            return await write_changes(services, members, rate, seconds), committed
        finally:
            await services.close()

    results.put(asyncio.run(write()))


async def create_members(database_url: str, count: int) -> list[int]:
    services = Services.build(database_url)
    try:
        return [(await services.members.ensure(f"sub-{i}", f"订阅者{i}")).id for i in range(count)]
    finally:
        await services.close()


async def run(args: argparse.Namespace, database_url: str, url: str, server_pid: int, prefix: str) -> dict:
    members = await create_members(database_url, args.subscribers)
    spawn = multiprocessing.get_context("spawn")
    go, results = spawn.Event(), spawn.Queue()
    writer = spawn.Process(target=writer_process, args=(database_url, prefix, members, args.rate, args.seconds, go,
                                                        results))
    writer.start()
    received: dict[int, float] = {}
    clients = []
    for batch in range(0, args.subscribers, 50):  # connect in batches, each subscribed before the next
        events = [asyncio.Event() for _ in range(batch, min(batch + 50, args.subscribers))]
        clients += [asyncio.create_task(subscriber(url.replace("http", "ws"), issue_token(SECRET, f"sub-{batch + j}"),
                                                   received, event)) for j, event in enumerate(events)]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in events)), 60)
    await asyncio.sleep(1)
    cpu_before, wall_before = cpu_seconds(server_pid), time.monotonic()
    go.set()
    sent, committed = await asyncio.to_thread(results.get)
    await asyncio.sleep(1)
    cpu = (cpu_seconds(server_pid) - cpu_before) / (time.monotonic() - wall_before)
    writer.join()
    for client in clients:
        client.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    latencies = sorted((received[i] - committed[i]) * 1000 for i in received if i in committed)
    return {"sent": sent, "received": len(latencies), "cpu": cpu, "latencies": latencies}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100, help="points changes a second")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ.update({"REDIS_URL": REDIS_URL, "JIFEN_REDIS_PREFIX": prefix})  # the server reads both
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {1})
    with database(args.database) as database_url, server(database_url, free_port()) as (url, pid):
        result = asyncio.run(run(args, database_url, url, pid, prefix))
    latencies = result["latencies"]
    if not latencies:
        print(f"no toasts arrived: {result['sent']} changes sent")
        return 1
    p50, p90, p99 = (latencies[int(len(latencies) * q) - 1] for q in (0.5, 0.9, 0.99))
    print(f"database={args.database} subscribers={args.subscribers} rate={args.rate}/s seconds={args.seconds}")
    print(f"changes={result['sent']} toasts={result['received']} p50={p50:.1f}ms p90={p90:.1f}ms p99={p99:.1f}ms "
          f"max={latencies[-1]:.1f}ms "
          f"server_cpu={result['cpu'] * 100:.0f}%")
    return 0 if result["received"] == result["sent"] else 1


if __name__ == "__main__":
    sys.exit(main())
