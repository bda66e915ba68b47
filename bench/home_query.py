"""The home-page query against the in-memory baselines, one server after the other, same load and pinning.

The servers run on CPU 0 (uvicorn, no access log) and take turns under `wrk -t1 -c16` on CPU 1,
round after round (Jifen between the two baselines, which swap places each round), so that a slow
stretch of this shared machine falls on all of them; only the one under load works. The baselines (`../shared/baselines`) answer their home query from memory
with no auth; Jifen answers `me` with tier, points and 10 ledger entries through token auth and
the real database. Ratios are Jifen's requests/s over each baseline's in the same round, and
their median. Also: check-in mutations/s, a round after each round of pages, each round by members
who have not checked in that day (a replay or a second check-in is cheaper than a check-in).

    python bench/home_query.py --database sqlite
    python bench/home_query.py --database postgresql --rounds 7
    python bench/home_query.py --database postgresql --workers 2   # with Redis at 127.0.0.1:6379 (REDIS_URL)
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flash_sale import JIFEN, SECRET, database, free_port, running, server_env  # noqa: E402

from api.http.auth import issue_token  # noqa: E402
from api.ops.services import Services  # noqa: E402
from domain.configuration import Actor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HOME = ("query Home { me { nickname tier { level name } points { available } "
        "ledger(first: 10) { edges { node { id delta reason } } } } }")
# Another page, of the same size with what a real one asks besides: a date-time, a Long, a memo.
HOME_FULL = ("query HomeFull { me { nickname growth tier { level name } points { available } "
             "ledger(first: 10) { edges { node { id delta reason memo occurredAt } } } } }")
CHECK_IN = ("mutation CheckIn($key: String!) { checkIn(input: {idempotencyKey: $key}) { entry { delta } "
            "userErrors { code } } }")


def wrk(url: str, script: Path, seconds: int) -> float:
    result = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{seconds}s", "-s", str(script), url],
                            capture_output=True, text=True, check=True)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed requests:\n{result.stdout}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def lua(body: str, tokens: list[str]) -> str:
    table = ",".join(f'"{t}"' for t in tokens)
    return f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tokens = {{{table}}}
local i = 0
request = function()
  i = i + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1]
  return wrk.format(nil, nil, nil, '{body}')
end
"""


