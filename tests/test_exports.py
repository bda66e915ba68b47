"""`jifen export` on both databases: the ledger, members and redemptions as CSV or JSON Lines, in the
order written, from a date on, every row the API shows and nothing else."""
import csv
import json
import os
import subprocess
from datetime import timedelta

from tests.conftest import SECRET
from tests.test_api_mall import create, funded, redeem
from tests.test_cli import JIFEN


def export(live_server, *args) -> subprocess.CompletedProcess:
    done = subprocess.run([JIFEN, "export", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "JIFEN_SECRET": SECRET, "DATABASE_URL": live_server.database_url})
    assert done.returncode == 0, done.stderr
    return done


def test_the_ledger_members_and_redemptions_export_as_the_api_shows_them(live_server, tmp_path):
    staff = live_server.staff()
    alice, bob = funded(live_server, "ex-alice", 500), funded(live_server, "ex-bob", 300)
    item = create(staff, "帆布袋", 120, 5)
    assert redeem(alice, item, "r1")["userErrors"] == []

    ledger = tmp_path / "ledger.csv"
    said = export(live_server, "ledger", "-o", str(ledger))
    assert "3 rows exported" in said.stdout and "rows/s" in said.stderr
    with ledger.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(r["member_id"], int(r["delta"]), int(r["balance_after"]), r["reason"]) for r in rows] == [
        ("ex-alice", 500, 500, "ADJUSTMENT"), ("ex-bob", 300, 300, "ADJUSTMENT"), ("ex-alice", -120, 380, "REDEMPTION")]
    shown = alice.data("{ me { ledger(first: 5) { edges { node { delta memo occurredAt } } } } }")["me"]["ledger"]
    assert rows[2]["memo"] == shown["edges"][0]["node"]["memo"]

    members = export(live_server, "members", "--format", "jsonl", "--quiet").stdout.splitlines()
    assert [json.loads(line)["member_id"] for line in members] == ["ex-alice", "ex-bob"]
    assert json.loads(members[0])["balance"] == 380 and json.loads(members[1])["lifetime_earned"] == 300
    redemptions = [json.loads(line) for line in export(live_server, "redemptions", "--format", "jsonl").stdout.splitlines()]
    assert [(r["member_id"], r["item_name"], r["points"], r["status"]) for r in redemptions] == [
        ("ex-alice", "帆布袋", 120, "CREATED")]

    tomorrow = (live_server.clock.now() + timedelta(days=1)).date().isoformat()
    assert export(live_server, "ledger", "--since", tomorrow, "--quiet").stdout == (
        "entry_id,member_id,delta,balance_after,reason,occurred_at,expires_at,memo,ref\n")  # text mode
    bad = subprocess.run([JIFEN, "export", "ledger", "--since", "yesterday"], capture_output=True, text=True,
                         env={**os.environ, "JIFEN_SECRET": SECRET, "DATABASE_URL": live_server.database_url})
    assert bad.returncode != 0 and "--since" in bad.stderr
    assert bob


def test_integrations_with_the_export_scope_stream_exports_over_http(live_server):
    import httpx

    from api.http.auth import issue_token

    funded(live_server, "http-a", 70)
    funded(live_server, "http-b", 80)

    def get(path, token=None, **params):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{live_server.base_url}{path}", params=params, headers=headers, timeout=30)

    crm = issue_token(SECRET, "crm", role="integration", scopes="export")
    ledger = get("/export/ledger", crm, format="jsonl")
    assert ledger.status_code == 200 and ledger.headers["content-type"].startswith("application/x-ndjson")
    assert [(json.loads(line)["member_id"], json.loads(line)["delta"]) for line in ledger.text.splitlines()] == [
        ("http-a", 70), ("http-b", 80)]
    members = get("/export/members", live_server.staff().token)
    assert members.status_code == 200 and members.text.splitlines()[0].startswith("member_id,nickname,joined_at")
    assert len(members.text.splitlines()) == 3
    tomorrow = (live_server.clock.now() + timedelta(days=1)).date().isoformat()
    assert get("/export/ledger", crm, since=tomorrow).text.splitlines() == [
        "entry_id,member_id,delta,balance_after,reason,occurred_at,expires_at,memo,ref"]

    refusals = {
        "no token": get("/export/ledger"),
        "a member": get("/export/ledger", live_server.member("http-a").token),
        "another scope": get("/export/ledger", issue_token(SECRET, "crm", role="integration", scopes="ledger:read")),
        "a store": get("/export/ledger", live_server.store("S1").token),
        "no such export": get("/export/secrets", crm),
        "a bad date": get("/export/ledger", crm, since="last week"),
        "a bad format": get("/export/ledger", crm, format="xml"),
    }
    assert {name: (r.status_code, r.json()["errors"][0]["extensions"]["code"]) for name, r in refusals.items()} == {
        "no token": (401, "UNAUTHENTICATED"), "a member": (403, "FORBIDDEN"), "another scope": (403, "FORBIDDEN"),
        "a store": (403, "FORBIDDEN"), "no such export": (404, "NOT_FOUND"), "a bad date": (400, "BAD_USER_INPUT"),
        "a bad format": (400, "BAD_USER_INPUT")}
