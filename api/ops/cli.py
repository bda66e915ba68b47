"""The `jifen` command: serve, migrate, tokens, the expiry sweep, a ledger check and the schema."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

from api.http.auth import issue_token
from api.ops.config import ConfigError, Settings

log = logging.getLogger("jifen")
PROGRESS_SECONDS = 5


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as error:
        sys.exit(f"jifen: {error}")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from api.http.app import SERVER_OPTIONS, create_app
    from api.ops.observability import logging_config
    from api.ops.startup import check_database_url, check_port
    from persistence.database import claim_sqlite_server

    settings = _settings()
    _check_workers(settings, args.workers)
    check_database_url(settings.database_url)
    check_port(args.host, args.port)
    claim = claim_sqlite_server(settings.database_url)  # noqa: F841 - held while the process lives
    cmd_migrate(argparse.Namespace(revision="head"), settings)
    seeded = asyncio.run(_seed_demo(settings)) if args.demo else None
    _print_banner(settings, args.host, args.port)
    if seeded is not None:
        _print_demo(settings, seeded)
    options = {"host": args.host, "port": args.port, "log_level": "info", "access_log": not args.no_access_log,
               "log_config": logging_config(log_format()), **SERVER_OPTIONS}
    if args.workers == 1:
        uvicorn.run(create_app(settings), **options)
    else:  # each worker process builds its own app from the same environment
        uvicorn.run("api.http.app:app_from_env", factory=True, workers=args.workers, **options)


def _print_banner(settings: Settings, host: str, port: int) -> None:
    base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    lines = [f"Jifen serves GraphQL at {base}/graphql (HTTP and WebSocket)"]
    if settings.is_dev:
        lines += [f"GraphiQL: {base}/graphql in a browser (add ?token=<member token> to sign in)",
                  f"H5 member page: {base}/h5/?token=<member token>"]
    lines.append(f"health: {base}/healthz   metrics: {base}/metrics")
    if log_format() == "json":  # for the log shipper, as every other line
        for line in lines:
            log.info(line)
    else:
        print("\n".join(lines), flush=True)


def _check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        sys.exit("jifen: --workers must be at least 1")
    if workers > 1 and settings.database_url.startswith("sqlite"):
        sys.exit("jifen: SQLite serves from one process (its writes go through one connection); "
                 "use PostgreSQL (DATABASE_URL) for --workers above 1")
    if workers > 1 and not settings.redis_url:
        log.warning("--workers %d without REDIS_URL: a subscriber only hears changes made by its own process",
                    workers)


async def _seed_demo(settings: Settings) -> tuple[bool, tuple[str, str] | None]:
    from api.ops import demo
    from api.ops.services import Services

    services = Services.build(settings.database_url)
    try:
        return await demo.seed(services), await demo.partner_key(services)
    finally:
        await services.close()


def _print_demo(settings: Settings, seeded: tuple[bool, tuple[str, str] | None]) -> None:
    from api.ops.demo import DEMO_STORE, MEMBERS, PARTNER, STAFF

    (seeded, key), member_id, nickname = seeded, MEMBERS[0][0], MEMBERS[0][1]
    print("demo data " + ("seeded" if seeded else "already present"), flush=True)
    print(f"member token ({member_id}): {issue_token(settings.secret, member_id, nickname=nickname)}")
    print(f"staff token ({STAFF.name}): {issue_token(settings.secret, STAFF.name, role='staff')}")
    print(f"store token ({DEMO_STORE}): {issue_token(settings.secret, DEMO_STORE, role='store')}")
    if key:
        print(f"partner {PARTNER[0]} ({PARTNER[1]}), for signed requests:")
        print(f"key_id: {key[0]}")
        print(f"secret: {key[1]}")
    sys.stdout.flush()


def cmd_migrate(args: argparse.Namespace, settings: Settings | None = None) -> None:
    from api.ops.startup import check_database_url
    from persistence import migrate

    settings = settings or _settings()
    check_database_url(settings.database_url)
    if getattr(args, "down_to", None):
        _downgrade(settings.database_url, args.down_to, args.yes)
        return
    migrate.upgrade(settings.database_url, args.revision)
    at = migrate.current_revision(settings.database_url)
    if args.revision not in ("head", at):  # an older revision: upgrade leaves a newer database as it is
        log.warning("database at revision %s, past %s: migrate only upgrades", at, args.revision)
    else:
        log.info("database at revision %s", at)


def _downgrade(database_url: str, revision: str, confirmed: bool) -> None:
    """A downgrade drops what later revisions added (tables, columns and their data): it is asked for twice."""
    from persistence import migrate

    known = migrate.revisions(database_url)
    if revision != "base" and revision not in known:
        sys.exit(f"jifen: no revision {revision!r} (base, {known[0]} ... {known[-1]})")
    at = migrate.current_revision(database_url)
    if not confirmed:
        if not sys.stdin.isatty():
            sys.exit("jifen: a downgrade drops data; add --yes to run it without a terminal")
        answer = input(f"Downgrade {_shown(database_url)} from {at} to {revision}? What later revisions "
                       f"added is dropped, with its data. Type the revision to go on: ")
        if answer.strip() != revision:
            sys.exit("jifen: nothing changed")
    migrate.downgrade(database_url, revision)
    log.info("database at revision %s (was %s)", migrate.current_revision(database_url) or "base", at)


def _shown(database_url: str) -> str:
    """The database's address without its password."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


