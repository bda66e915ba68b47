"""Importing a brand's members and opening balances, on both databases: `jifen import` over 10,000
generated rows (a report of the rejected ones, a second run that changes nothing, a run killed
mid-file that goes on after its last committed batch, `jifen check` OK at the end), and the imported
lots spent first-expiring-first and expired by the sweep as lots earned in Jifen."""
import asyncio
import csv
import json
import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from api.ops import import_files
from api.ops.services import Services
from domain.imports import ImportKind
from tests.conftest import SECRET, with_services
from tests.test_api_deductions import APPLY
from tests.test_cli import JIFEN

ROWS = 10_000
LEDGER = """{ me { tier { level } growth growthChanges(first: 3) { edges { node { delta reason } } }
  points { available lifetimeEarned expiringLots { points expiresAt } }
  ledger(first: 5) { edges { node { delta reason memo expiresAt } } } } }"""


def jifen(database_url: str, *args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([JIFEN, *args], capture_output=True, text=True, timeout=600, **kwargs,
                          env={**os.environ, "JIFEN_SECRET": SECRET, "DATABASE_URL": database_url})


def members_file(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["member_id", "nickname", "joined_at", "growth", "points", "points_expire_at"])
        for n in range(ROWS):
            writer.writerow([f"crm-{n}", f"会员{n}", "2023-05-01", n % 5000, n % 700 or "",
                             "2031-06-30" if n % 3 else ""])
        writer.writerow(["not an id!", "x", "", "", "", ""])  # line ROWS + 2
        writer.writerow(["crm-bad", "x", "", "-5", "", ""])  # line ROWS + 3
        writer.writerow(["crm-late", "x", "", "", "10", "2020-01-01"])  # already expired: line ROWS + 4
    return path


def balances_file(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as file:
        for n in range(ROWS):
            file.write(json.dumps({"member_id": f"crm-{n}", "points": 50 + n % 9, "expires_at": "2032-12-31",
                                   "memo": "旧系统年终积分"}) + "\n")
    return path


async def checkpoint(database_url: str, kind: ImportKind, path: Path) -> int:
    services = Services.build(database_url)
    try:
        return await services.imports.resume_point(kind, import_files.fingerprint(path))
    finally:
        await services.close()


def test_an_import_reports_its_rejects_changes_nothing_the_second_time_and_resumes_after_a_crash(database_url,
                                                                                                 tmp_path):
    members = members_file(tmp_path / "members.csv")
    first = jifen(database_url, "import", "members", str(members), "--batch", "700")
    assert first.returncode == 0, first.stderr
    assert f"members: {ROWS} imported, 0 already there, 3 rejected" in first.stdout
    assert "rows/s" in first.stderr  # the progress bar
    with (tmp_path / "members.csv.rejected.csv").open(encoding="utf-8") as report:
        rejected = list(csv.DictReader(report))
    assert [(int(r["line"]), r["reason"].split(" ")[0]) for r in rejected] == [
        (ROWS + 2, "member_id"), (ROWS + 3, "growth"), (ROWS + 4, "these")]
    again = jifen(database_url, "import", "members", str(members))
    assert "0 imported" in again.stdout and f"resumed after line {ROWS + 4}" in again.stdout
    copy = tmp_path / "copy.csv"  # the same rows in another file: every one is already there
    copy.write_bytes(members.read_bytes() + b"\n")
    assert f"0 imported, {ROWS} already there, 3 rejected" in jifen(database_url, "import", "members",
                                                                    str(copy)).stdout

    balances = balances_file(tmp_path / "balances.jsonl")
    process = subprocess.Popen([JIFEN, "import", "balances", str(balances), "--batch", "50", "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "JIFEN_SECRET": SECRET, "DATABASE_URL": database_url})
    deadline = time.monotonic() + 120
    while asyncio.run(checkpoint(database_url, ImportKind.BALANCES, balances)) < 500:
        assert process.poll() is None and time.monotonic() < deadline, "the import ended before it was killed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    reached = asyncio.run(checkpoint(database_url, ImportKind.BALANCES, balances))
    assert 500 <= reached < ROWS
    resumed = jifen(database_url, "import", "balances", str(balances), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed after line {reached}" in resumed.stdout
    assert f"{ROWS - reached} imported, 0 already there, 0 rejected" in resumed.stdout
    assert "0 imported" in jifen(database_url, "import", "balances", str(balances), "--quiet").stdout

    checked = jifen(database_url, "check")
    assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout + checked.stderr
    assert asyncio.run(opening_entries(database_url)) == (ROWS - ROWS // 700 - 1 + ROWS, ROWS)


async def opening_entries(database_url: str) -> tuple[int, int]:
    """(OPENING entries, members) in the database."""
    from sqlalchemy import func, select

    from persistence.tables import ledger_entries, members
    services = Services.build(database_url)
    try:
        async def count(uow):
            entries = await uow.connection.scalar(select(func.count()).select_from(ledger_entries).where(
                ledger_entries.c.reason == "OPENING"))
            return entries, await uow.connection.scalar(select(func.count()).select_from(members))
        return await services.transactions.read(count)
    finally:
        await services.close()


def test_imported_lots_are_spent_first_expiring_first_and_expire_as_any_lot(live_server):
    now = live_server.clock.now()
    soon, later = now + timedelta(days=10), now + timedelta(days=400)
    rows = [(2, {"member_id": "moved-in", "nickname": "老会员", "growth": "1500", "points": "300",
                 "points_expire_at": soon.isoformat()})]
    balance = [(1, {"member_id": "moved-in", "points": 500, "expires_at": later.date().isoformat()}),
               (2, {"member_id": "moved-in", "points": 500, "expires_at": later.date().isoformat()})]

    async def load(services):
        members = await services.imports.run(ImportKind.MEMBERS, "m" * 64, iter(rows))
        balances = await services.imports.run(ImportKind.BALANCES, "b" * 64, iter(balance))
        return members, balances

    members, balances = asyncio.run(with_services(live_server, load))
    assert (members.imported, balances.imported, balances.already_there) == (1, 1, 1)  # one lot a date
    member = live_server.member("moved-in")
    seen = member.data(LEDGER)["me"]
    assert seen["growth"] == 1500 and seen["tier"]["level"] > 1
    assert [e["node"] for e in seen["growthChanges"]["edges"]] == [{"delta": 1500, "reason": "OPENING"}]
    assert seen["points"]["available"] == 800 and seen["points"]["lifetimeEarned"] == 800
    assert [lot["points"] for lot in seen["points"]["expiringLots"]] == [300, 500]
    assert {(e["node"]["reason"], e["node"]["delta"]) for e in seen["ledger"]["edges"]} == {
        ("OPENING", 300), ("OPENING", 500)}

    spent = member.data(APPLY, {"order": "O-1", "amount": 100_000, "points": 200, "key": "d"})["applyDeduction"]
    assert spent["userErrors"] == []
    assert [lot["points"] for lot in member.data(LEDGER)["me"]["points"]["expiringLots"]] == [100, 500]
    live_server.clock.advance(timedelta(days=11))
    asyncio.run(with_services(live_server, lambda s: s.expiry.run()))
    after = member.data(LEDGER)["me"]
    assert after["points"]["available"] == 500
    assert after["ledger"]["edges"][0]["node"]["reason"] == "EXPIRY" and after["ledger"]["edges"][0]["node"][
        "delta"] == -100
    report = asyncio.run(with_services(live_server, lambda s: s.reconciliation.run()))
    assert report.ok, report
    today = live_server.clock.now().date()
    earned = live_server.staff().data('query($from: Date!, $to: Date!) { analytics(from: $from, to: $to) { earned '
                                      'days { byReason { reason credited } } } }',
                                      {"from": str(today - timedelta(days=12)), "to": str(today)})["analytics"]
    assert earned["earned"] == 0  # carried over, not issued in Jifen
    assert {"reason": "OPENING", "credited": 800} in [r for d in earned["days"] for r in d["byReason"]]


IMPORT_MEMBERS = """mutation($rows: [ImportMemberRow!]!) { importMembers(input: {rows: $rows}) {
  imported alreadyThere rejected { row reason } userErrors { field code } } }"""
IMPORT_BALANCES = """mutation($rows: [ImportBalanceRow!]!) { importBalances(input: {rows: $rows}) {
  imported alreadyThere rejected { row reason } userErrors { field code } } }"""


def test_staff_and_integrations_import_small_batches_by_the_same_rules(live_server):
    from api.http.auth import issue_token
    from tests.conftest import GraphQLClient

    def integration(scopes):
        return GraphQLClient(live_server.base_url, issue_token(SECRET, "crm", role="integration", scopes=scopes))

    staff, crm = live_server.staff(), integration("import")
    rows = [{"memberId": "gq-1", "nickname": "甲", "points": 120, "pointsExpireAt": "2031-01-01T00:00:00+08:00"},
            {"memberId": "bad id"}, {"memberId": "gq-2", "growth": 10}]
    first = staff.data(IMPORT_MEMBERS, {"rows": rows})["importMembers"]
    assert (first["imported"], first["alreadyThere"], [r["row"] for r in first["rejected"]]) == (2, 0, [2])
    again = crm.data(IMPORT_MEMBERS, {"rows": rows})["importMembers"]
    assert (again["imported"], again["alreadyThere"]) == (0, 2)
    lots = crm.data(IMPORT_BALANCES, {"rows": [{"memberId": "gq-2", "points": 30, "memo": "旧卡余额"},
                                               {"memberId": "gq-3", "points": 5},
                                               {"memberId": "gq-2", "points": 0}]})["importBalances"]
    assert lots["imported"] == 1 and sorted(r["row"] for r in lots["rejected"]) == [2, 3]
    assert live_server.member("gq-2").data("{ me { points { available } } }")["me"]["points"]["available"] == 30
    full = crm.data(IMPORT_MEMBERS, {"rows": [{"memberId": f"x{n}", "nickname": f"会员{n}", "growth": n,
                                              "points": n + 1, "pointsExpireAt": "2031-12-31T23:59:59+08:00"}
                                             for n in range(1000)]})["importMembers"]
    assert (full["imported"], full["rejected"]) == (1000, [])
    too_many = staff.execute(IMPORT_MEMBERS, {"rows": [{"memberId": f"x{n}"} for n in range(1001)]})
    assert too_many["errors"][0]["extensions"] == {"code": "INPUT_TOO_LARGE", "limit": 1000}
    none = staff.data(IMPORT_MEMBERS, {"rows": []})["importMembers"]
    assert none["userErrors"] == [{"field": ["rows"], "code": "INVALID_INPUT"}]
    assert live_server.member("m").execute(IMPORT_MEMBERS, {"rows": [{"memberId": f"y{n}"} for n in range(101)]})[
        "errors"][0]["extensions"]["code"] == "INPUT_TOO_LARGE"  # others keep the limit of 100
    for refused in (integration("ledger:read"), live_server.member("gq-1"), live_server.store("S1")):
        assert refused.execute(IMPORT_MEMBERS, {"rows": rows})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert asyncio.run(with_services(live_server, lambda s: s.reconciliation.run())).ok


def test_order_history_and_events_import_once_by_their_ids(live_server, tmp_path):
    from api.http.auth import issue_token
    from tests.conftest import GraphQLClient
    from tests.test_api_events import RULE, event
    from tests.test_api_ledger import member_gid
    from tests.test_api_till import FIGURES

    staff, now = live_server.staff(), live_server.clock.now()
    assert staff.data(RULE, {"type": "store_visit", "name": "到店打卡", "points": 5, "cap": 10})["saveEventRule"][
        "userErrors"] == []
    placed = (now - timedelta(days=10)).isoformat()
    orders = [(1, {"order_id": "OLD-1", "member_id": "hist", "amount_fen": "12800", "placed_at": placed}),
              (2, {"order_id": "OLD-2", "member_id": "hist", "amount_fen": 5000, "placed_at": placed,
                   "channel": "offline_store", "store_id": "S5"}),
              (3, {"order_id": "OLD-3", "member_id": "hist", "amount_fen": 900, "placed_at": placed,
                   "refunded_fen": 900, "channel": "OFFLINE_STORE", "store_id": "S5"}),
              (4, {"order_id": "OLD-1", "member_id": "hist", "amount_fen": 1, "placed_at": placed}),
              (5, {"order_id": "OLD-4", "member_id": "nobody", "amount_fen": 1, "placed_at": placed}),
              (6, {"order_id": "OLD-5", "member_id": "hist", "amount_fen": 1,
                   "placed_at": (now + timedelta(days=1)).isoformat()}),
              (7, {"order_id": "OLD-6", "member_id": "hist", "amount_fen": 1, "placed_at": placed,
                   "channel": "OFFLINE_STORE"})]
    events = [(1, {"event_id": "v-1", "member_id": "hist", "event_type": "store_visit",
                   "attributes": '{"store": "S5"}'}),
              (2, {"event_id": "v-1", "member_id": "hist", "event_type": "store_visit"}),
              (3, {"event_id": "v-2", "member_id": "hist", "event_type": "no_such_rule"}),
              (4, {"event_id": "v-3", "member_id": "hist", "event_type": "store_visit", "attributes": "[1]"})]

    async def load(services):
        await services.imports.run(ImportKind.MEMBERS, "m" * 64, iter([(2, {"member_id": "hist"})]))
        return (await services.imports.run(ImportKind.ORDERS, "o" * 64, iter(orders)),
                await services.imports.run(ImportKind.EVENTS, "e" * 64, iter(events), batch=2))

    ordered, evented = asyncio.run(with_services(live_server, load))
    assert (ordered.imported, ordered.already_there) == (3, 1)
    assert [r.line for r in ordered.rejected] == [5, 6, 7]
    assert (evented.imported, evented.already_there, [r.line for r in evented.rejected]) == (1, 1, [3, 4])
    member = live_server.member("hist")
    shown = member.data("{ me { points { available } orders(first: 5) { edges { node { orderId status points "
                        "storeId } } } } }")["me"]
    assert shown["points"]["available"] == 5  # the visit's rule paid; history earns nothing
    assert sorted((o["node"]["orderId"], o["node"]["status"], o["node"]["points"]) for o in shown["orders"]["edges"]) \
        == [("OLD-1", "RELEASED", 0), ("OLD-2", "RELEASED", 0), ("OLD-3", "REFUNDED", 0)]
    day = (now - timedelta(days=10)).date()
    assert staff.data(FIGURES, {"from": str(day), "to": str(day), "store": "S5"})["storeFigures"] == [
        {"storeId": "S5", "orders": 1, "pointsEarned": 0, "deductions": 0, "pointsBurned": 0, "couponsRedeemed": 0,
         "couponValueFen": 0}]
    assert event(staff, member_gid("hist"), "store_visit", "v-1")["userErrors"] == [{"field": ["eventId"],
                                                                                       "code": "DUPLICATE_EVENT"}]
    crm = GraphQLClient(live_server.base_url, issue_token(SECRET, "crm", role="integration", scopes="import"))
    more = crm.data("""mutation($orders: [ImportOrderRow!]!, $events: [ImportEventRow!]!) {
      importOrders(input: {rows: $orders}) { imported alreadyThere rejected { row reason } }
      importEvents(input: {rows: $events}) { imported alreadyThere rejected { row reason } } }""", {
        "orders": [{"orderId": "OLD-1", "memberId": "hist", "amountFen": 1, "placedAt": placed},
                   {"orderId": "OLD-7", "memberId": "hist", "amountFen": 700, "placedAt": placed,
                    "channel": "OFFLINE_STORE", "storeId": "S5"}],
        "events": [{"eventId": "v-1", "memberId": "hist", "eventType": "store_visit"},
                   {"eventId": "v-9", "memberId": "hist", "eventType": "store_visit", "attributes": '{"a": "b"}'}]})
    assert (more["importOrders"]["imported"], more["importOrders"]["alreadyThere"]) == (1, 1)
    assert (more["importEvents"]["imported"], more["importEvents"]["alreadyThere"]) == (1, 1)
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 10
    assert asyncio.run(with_services(live_server, lambda s: s.reconciliation.run())).ok
