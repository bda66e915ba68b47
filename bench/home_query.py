"""The home-page query against the in-memory baselines, one server after the other, same load and pinning.

Each server runs alone on CPU 0 (uvicorn, no access log); `wrk -t1 -c16` runs on CPU 1. The
baselines (`../shared/baselines`) answer their home query from memory with no auth; Jifen answers
`me` with tier, points and 10 ledger entries through token auth and the real database. Ratios are
Jifen's requests/s over each baseline's, measured in the same run. Also: check-in mutations/s.

    python bench/home_query.py --database sqlite
    python bench/home_query.py --database postgresql
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flash_sale import JIFEN, SECRET, database, free_port, running  # noqa: E402

from api.auth import issue_token  # noqa: E402
from api.services import Services  # noqa: E402
from domain.configuration import Actor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HOME = ("query Home { me { nickname tier { level name } points { available } "
        "ledger(first: 10) { edges { node { id delta reason } } } } }")
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
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--baselines", type=Path, default=ROOT.parent / "shared" / "baselines")
    args = parser.parse_args()
    uvicorn = [sys.executable, "-m", "uvicorn", "--no-access-log", "--log-level", "warning"]
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for name in ("inmemory_strawberry", "inmemory_graphql_core"):
            port = free_port()
            with running([*uvicorn, f"{name}:app", "--port", str(port)], port, cwd=args.baselines) as (url, _):
                results[name] = wrk(url, args.baselines / "home_query.lua", args.seconds)
        with database(args.database) as database_url:
            env = {"DATABASE_URL": database_url, "JIFEN_SECRET": SECRET, "JIFEN_SWEEP_SECONDS": "0",
                   "JIFEN_COST_BUDGET": "100000000"}
            subprocess.run([JIFEN, "migrate"], env={**os.environ, **env}, check=True, capture_output=True)
            asyncio.run(prepare(database_url, 3000))
            home = scratch / "home.lua"
            home.write_text(lua('{"query": "%s"}' % HOME, [issue_token(SECRET, "home-owner")]))
            check_in = scratch / "check_in.lua"
            check_in.write_text(lua('{"query": "%s", "variables": {"key": "bench"}}' % CHECK_IN,
                                    [issue_token(SECRET, f"checker-{i}") for i in range(3000)]))
            port = free_port()
            with running([JIFEN, "serve", "--port", str(port), "--no-access-log"], port, env=env) as (url, _):
                results["jifen_home"] = wrk(url, home, args.seconds)
                results["jifen_check_in"] = wrk(url, check_in, args.seconds)
    print(f"database={args.database} wrk -t1 -c16 -d{args.seconds}s, server on CPU 0, wrk on CPU 1")
    for name, rate in results.items():
        print(f"{name:24} {rate:8.0f} req/s")
    print(f"home ratio vs inmemory_strawberry   {results['jifen_home'] / results['inmemory_strawberry']:.3f}")
    print(f"home ratio vs inmemory_graphql_core {results['jifen_home'] / results['inmemory_graphql_core']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