def cmd_token(args: argparse.Namespace) -> None:
    if args.ttl <= 0:
        sys.exit("jifen: --ttl must be a positive number of seconds")
    settings = _settings()
    role = args.role
    device, phone = getattr(args, "device", None), getattr(args, "phone_hash", None)
    if role == "member":
        from domain.errors import InvalidInput
        from domain.members import MemberSignals, validate_external_id
        try:
            validate_external_id(args.subject)
            MemberSignals(device, phone)
        except InvalidInput as error:
            sys.exit(f"jifen: {error.message}")
    if role == "store":
        from domain.orders import STORE_ID_PATTERN
        if not STORE_ID_PATTERN.match(args.subject):
            sys.exit("jifen: a store id is 1-64 letters, digits or _.:-")
    scopes = getattr(args, "scopes", None)
    if role == "integration":
        from api.http.auth import INTEGRATION_SCOPES
        if not scopes or set(scopes.split()) - set(INTEGRATION_SCOPES):
            sys.exit(f"jifen: --scopes takes one or more of: {' '.join(INTEGRATION_SCOPES)}")
    print(issue_token(settings.secret, args.subject, role=role, nickname=getattr(args, "nickname", None),
                      ttl_seconds=args.ttl, device_id=device, phone_hash=phone, scopes=scopes))


def cmd_expire(_: argparse.Namespace) -> None:
    async def sweep(services):
        return (await services.expiry.run(progress=_progress("settled", "members visited")),
                await services.notifications.remind_expiring(progress=_progress("recorded", "expiry reminders")),
                await services.partners.expire_stale(), await services.invitations.settle_rewards(),
                await services.coupons.expire_due(progress=_progress("expired", "coupons")),
                await services.coupons.remind_expiring(progress=_progress("recorded", "coupon reminders")),
                await services.perks.grant_monthly(progress=_progress("granted", "monthly perks")),
                await services.conversions.sweep_if_due(progress=_progress("offered", "conversions")))

    report, reminded, exchanges, invitations, coupons, coupon_reminders, perks, conversions = \
        asyncio.run(_with_services(sweep))
    print(f"expired {report.points_expired} points; released {report.orders_released} orders past their return "
          f"window and {report.holds_released} timed-out holds; lowered {report.tiers_lowered} tiers at their "
          f"upkeep date ({report.members_settled} members); "
          f"purged {report.idempotency_keys_purged} old keys; recorded {reminded} expiry reminders; "
          f"expired {exchanges} unconfirmed partner exchanges; paid {invitations} invitation rewards; "
          f"expired {coupons} coupons; recorded {coupon_reminders} coupon reminders; granted {perks} monthly perks; "
          f"offered or made {conversions} points conversions")


