"""`jifen import` at a brand's size: N member rows with balances (a CSV as a CRM exports it: member
id, nickname, joining date, growth, points and their expiry), imported into a new database, then a
second run of the same file (nothing to do), then `jifen check` over the result. Prints each step's
seconds and rows a second; the issue's target is 1,000,000 rows on SQLite in under 5 minutes.

    python bench/imports.py --database sqlite --rows 1000000
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flash_sale import database  # noqa: E402

JIFEN = str(Path(sys.executable).with_name("jifen"))


def write_members(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["member_id", "nickname", "joined_at", "growth", "points", "points_expire_at"])
        for n in range(rows):
            writer.writerow([f"crm-{n:08d}", f"会员{n % 100000}", f"20{18 + n % 8}-0{1 + n % 9}-1{n % 10}",
                             (n * 7919) % 30000, (n * 104729) % 5000 or "", f"2027-{1 + n % 12:02d}-28"])


def timed(args: list[str], env: dict) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run([JIFEN, *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    return time.monotonic() - started, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, database(args.database) as url:
        path = Path(directory) / "members.csv"
        started = time.monotonic()
        write_members(path, args.rows)
        print(f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - started:.1f} s")
        env = {**os.environ, "DATABASE_URL": url, "JIFEN_SECRET": "bench-" + "x" * 40}
        subprocess.run([JIFEN, "migrate"], check=True, capture_output=True, env=env)
        for step, command in (("import", ["import", "members", str(path), "--quiet", "--batch", str(args.batch)]),
                              ("again", ["import", "members", str(path), "--quiet"]),
                              ("check", ["check"])):
            seconds, said = timed(command, env)
            print(f"{step:7} {seconds:7.1f} s  {args.rows / seconds:10,.0f} rows/s  {said.splitlines()[-1]}")


if __name__ == "__main__":
    main()
