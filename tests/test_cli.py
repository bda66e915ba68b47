"""The `jifen` command as a user runs it: real processes, real databases."""
import hashlib
import hmac
import json
import re
import os
import socket
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from tests.conftest import SECRET
from tests.documents import CHECK_IN

JIFEN = str(Path(sys.executable).with_name("jifen"))


def jifen(*args, env=None, **kwargs):
    return subprocess.run([JIFEN, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "JIFEN_SECRET": SECRET, **(env or {})}, **kwargs)


def test_member_and_staff_tokens():
    member = jifen("token", "member", "u-42", "--nickname", "小明")
    claims = jwt.decode(member.stdout.strip(), SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"], claims["nickname"]) == ("u-42", "member", "小明")
    staff = jifen("token", "staff", "ops-li")
    assert jwt.decode(staff.stdout.strip(), SECRET, algorithms=["HS256"])["role"] == "staff"
    assert jifen("token", "member", "not valid!").returncode != 0
    signals = jifen("token", "member", "u-43", "--device", "iphone-1", "--phone-hash", "b" * 32)
    claims = jwt.decode(signals.stdout.strip(), SECRET, algorithms=["HS256"])
    assert (claims["did"], claims["phn"]) == ("iphone-1", "b" * 32)
    bad = jifen("token", "member", "u-44", "--device", "has spaces")
    assert bad.returncode != 0 and "deviceId" in bad.stderr


def test_store_and_integration_tokens():
    store = jwt.decode(jifen("token", "store", "SH-001").stdout.strip(), SECRET, algorithms=["HS256"])
    assert (store["sub"], store["role"]) == ("SH-001", "store")
    assert jifen("token", "store", "not a store").returncode != 0
    crm = jifen("token", "integration", "crm", "--scopes", "ledger:read")
    claims = jwt.decode(crm.stdout.strip(), SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"], claims["scp"]) == ("crm", "integration", "ledger:read")
    for scopes in (("--scopes", "ledger:write"), ()):
        refused = jifen("token", "integration", "crm", *scopes)
        assert refused.returncode != 0 and "--scopes" in refused.stderr


def test_prod_refuses_a_missing_or_short_secret(tmp_path):
    for secret in ("", "short"):
        result = jifen("migrate", env={"JIFEN_ENV": "prod", "JIFEN_SECRET": secret,
                                       "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
        assert result.returncode != 0 and "JIFEN_SECRET" in result.stderr


def test_dev_without_a_secret_warns_loudly(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    env.pop("JIFEN_SECRET", None)
    result = subprocess.run([JIFEN, "migrate"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and "JIFEN_SECRET is not set" in result.stderr


def test_migrate_expire_and_check_on_each_database(database_url):
    env = {"DATABASE_URL": database_url}
    assert jifen("migrate", env=env).returncode == 0
    expire = jifen("expire", env=env)
    assert expire.returncode == 0 and "expired 0 points" in expire.stdout
    check = jifen("check", env=env)
    assert check.returncode == 0 and "OK" in check.stdout
    again = jifen("check", "--since-last", env=env)
    assert again.returncode == 0 and "with entries after #0" in again.stdout and "OK" in again.stdout


def test_long_runs_report_how_far_they_got_on_stderr(database_url):
    """Members who checked in two years ago: their points are due to expire, their segments to refresh."""
    import asyncio
    from datetime import UTC, datetime

    from api.ops.services import Services
    from domain.clock import ManualClock
    from domain.configuration import Actor

    async def seed():
        services = Services.build(database_url, ManualClock(datetime(2024, 11, 1, tzinfo=UTC)))
        try:
            for n in range(3):
                member = await services.members.ensure(f"old{n}")
                await services.check_in.check_in(Actor("member", f"old{n}"), member.id, f"k{n}")
        finally:
            await services.close()

    asyncio.run(seed())
    env = {"DATABASE_URL": database_url, "JIFEN_PROGRESS_SECONDS": "0"}  # a line after every batch
    segments = jifen("segments", env=env)
    assert segments.returncode == 0 and re.search(r"^segmented 3 members \(\d+/s\)$", segments.stderr, re.M)
    check = jifen("check", env=env)
    assert check.returncode == 0 and re.search(r"^checked 3(/3)? members \(", check.stderr, re.M)
    expire = jifen("expire", env=env)
    assert expire.returncode == 0 and "expired 30 points" in expire.stdout
    assert re.search(r"^settled 3 members visited \(", expire.stderr, re.M), expire.stderr


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_env():
    """A newcomer's environment: no secret, no database configured (the demo's SQLite file in the cwd)."""
    return {k: v for k, v in os.environ.items() if k not in ("JIFEN_SECRET", "DATABASE_URL")}


def start_demo(workdir, port):
    process = subprocess.Popen([JIFEN, "serve", "--demo", "--port", str(port)], cwd=workdir,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=start_env())
    tokens, lines = {}, []
    deadline = time.monotonic() + 60
    while len(tokens) < 4 and time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if line.startswith(("member token", "staff token", "key_id:", "secret:")):
            tokens[line.split()[0].rstrip(":")] = line.rsplit(" ", 1)[1].strip()
    assert len(tokens) == 4, "".join(lines)
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process, tokens, lines
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not answer")


def stop(process):
    process.terminate()
    process.wait(timeout=20)


DRAW = """mutation($id: ID!) { drawLottery(input: {lotteryId: $id, idempotencyKey: "demo-draw"}) {
  draw { prize { name } } userErrors { code } } }"""


def test_serve_demo_from_an_empty_directory(tmp_path):
    """The README's first command: a new user checks in with the printed token."""
    port = free_port()
    process, tokens, lines = start_demo(tmp_path, port)
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        headers = {"Authorization": f"Bearer {tokens['member']}"}
        result = httpx.post(url, json={"query": CHECK_IN, "variables": {"key": "readme-1"}}, headers=headers).json()
        payload = result["data"]["checkIn"]
        assert payload["userErrors"] == [] and payload["entry"]["reason"] == "CHECK_IN"
        assert payload["member"]["checkIn"]["streak"] == 9  # the demo member checked in the 8 days before
        staff = httpx.post(url, json={"query": "{ member(id: \"TWVtYmVyOmRlbW8tY2Fyb2w=\") { nickname tier { code } } }"},
                           headers={"Authorization": f"Bearer {tokens['staff']}"}).json()
        assert staff["data"]["member"] == {"nickname": "Carol", "tier": {"code": "V2"}}
        assert "graphiql" in httpx.get(url, headers={"Accept": "text/html"}).text.lower()
        lottery = httpx.post(url, json={"query": "{ lotteries { id entryCost } }"}).json()["data"]["lotteries"][0]
        drawn = httpx.post(url, headers=headers, json={"query": DRAW, "variables": {"id": lottery["id"]}}).json()
        assert drawn["data"]["drawLottery"]["userErrors"] == [] and lottery["entryCost"] == 20
        out = {"query": "mutation { exchangePoints(input: {partnerCode: \"skyway\", direction: OUT, points: 100, "
                        "idempotencyKey: \"demo-x\"}) { exchange { id } userErrors { code } } }"}
        made = httpx.post(url, headers=headers, json=out).json()["data"]["exchangePoints"]["exchange"]["id"]
        body = json.dumps({"query": "{ partnerExchanges(first: 5) { edges { node { id points } } } }"}).encode()
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
        signature = hmac.new(tokens["secret"].encode(), f"{timestamp}.{nonce}.".encode() + body,
                             hashlib.sha256).hexdigest()
        seen = httpx.post(url, content=body, headers={
            "Content-Type": "application/json", "X-Partner-Key": tokens["key_id"], "X-Timestamp": timestamp,
            "X-Nonce": nonce, "X-Signature": signature}).json()
        assert seen["data"]["partnerExchanges"]["edges"] == [{"node": {"id": made, "points": 100}}]
        follow = """mutation($ticket: String, $key: String!) { completeTask(input: {taskCode: "follow-account",
            idempotencyKey: $key, ticket: $ticket}) { entry { delta } userErrors { code } } }"""
        on_word = httpx.post(url, headers=headers, json={"query": follow, "variables": {"key": "f1"}}).json()
        assert on_word["data"]["completeTask"]["userErrors"] == [{"code": "TASK_NEEDS_TICKET"}]
        signed = subprocess.run([JIFEN, "task-ticket", "demo-alice", "follow-account"], cwd=tmp_path, text=True,
                                capture_output=True, timeout=60, env=start_env())
        assert signed.returncode == 0, signed.stderr
        with_ticket = httpx.post(url, headers=headers, json={"query": follow, "variables": {
            "key": "f2", "ticket": signed.stdout.strip()}}).json()["data"]["completeTask"]
        assert with_ticket == {"entry": {"delta": 20}, "userErrors": []}
    finally:
        stop(process)
    assert (tmp_path / "jifen.db").exists()
    process, _, lines = start_demo(tmp_path, port)  # a second start keeps the data and does not seed again
    stop(process)
    assert any("already present" in line for line in lines)


def test_partner_keys_from_the_command_line(database_url):
    env = {"DATABASE_URL": database_url}
    assert jifen("migrate", env=env).returncode == 0
    created = jifen("partner", "create", "skyway", "--name", "云途航空", "--rate", "10:1", env=env)
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == ["key_id", "secret"]
    assert lines[0].split(": ")[1].startswith("pk_") and len(lines[1].split(": ")[1]) > 40
    again = jifen("partner", "create", "skyway", "--name", "x", "--rate", "1:1", env=env)
    assert again.returncode != 0 and "exists" in again.stderr
    bad = jifen("partner", "create", "Bad Code", "--name", "x", "--rate", "1:1", env=env)
    assert bad.returncode != 0 and "partner code" in bad.stderr
    second = jifen("partner", "key", "skyway", env=env).stdout.splitlines()[0].split(": ")[1]
    assert second != lines[0].split(": ")[1]
    assert jifen("partner", "revoke", second, env=env).returncode == 0
    assert jifen("partner", "revoke", second, env=env).returncode != 0


def test_check_reports_a_tampered_balance(tmp_path):
    import sqlite3
    db = tmp_path / "t.db"
    env = {"DATABASE_URL": f"sqlite:///{db}"}
    assert jifen("migrate", env=env).returncode == 0
    with sqlite3.connect(db) as connection:
        connection.execute("INSERT INTO members (external_id, nickname, created_at, tier_level, balance) "
                           "VALUES ('x', 'x', '2026-01-01 00:00:00', 1, 5)")
    check = jifen("check", env=env)
    assert check.returncode == 1 and "balance 5 but entries sum to 0" in check.stdout


def test_check_reports_a_wrong_day_summary_and_rebuild_mends_it(tmp_path):
    import sqlite3
    db = tmp_path / "t.db"
    env = {"DATABASE_URL": f"sqlite:///{db}"}
    assert jifen("migrate", env=env).returncode == 0
    with sqlite3.connect(db) as connection:
        connection.execute("INSERT INTO day_flows VALUES ('2026-03-12', 'CHECK_IN', 3, 10, 0, 0)")
    check = jifen("check", env=env)
    assert check.returncode == 1 and "day summaries: flows 2026-03-12 CHECK_IN 3: (10, 0, 0) summed, (0, 0, 0) in the ledger" in check.stdout
    rebuilt = jifen("rebuild-summaries", env=env)
    assert rebuilt.returncode == 0 and "rebuilt from the ledger in Asia/Shanghai" in rebuilt.stdout
    assert jifen("check", env=env).returncode == 0


@pytest.mark.parametrize("env", ["prod"])
def test_prod_hides_graphiql_and_introspection(tmp_path, env):
    from api.http.app import create_app
    from api.ops.config import Settings
    from tests.conftest import start_server, stop_server

    settings = Settings(database_url=f"sqlite:///{tmp_path}/p.db", secret=SECRET, env=env, sweep_seconds=0)
    from persistence import migrate
    migrate.upgrade(settings.database_url)
    server, thread, base = start_server(create_app(settings))
    try:
        assert httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}).status_code != 200
        body = httpx.post(f"{base}/graphql", json={"query": "{ __schema { types { name } } }"}).json()
        assert "errors" in body and not body.get("data")
        assert httpx.post(f"{base}/graphql", json={"query": "{ tiers { code } }"}).json()["data"]["tiers"]
    finally:
        stop_server(server, thread)


def test_json_logs_when_asked(tmp_path):
    result = jifen("migrate", env={"DATABASE_URL": f"sqlite:///{tmp_path}/j.db", "JIFEN_LOG_FORMAT": "json"})
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 0 and lines
    assert {"time", "level", "logger", "message"} <= set(lines[-1]) and lines[-1]["logger"] == "jifen"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]) for line in lines)


def test_in_json_mode_every_line_of_the_server_is_json_uvicorn_s_too(tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/j.db", "JIFEN_LOG_FORMAT": "json",
           "JIFEN_SECRET": "s" * 40}
    process = subprocess.Popen([JIFEN, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"})
        httpx.get(f"http://127.0.0.1:{port}/h5/?token=secret.token.value")
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    lines = [json.loads(line) for line in output.splitlines()]  # each line parses, or this fails
    by_logger = {}
    for line in lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
        by_logger.setdefault(line["logger"], []).append(line)
    messages = " ".join(line.get("message", "") for line in lines)
    assert "Uvicorn running on" in messages and "Shutting down" in messages  # uvicorn's own
    assert f"Jifen serves GraphQL at http://127.0.0.1:{port}/graphql" in messages  # the banner
    access = [line for line in by_logger["uvicorn.access"] if line["path"] == "/graphql"]
    assert access and access[0]["method"] == "POST" and access[0]["status"] == 200
    assert by_logger["jifen.requests"][0]["operation"] == "__typename"
    assert "secret.token.value" not in output  # a token in a page's address never reaches the log
    assert any(line["path"] == "/h5/?token=<hidden>" for line in by_logger["uvicorn.access"])


def test_a_second_server_on_one_sqlite_database_refuses_to_start(tmp_path):
    """One process serves a SQLite database: what the server keeps in memory (the gate's counts, the keys
    members used) is true only while it writes alone."""
    port = free_port()
    first, _, _ = start_demo(tmp_path, port)
    try:
        second = subprocess.run([JIFEN, "serve", "--port", str(free_port())], cwd=tmp_path, capture_output=True,
                                text=True, timeout=60,
                                env={k: v for k, v in os.environ.items() if k not in ("JIFEN_SECRET", "DATABASE_URL")})
        assert second.returncode != 0
        assert "another jifen server already serves" in second.stderr
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        stop(first)
    process, _, _ = start_demo(tmp_path, port)  # the claim ends with its process
    stop(process)


def serve_refused(tmp_path, database_url: str, *extra: str) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k != "JIFEN_SECRET"}, "DATABASE_URL": database_url}
    return subprocess.run([JIFEN, *extra, "serve", "--port", str(free_port())], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if "JIFEN_SECRET" not in line]
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize("database_url, says", [
    ("::::", "is not a database URL"),
    ("nonsense://x", "which Jifen does not run on"),
    ("mysql://user@host/db", "which Jifen does not run on"),
    ("sqlite:////no-such-directory/jifen.db", "/no-such-directory does not exist"),
    ("postgresql://postgres@127.0.0.1:1/test", "cannot reach PostgreSQL at 127.0.0.1:1 (connection refused)"),
])
def test_a_wrong_database_url_is_one_line_saying_what_to_fix(tmp_path, database_url, says):
    line = one_line(serve_refused(tmp_path, database_url))
    assert line.startswith("jifen: ") and says in line


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_missing_postgresql_database_or_user_is_one_line(tmp_path, database_url):
    server = database_url.rsplit("/", 1)[0]
    assert "has no database 'no_such_db': create it" in one_line(serve_refused(tmp_path, f"{server}/no_such_db"))
    stranger = server.replace("//postgres@", "//no_such_user@")
    assert "refused user 'no_such_user'" in one_line(serve_refused(tmp_path, f"{stranger}/test"))


def test_debug_shows_the_traceback_of_a_start_up_problem(tmp_path):
    result = serve_refused(tmp_path, "nonsense://x", "--debug")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("JIFEN_SECRET", "DATABASE_URL")}
        result = subprocess.run([JIFEN, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)
    assert f"port {port} on 127.0.0.1 is in use" in one_line(result)


def test_serve_prints_where_it_serves_before_the_tokens_and_no_migration_chatter(tmp_path):
    port = free_port()
    process, tokens, lines = start_demo(tmp_path, port)
    try:
        printed = "".join(lines)
        assert f"Jifen serves GraphQL at http://127.0.0.1:{port}/graphql" in printed
        assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in printed
        assert f"H5 member page: http://127.0.0.1:{port}/h5/" in printed
        assert printed.index("Jifen serves GraphQL") < printed.index("member token")
        assert "alembic" not in printed and "Running upgrade" not in printed
        home = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=False)
        assert home.status_code in (302, 307) and home.headers["location"] == "/graphql"
    finally:
        stop(process)


def test_version_ttl_and_the_revision_migrate_reports(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if k != "JIFEN_SECRET"},
           "DATABASE_URL": f"sqlite:///{tmp_path / 'rev.db'}"}
    version = subprocess.run([JIFEN, "--version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and re.fullmatch(r"jifen \d+\.\d+\.\d+\n", version.stdout)
    expired = subprocess.run([JIFEN, "token", "member", "m1", "--ttl", "-5"], capture_output=True, text=True, env=env)
    assert expired.returncode != 0 and "--ttl must be a positive" in expired.stderr and not expired.stdout
    migrated = subprocess.run([JIFEN, "migrate"], capture_output=True, text=True, env=env)
    head = re.search(r"database at revision (\d{4})", migrated.stderr).group(1)
    older = subprocess.run([JIFEN, "migrate", "0005"], capture_output=True, text=True, env=env)
    assert f"database at revision {head}, past 0005: migrate only upgrades" in older.stderr


def test_a_downgrade_is_confirmed_and_says_where_the_database_is(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'down.db'}", "JIFEN_SECRET": "s" * 40}
    run = lambda *args, **kw: subprocess.run([JIFEN, "migrate", *args], capture_output=True, text=True,  # noqa: E731
                                             env=env, **kw)
    head = re.search(r"database at revision (\d{4})", run().stderr).group(1)
    unattended = run("--down-to", "0020", stdin=subprocess.DEVNULL)
    assert unattended.returncode != 0 and "add --yes" in unattended.stderr
    assert run("--down-to", "9999", "--yes").stderr == f"jifen: no revision '9999' (base, 0001 ... {head})\n"
    done = run("--down-to", "0020", "--yes")
    assert done.returncode == 0 and f"database at revision 0020 (was {head})" in done.stderr
    assert f"database at revision {head}" in run().stderr  # and up again


def test_each_command_s_help_says_what_it_does_its_defaults_and_its_environment():
    from api.ops.cli import ENVIRONMENT
    from tests.test_deployment import variables_read

    assert set(ENVIRONMENT) == variables_read()
    serve = subprocess.run([JIFEN, "serve", "--help"], capture_output=True, text=True).stdout
    assert "Migrate the database, then serve GraphQL" in serve and "(default: 8000)" in serve
    assert all(variable in serve for variable in ENVIRONMENT)
    migrate = subprocess.run([JIFEN, "migrate", "--help"], capture_output=True, text=True).stdout
    assert "--down-to" in migrate and "DATABASE_URL" in migrate and "JIFEN_SECRET" not in migrate