def cmd_award_prizes(_: argparse.Namespace) -> None:
    paid = asyncio.run(_with_services(lambda s: s.leaderboards.award_closed_periods()))
    print(f"paid {paid} leaderboard prizes")


def cmd_partner_create(args: argparse.Namespace) -> None:
    from domain.errors import DomainError
    from domain.partners import ExchangeRate

    terms = {name: getattr(args, name) for name in ("fen_per_100_points", "daily_points_per_member", "daily_points",
                                                      "confirm_minutes") if getattr(args, name) is not None}
    try:
        _, key = asyncio.run(_with_services(lambda s: s.partners.create(
            args.code, args.name, ExchangeRate.parse(args.rate), **terms)))
    except DomainError as error:
        sys.exit(f"jifen: {error.message}")
    _print_key(key)


def cmd_partner_key(args: argparse.Namespace) -> None:
    from domain.errors import DomainError

    try:
        _print_key(asyncio.run(_with_services(lambda s: s.partners.issue_key(args.code))))
    except DomainError as error:
        sys.exit(f"jifen: {error.message}")


def cmd_partner_revoke(args: argparse.Namespace) -> None:
    if not asyncio.run(_with_services(lambda s: s.partners.revoke_key(args.key_id))):
        sys.exit(f"jifen: no live key {args.key_id}")
    print(f"revoked {args.key_id}")


def _print_key(key) -> None:
    print(f"key_id: {key.key_id}")
    print(f"secret: {key.secret}")


def cmd_task_ticket(args: argparse.Namespace) -> None:
    """Sign a completion ticket as the brand's server would (for trying SERVER tasks, and as a reference)."""
    from domain.configuration import Actor
    from domain.task_tickets import sign_ticket

    async def sign(services):
        key = await services.tasks.rotate_ticket_key(Actor("staff", "cli")) if args.new_key \
            else await services.tasks.ticket_key()
        return key, key and sign_ticket(key, args.member, args.task, services.clock.now())

    key, ticket = asyncio.run(_with_services(sign))
    if key is None:
        sys.exit("jifen: no ticket key yet: run `jifen task-ticket --new-key ...` or rotateTaskTicketKey")
    if args.new_key:
        _print_key(key)
    print(ticket)


def cmd_segments(_: argparse.Namespace) -> None:
    report = asyncio.run(_with_services(lambda s: s.segments.refresh(progress=_progress("segmented", "members"))))
    counts = ", ".join(f"{segment.value} {count}" for segment, count in report.counts.items())
    print(f"segmented {report.members} members: {counts}")


def _progress(verb: str, noun: str):
    """A line on stderr every few seconds of a long run (JIFEN_PROGRESS_SECONDS): how far, how fast."""
    every = float(os.environ.get("JIFEN_PROGRESS_SECONDS", PROGRESS_SECONDS))
    started = time.monotonic()
    shown = [started]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - shown[0] >= every:
            shown[0] = now
            rate = done / max(now - started, 1e-9)
            print(f"{verb} {done}{f'/{total}' if total else ''} {noun} ({rate:,.0f}/s)", file=sys.stderr,
                  flush=True)

    return progress


def cmd_check(args: argparse.Namespace) -> None:
    started = time.monotonic()
    report = asyncio.run(_with_services(lambda s: s.reconciliation.run(
        since_last=args.since_last, progress=_progress("checked", "members"))))
    for member_id, problems in report.problems.items():
        for problem in problems:
            print(f"member #{member_id}: {problem}")
    for line in report.summaries.disagreements:
        print(f"day summaries: {line}")
    if report.summaries.stale:
        print("day summaries: keyed in another time zone, not checked (analytics read the ledger until "
              "`jifen rebuild-summaries`)")
    scope = f" with entries after #{report.since_entry}" if report.since_entry is not None else ""
    print(f"checked {report.members_checked} members{scope} through entry #{report.verified_through} in "
          f"{time.monotonic() - started:.1f} s: " + ("OK" if report.ok else _wrong(report)))
    if not report.ok:
        sys.exit(1)