async def prepare(database_url: str, members: int) -> None:
    """A home-page owner with 20 entries, and members enough for a check-in run."""
    services = Services.build(database_url)
    try:
        owner = await services.members.ensure("home-owner", "首页")
        for i in range(20):
            await services.points.adjust(Actor("staff", "bench"), owner.id, 10, "bench", f"seed-{i}")
        for i in range(members):
            await services.members.ensure(f"checker-{i}", f"签到{i}")
    finally:
        await services.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5, help="each server measured this many times, in turn")
    parser.add_argument("--baselines", type=Path, default=ROOT.parent / "shared" / "baselines")
    parser.add_argument("--no-pages", dest="pages", action="store_false", help="check-ins only")
    parser.add_argument("--no-check-ins", dest="check_ins", action="store_false", help="pages only")
    parser.add_argument("--workers", type=int, default=1, help="jifen serve --workers (PostgreSQL, with Redis)")
    parser.add_argument("--no-redis", action="store_true", help="PostgreSQL without Redis")
    parser.add_argument("--profile", help="write the Jifen server's py-spy profile (collapsed stacks) here")
    args = parser.parse_args()
    uvicorn = [sys.executable, "-m", "uvicorn", "--no-access-log", "--log-level", "warning"]
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as servers:
        scratch = Path(scratch)
        targets = {}
        for name in ("inmemory_strawberry", "inmemory_graphql_core"):
            port = free_port()
            url, _ = servers.enter_context(running([*uvicorn, f"{name}:app", "--port", str(port)], port,
                                                   cwd=args.baselines))
            targets[name] = (url, args.baselines / "home_query.lua")
        database_url = servers.enter_context(database(args.database))
        env = server_env(database_url, redis=args.database == "postgresql" and not args.no_redis)
        subprocess.run([JIFEN, "migrate"], env={**os.environ, **env}, check=True, capture_output=True)
        # Enough members that none checks in twice within a round (a replay is cheaper than a check-in).
        checkers = max(3000, 1500 * args.seconds)
        asyncio.run(prepare(database_url, checkers * args.rounds))
        home, home_full = scratch / "home.lua", scratch / "home_full.lua"
        home.write_text(lua('{"query": "%s"}' % HOME, [issue_token(SECRET, "home-owner")]))
        home_full.write_text(lua('{"query": "%s"}' % HOME_FULL, [issue_token(SECRET, "home-owner")]))
        check_ins = [scratch / f"check_in_{turn}.lua" for turn in range(args.rounds)]
        for turn, script in enumerate(check_ins):
            script.write_text(lua('{"query": "%s", "variables": {"key": "bench"}}' % CHECK_IN,
                                  [issue_token(SECRET, f"checker-{i}")
                                   for i in range(turn * checkers, (turn + 1) * checkers)]))
        port = free_port()
        spy = ["py-spy", "record", "-f", "raw", "-o", args.profile, "--"] if args.profile else []
        jifen_url, _ = servers.enter_context(running([*spy, JIFEN, "serve", "--port", str(port), "--no-access-log",
                                                      "--workers", str(args.workers)],
                                                     port, env=env))
        targets["jifen_home"] = (jifen_url, home)
        targets["jifen_home_full"] = (jifen_url, home_full)
        # All servers stay up (idle ones cost nothing) and take turns, so a slow stretch of the machine
        # falls on all of them rather than on one: Jifen runs between the baselines, which swap places
        # each round, so it is measured right after each baseline as often as right before it.
        order = ["inmemory_strawberry", "jifen_home", "jifen_home_full", "inmemory_graphql_core"]
        rounds = {name: [] for name in order}
        check_in_rates = []
        for turn in range(args.rounds):
            if args.pages:
                for name in order if turn % 2 == 0 else order[::-1]:
                    url, script = targets[name]
                    rounds[name].append(wrk(url, script, args.seconds))
            if args.check_ins:
                check_in_rates.append(wrk(jifen_url, check_ins[turn], args.seconds))
    report(args, rounds, check_in_rates)
    return 0


def report(args, rounds: dict[str, list[float]], check_ins: list[float]) -> None:
    redis = args.database == "postgresql" and not args.no_redis
    print(f"database={args.database} redis={'yes' if redis else 'no'} workers={args.workers} "
          f"wrk -t1 -c16 -d{args.seconds}s x {args.rounds} rounds in turn, "
          "servers on CPU 0, wrk on CPU 1")
    for name, rates in (*rounds.items(), ("jifen_check_in", check_ins)):
        if rates:
            print(f"{name:24} median {statistics.median(rates):8.0f} req/s   rounds: "
                  + " ".join(f"{rate:.0f}" for rate in rates))
    if check_ins and rounds["inmemory_strawberry"]:
        per_round = [ours / theirs for ours, theirs in zip(check_ins, rounds["inmemory_strawberry"])]
        print(f"{'check-in':15} ratio vs {'inmemory_strawberry':22} median of rounds "
              f"{statistics.median(per_round):.3f}   rounds: " + " ".join(f"{ratio:.3f}" for ratio in per_round))
    if not args.pages:
        return
    for page in ("jifen_home", "jifen_home_full"):
        for baseline in ("inmemory_strawberry", "inmemory_graphql_core"):
            per_round = [ours / theirs for ours, theirs in zip(rounds[page], rounds[baseline])]
            print(f"{page:15} ratio vs {baseline:22} median of rounds {statistics.median(per_round):.3f}   "
                  "rounds: " + " ".join(f"{ratio:.3f}" for ratio in per_round))


if __name__ == "__main__":
    sys.exit(main())