def _wrong(report) -> str:
    wrong = [f"{len(report.problems)} members wrong"] if report.problems else []
    wrong += ["day summaries wrong (`jifen rebuild-summaries` builds them again)"] if report.summaries.disagreements \
        else []
    return ", ".join(wrong)


def cmd_import(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from api.ops import import_files
    from domain.errors import InvalidInput
    from domain.imports import ImportKind
    from persistence import migrate

    path, kind = Path(args.file), ImportKind(args.kind)
    if not path.is_file():
        sys.exit(f"jifen: no file {path}")
    fmt = import_files.file_format(path, args.format)
    source, total = import_files.fingerprint(path), import_files.count_rows(path, fmt)
    migrate.upgrade(_settings().database_url)
    report_path = Path(args.report or f"{path}.rejected.csv")

    async def run(services):
        resumed = await services.imports.resume_point(kind, source)
        report = import_files.Report(report_path, resumed > 0)
        bar = tqdm(total=total, initial=min(resumed, total), unit="rows", unit_scale=True, desc=kind.value,
                   file=sys.stderr, disable=args.quiet, smoothing=0.1)

        def progress(line: int, _total: int | None) -> None:
            bar.update(max(0, min(line - (1 if fmt == "csv" else 0), total) - bar.n))

        try:
            return await services.imports.run(kind, source, import_files.rows(path, kind, fmt), batch=args.batch,
                                              progress=progress, rejected=report), report
        finally:
            bar.close()
            report.close()

    started = time.monotonic()
    try:
        result, report = asyncio.run(_with_services(run))
    except (import_files.BadFile, InvalidInput) as error:
        sys.exit(f"jifen: {getattr(error, 'message', error)}")
    seconds = time.monotonic() - started
    resumed = f" (resumed after line {result.resumed_after})" if result.resumed_after else ""
    print(f"{kind.value}: {result.imported} imported, {result.already_there} already there, "
          f"{len(result.rejected)} rejected{resumed} in {seconds:.1f} s"
          + (f"; rejected rows: {report_path}" if result.rejected else ""))


def cmd_export(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from api.ops.export_files import RowWriter, since_of
    from domain.exports import COLUMNS, ExportKind

    kind = ExportKind(args.kind)
    try:
        since = since_of(args.since)
    except ValueError as error:
        sys.exit(f"jifen: {error}")
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout

    async def run(services):
        total = await services.exports.count(kind, since)
        bar = tqdm(total=total, unit="rows", unit_scale=True, desc=kind.value, file=sys.stderr,
                   disable=args.quiet, smoothing=0.1)
        try:
            return await services.exports.run(kind, since, RowWriter(out, args.format, COLUMNS[kind]),
                                              progress=lambda done, _: bar.update(done - bar.n))
        finally:
            bar.close()

    started = time.monotonic()
    try:
        written = asyncio.run(_with_services(run))
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"{kind.value}: {written} rows exported in {time.monotonic() - started:.1f} s"
          + (f" to {args.output}" if args.output else ""), file=sys.stderr if out is sys.stdout else sys.stdout)


def cmd_rebuild_summaries(_: argparse.Namespace) -> None:
    from domain.day_summaries import DaySummaries

    started = time.monotonic()
    status = asyncio.run(_with_services(lambda s: DaySummaries(s.transactions, s.clock).rebuild()))
    print(f"day summaries rebuilt from the ledger in {status.timezone} in {time.monotonic() - started:.1f} s")


async def _with_services(action):
    from api.ops.services import Services

    settings = _settings()
    services = Services.build(settings.database_url, redis_url=settings.redis_url,
                              redis_prefix=settings.redis_prefix)
    try:
        return await action(services)
    finally:
        await services.close()


def cmd_schema(args: argparse.Namespace) -> None:
    from api.execution.schema import sdl

    if args.output:
        Path(args.output).write_text(sdl(), encoding="utf-8")
    else:
        sys.stdout.write(sdl())


def log_format() -> str:
    """`text` or `json`: how every process of this command writes its log lines."""
    return os.environ.get("JIFEN_LOG_FORMAT", "text")


def configure_logging(kind: str) -> None:
    import logging.config

    from api.ops.observability import lean_log_records, logging_config

    lean_log_records()
    logging.config.dictConfig(logging_config(kind))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jifen")
    except PackageNotFoundError:  # run from a checkout without installing
        return "unknown (not installed)"


# What each variable is, for the help of the commands that read it (the README's table says more).
ENVIRONMENT = {
    "DATABASE_URL": "the database: sqlite:///path.db or postgresql://user@host:5432/db "
                    "(default: jifen.db in the working directory)",
    "JIFEN_SECRET": "signs and checks tokens (required in prod, 32+ characters)",
    "JIFEN_ENV": "dev (GraphiQL, the H5 page, introspection) or prod (default: dev)",
    "REDIS_URL": "Redis for toasts between processes and the admission gate (default: none)",
    "JIFEN_REDIS_PREFIX": "prefix of Jifen's Redis keys and channels (default: jifen)",
    "JIFEN_ALLOWED_ORIGINS": "in prod, the page origins browsers may call from (comma-separated)",
    "JIFEN_PERSISTED_QUERIES": "a JSON file of the only documents that may run (default: any)",
    "JIFEN_COST_BUDGET": "query cost points per caller per minute (default: 20000)",
    "JIFEN_TRUSTED_PROXIES": "reverse proxies whose X-Forwarded-For is believed (default: none)",
    "JIFEN_SOCKETS_PER_ADDRESS": "WebSockets one client address may hold (default: 200)",
    "JIFEN_ANONYMOUS_FEEDS_PER_ADDRESS": "tokenless activityFeed subscriptions per address (default: 20)",
    "JIFEN_METRICS_TOKEN": "bearer token /metrics asks for (default: open in dev, absent in prod)",
    "JIFEN_SWEEP_SECONDS": "seconds between expiry sweeps; 0: none (default: 60)",
    "JIFEN_LOG_FORMAT": "text or json (default: text)",
    "JIFEN_OTEL_ENDPOINT": "an OTLP/HTTP collector for traces (needs the otel extra; default: none)",
    "JIFEN_PROGRESS_SECONDS": "seconds between progress lines of a long run on stderr (default: 5)",
}
DATABASE_ONLY = ("DATABASE_URL", "JIFEN_LOG_FORMAT")
LONG_RUN = (*DATABASE_ONLY, "JIFEN_PROGRESS_SECONDS")


class Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions as written, and each option's default (when there is one worth saying)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or action.help is None:
            return action.help or ""
        return super()._get_help_string(action)


def command(commands, name: str, does: str, reads: tuple[str, ...] = DATABASE_ONLY, details: str = ""):
    """A subcommand whose help says what it does, its defaults and the environment it reads."""
    epilog = "environment:\n" + "\n".join(f"  {variable:34} {ENVIRONMENT[variable]}" for variable in reads) \
        if reads else None
    return commands.add_parser(name, help=does, description=f"{does[0].upper()}{does[1:]}.{details}",
                               epilog=epilog, formatter_class=Help)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="jifen", description="Jifen loyalty-points server", formatter_class=Help)
    top.add_argument("--version", action="version", version=f"jifen {_version()}")
    top.add_argument("--debug", action="store_true",
                     help="show the traceback of a start-up problem, and every migration as it runs")
    commands = top.add_subparsers(dest="command", required=True)

    serve = command(commands, "serve", "migrate the database, then serve GraphQL over HTTP and WebSocket",
                    tuple(ENVIRONMENT), "\nIn dev it also serves GraphiQL at /graphql (in a browser) and the "
                    "H5 member page at /h5/.")
    serve.add_argument("--demo", action="store_true", help="seed a demo brand and print tokens")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL only above 1)")
    serve.add_argument("--no-access-log", action="store_true", help="no line per HTTP request (the JSON "
                                                                    "operation log stays)")
    serve.set_defaults(func=cmd_serve)

    migrate = command(commands, "migrate", "upgrade the database schema, or downgrade it with --down-to",
                      details="\nServers migrate as they start; several starting together take turns.")
    migrate.add_argument("revision", nargs="?", default="head", help="upgrade to this revision")
    migrate.add_argument("--down-to", metavar="REVISION",
                         help="downgrade to this revision ('base': empty); drops what later revisions added")
    migrate.add_argument("--yes", action="store_true", help="downgrade without asking (for scripts)")
    migrate.set_defaults(func=cmd_migrate)

    token = command(commands, "token", "issue a token for a member, a staff user, a store's till or an integration",
                    ("JIFEN_SECRET",),
                    "\nA brand's own sign-in issues member tokens in production; these are for development.")
    roles = token.add_subparsers(dest="role", required=True)
    member = roles.add_parser("member", help="a member's token", formatter_class=Help)
    member.add_argument("subject", metavar="memberId", help="the brand's member id")
    member.add_argument("--nickname", help="shown to the member and, masked, on the activity feed")
    member.add_argument("--device", help="the device id claim (did) the farming controls compare")
    member.add_argument("--phone-hash", help="the phone hash claim (phn), 16-128 characters")
    staff = roles.add_parser("staff", help="a staff token (reads any member, changes rules)", formatter_class=Help)
    staff.add_argument("subject", metavar="name", help="recorded in the audit log")
    store = roles.add_parser("store", help="a store's till: identifies members by their code, records its orders, "
                                           "deducts points, redeems coupons (its own store only)",
                             formatter_class=Help)
    store.add_argument("subject", metavar="storeId", help="the brand's store code, as its orders name it")
    integration = roles.add_parser("integration", help="a brand system's token (a CRM following ledgerChanges); "
                                                       "reaches what its scopes name, not the staff console",
                                   formatter_class=Help)
    integration.add_argument("subject", metavar="name", help="the system's name (recorded with what it does)")
    integration.add_argument("--scopes", required=True, help="space-separated: ledger:read (the change feed), "
                                                              "import (importMembers, importBalances), export "
                                                              "(GET /export/{kind})")
    for sub in (member, staff, store, integration):
        sub.add_argument("--ttl", type=int, default=30 * 24 * 3600, help="lifetime in seconds")
        sub.set_defaults(func=cmd_token)

    partner = command(commands, "partner", "add partner brands and manage their signing keys")
    partner_commands = partner.add_subparsers(dest="action", required=True)
    create = partner_commands.add_parser("create", help="add a partner; prints its key id and secret",
                                         formatter_class=Help)
    create.add_argument("code", help="2-32 lowercase letters, digits, _ or -")
    create.add_argument("--name", required=True, help="shown to members")
    create.add_argument("--rate", required=True, help="ours:theirs, e.g. 10:1 (10 points = 1 partner point), "
                                                      "or partner points per point, e.g. 0.1")
    create.add_argument("--fen-per-100-points", type=int, help="settlement value of 100 points (default 100)")
    create.add_argument("--daily-points-per-member", type=int, help="default 10000")
    create.add_argument("--daily-points", type=int, help="all members together (default 1000000)")
    create.add_argument("--confirm-minutes", type=int, help="how long an exchange waits for the partner (default 30)")
    create.set_defaults(func=cmd_partner_create)
    key = partner_commands.add_parser("key", help="issue another key (rotation); prints its key id and secret")
    key.add_argument("code", help="the partner's code")
    key.set_defaults(func=cmd_partner_key)
    revoke = partner_commands.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id", help="the key id to revoke (pk_...)")
    revoke.set_defaults(func=cmd_partner_revoke)

    command(commands, "expire", "run the sweep once: expiry, order releases, hold timeouts, tier upkeep "
            "(the server runs it every JIFEN_SWEEP_SECONDS)", LONG_RUN).set_defaults(func=cmd_expire)
    ticket = command(commands, "task-ticket", "sign a completion ticket for a SERVER task, as the brand's server "
                     "would", details="\nValid for 10 minutes, pays once; see docs/tasks.md for the format.")
    ticket.add_argument("member", help="the brand's member id")
    ticket.add_argument("task", help="the task's code")
    ticket.add_argument("--new-key", action="store_true", help="rotate the signing key first and print it")
    ticket.set_defaults(func=cmd_task_ticket)
    command(commands, "segments", "recompute every member's segments now (the server does it daily)", LONG_RUN
            ).set_defaults(func=cmd_segments)
    check = command(commands, "check", "recompute every balance from the ledger and report any difference", LONG_RUN,
                    details="\nExits 1 when a balance, a lot, a hold, pending points, growth, a running balance "
                            "or a day summary disagrees with what it is made of. Progress goes to stderr on a "
                            "long run.")
    check.add_argument("--since-last", action="store_true",
                       help="check only members with entries after the last clean run's (a full run the first time)")
    check.set_defaults(func=cmd_check)
    importing = command(commands, "import", "import a brand's members, opening balances, order history or events "
                                            "from a CSV or JSON Lines file",
                        details="\nBatches are committed one by one with how far the file got: run the same command "
                                "again after a crash and it goes on after the last batch committed. Rows already "
                                "imported (by member id; a balance by member and expiry date) are skipped, so running "
                                "a file twice changes nothing. Rejected rows go to the report with their line and "
                                "reason; the rest are imported. Columns: members: member_id, nickname, joined_at, "
                                "growth, points, points_expire_at; balances: member_id, points, expires_at, memo; orders (history, "
                                "earning nothing): order_id, member_id, amount_fen, placed_at, channel, store_id, "
                                "refunded_fen; events (through the event earning rules): event_id, member_id, "
                                "event_type, attributes.")
    importing.add_argument("kind", choices=["members", "balances", "orders", "events", "tags"])
    importing.add_argument("file", help="UTF-8 CSV with a header row, or JSON Lines (.jsonl)")
    importing.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file's extension")
    importing.add_argument("--batch", type=int, default=5000, help="rows a transaction")
    importing.add_argument("--report", help="where rejected rows go (default: FILE.rejected.csv)")
    importing.add_argument("--quiet", action="store_true", help="no progress bar")
    importing.set_defaults(func=cmd_import)
    exporting = command(commands, "export", "export members, the ledger or redemptions to CSV or JSON Lines",
                        details="\nRows come in the order they were written, from one consistent read. --since "
                                "takes members who joined, entries that occurred or redemptions made from then on.")
    exporting.add_argument("kind", choices=["members", "ledger", "redemptions"])
    exporting.add_argument("--since", help="a date (2026-12-01, from its start, UTC) or a time with its offset")
    exporting.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    exporting.add_argument("-o", "--output", help="the file to write (default: standard output)")
    exporting.add_argument("--quiet", action="store_true", help="no progress bar")
    exporting.set_defaults(func=cmd_export)
    command(commands, "rebuild-summaries", "build the day summaries analytics read again from the ledger",
            details="\nNeeded after the brand's time zone changes (analytics read the ledger itself until then). "
                    "Writers of points wait while it runs.").set_defaults(func=cmd_rebuild_summaries)
    command(commands, "award-prizes", "pay the prizes of closed leaderboard periods (once each)"
            ).set_defaults(func=cmd_award_prizes)
    schema = command(commands, "schema", "print the GraphQL schema (SDL)", ())
    schema.add_argument("--output", "-o", help="write it to this file instead")
    schema.set_defaults(func=cmd_schema)
    return top


def main(argv: list[str] | None = None) -> None:
    configure_logging(log_format())
    args = parser().parse_args(argv)
    # Each migration's name is for whoever debugs a migration, not for every start.
    logging.getLogger("alembic").setLevel(logging.DEBUG if args.debug else logging.WARNING)
    try:
        args.func(args)
    except Exception as error:
        from api.ops.startup import explained

        line = None if args.debug else explained(error, _database_url())
        if line is None:
            raise
        print(f"jifen: {line} (--debug shows the traceback)", file=sys.stderr)
        sys.exit(2)


def _database_url() -> str | None:
    try:
        return Settings.from_env().database_url
    except ConfigError:
        return None


if __name__ == "__main__":
    main()
