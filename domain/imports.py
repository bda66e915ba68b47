"""Bulk import of a brand's members and opening balances (迁移): what its CRM held before Jifen.

A file's rows are read in batches, each written in one transaction together with the checkpoint
(the last line it covered), so an import that crashed starts again after the last batch that
committed. Each row is also idempotent by its natural key, so running a file again (or an edited
copy) changes nothing that is already there:

- a **member** row by the brand's member id: a member already there is left as it is;
- a **balance** row by (member, expiry date): it becomes an ``OPENING`` ledger entry whose points
  form a lot with the original expiry, so first-expiring-first spending and the expiry sweep go on
  as in the old system; a second lot for the same member and date is skipped.

An **order** row (by its order id) is the member's purchase history: it counts in segments and in
its store's figures, and earns nothing (the points it earned are in the balance carried over).
An **event** row (by its type and id) goes through the brand's event earning rules as `recordEvent`
does, so it earns or revokes what the rules say, once; events are written one by one, each in its
own transaction, and the checkpoint follows each batch (a resumed run finds the rows it had
written "already there").

A member row may carry the member's balance as one lot (``points``, ``points_expire_at``): a new
member's first entry, lot and balance are then written in bulk. Growth (成长值) carried over is
recorded as a growth change (``OPENING``), so the tier follows the thresholds and `jifen check`
finds growth equal to what explains it. Rows that cannot be imported are rejected with their line
number and the reason, and the rest go on.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from enum import Enum
from typing import TYPE_CHECKING

from domain.tags import CODE_PATTERN as TAG_CODE_PATTERN, TagSource
from domain.brand import brand_settings
from domain.configuration import Actor
from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.ledger import NEVER, GrowthChange, GrowthReason, LedgerEntry, LedgerReason
from domain.members import EXTERNAL_ID_PATTERN, clean_nickname
from domain.orders import (MAX_ORDER_FEN, ORDER_ID_PATTERN, OrderChannel, OrderStatus, PurchaseOrder,
                           validate_order)
from domain.progress import Progress, unreported
from domain.tiers import tier_table

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.events import EventService
    from domain.ports import Transactions, UnitOfWork

IMPORT = Actor("system", "import")
IMPORT_ACTOR = IMPORT.label
DEFAULT_BATCH = 5000
MAX_BATCH = 20_000
MAX_CALL_ROWS = 1000  # a GraphQL call's rows
# An event's natural key is its type and id: recorded before (by an import under the same key, with
# other attributes maybe, or by recordEvent), it is already there.
ALREADY_RECORDED = frozenset({ErrorCode.DUPLICATE_EVENT, ErrorCode.IDEMPOTENCY_KEY_REUSED})
MAX_POINTS = 1_000_000_000
MAX_MEMO = 200
OPENING_MEMO = "期初积分（迁移）"


class ImportKind(str, Enum):
    MEMBERS = "members"
    BALANCES = "balances"
    ORDERS = "orders"
    EVENTS = "events"
    TAGS = "tags"


# Each kind's columns (a CSV header, or a JSON object's keys), and those it needs.
COLUMNS = {
    ImportKind.MEMBERS: ("member_id", "nickname", "joined_at", "growth", "points", "points_expire_at"),
    ImportKind.BALANCES: ("member_id", "points", "expires_at", "memo"),
    ImportKind.ORDERS: ("order_id", "member_id", "amount_fen", "placed_at", "channel", "store_id", "refunded_fen"),
    ImportKind.EVENTS: ("event_id", "member_id", "event_type", "attributes"),
    ImportKind.TAGS: ("member_id", "tag"),
}
REQUIRED = {ImportKind.MEMBERS: ("member_id",), ImportKind.BALANCES: ("member_id", "points"),
            ImportKind.ORDERS: ("order_id", "member_id", "amount_fen", "placed_at"),
            ImportKind.EVENTS: ("event_id", "member_id", "event_type"), ImportKind.TAGS: ("member_id", "tag")}


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass(frozen=True)
class OpeningLot:
    """A balance carried over: points expiring at ``expires_at``; None when the row gave no date,
    and they then expire as points earned on the day of the import (the brand's rule)."""

    points: int
    expires_at: datetime | None
    memo: str = OPENING_MEMO

    @property
    def ref(self) -> str:
        """The lot's natural key within its member's ledger."""
        return f"opening:{self.expires_at.isoformat() if self.expires_at else 'default'}"

    def expiry(self, default: datetime | None) -> datetime | None:
        return self.expires_at or default


@dataclass(frozen=True)
class MemberRow:
    line: int
    external_id: str
    nickname: str
    joined_at: datetime | None
    growth: int
    opening: OpeningLot | None


@dataclass(frozen=True)
class BalanceRow:
    line: int
    external_id: str
    opening: OpeningLot


@dataclass(frozen=True)
class OrderRow:
    line: int
    external_id: str
    order_id: str
    amount_fen: int
    placed_at: datetime
    channel: OrderChannel
    store_id: str | None
    refunded_fen: int

    def history(self, member_id: int) -> PurchaseOrder:
        """The order as history: settled when it was placed, worth no points in Jifen."""
        status = OrderStatus.REFUNDED if self.refunded_fen >= self.amount_fen else OrderStatus.RELEASED
        return PurchaseOrder(member_id, self.order_id, self.channel, self.store_id, self.amount_fen, 0, 0, None,
                             self.placed_at, self.placed_at, IMPORT_ACTOR, self.refunded_fen, status, self.placed_at)


@dataclass(frozen=True)
class EventRow:
    line: int
    external_id: str
    event_id: str
    event_type: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class TagRow:
    line: int
    external_id: str
    tag: str


@dataclass(frozen=True)
class NewMember:
    """A member as an import creates them, with their first lot if the row carried one."""

    external_id: str
    nickname: str
    joined_at: datetime
    tier_level: int
    growth: int
    keep_until: datetime | None
    opening: OpeningLot | None
    lot_expires_at: datetime | None = None  # the opening lot's, the brand's rule applied

    @property
    def next_due_at(self) -> datetime | None:
        moments = [self.keep_until, self.lot_expires_at]
        return min((m for m in moments if m is not None and m < NEVER), default=None)


@dataclass
class ImportReport:
    imported: int = 0  # rows written now
    already_there: int = 0  # rows whose natural key was imported before
    rejected: list[Rejection] = field(default_factory=list)
    resumed_after: int = 0  # the line an earlier run had committed up to (0: from the start)


def parse_member(line: int, record: dict, now: datetime) -> MemberRow:
    external_id = _member_id(record)
    points = _whole(record, "points", 0, MAX_POINTS)
    expires_at = _moment(record, "points_expire_at")  # of no points (a CRM's empty balance): nothing to expire
    return MemberRow(line, external_id, clean_nickname(_text(record, "nickname"), external_id),
                     _moment(record, "joined_at"), _whole(record, "growth", 0, MAX_POINTS),
                     _opening(points, expires_at, None, now) if points else None)


def parse_balance(line: int, record: dict, now: datetime) -> BalanceRow:
    external_id = _member_id(record)
    points = _whole(record, "points", 1, MAX_POINTS, required=True)
    return BalanceRow(line, external_id, _opening(points, _moment(record, "expires_at"), _text(record, "memo"), now))


def parse_order(line: int, record: dict, now: datetime) -> OrderRow:
    order_id = _text(record, "order_id") or ""
    if not ORDER_ID_PATTERN.match(order_id):
        raise InvalidInput("order_id must be 1-64 letters, digits or _.:-", ("order_id",))
    amount = _whole(record, "amount_fen", 1, MAX_ORDER_FEN, required=True)
    placed_at = _moment(record, "placed_at")
    if placed_at is None or placed_at > now:
        raise InvalidInput("placed_at is required, and not in the future", ("placed_at",))
    try:
        channel = OrderChannel((_text(record, "channel") or "ONLINE").upper())
    except ValueError:
        raise InvalidInput("channel is ONLINE or OFFLINE_STORE", ("channel",)) from None
    store_id = _text(record, "store_id")
    validate_order(order_id, amount, channel, store_id)
    return OrderRow(line, _member_id(record), order_id, amount, placed_at, channel, store_id,
                    _whole(record, "refunded_fen", 0, amount))


def parse_tag(line: int, record: dict, now: datetime) -> TagRow:
    tag = (_text(record, "tag") or "").lower()
    if not TAG_CODE_PATTERN.match(tag):
        raise InvalidInput("tag must be a tag's code", ("tag",))
    return TagRow(line, _member_id(record), tag)


def parse_event(line: int, record: dict, now: datetime) -> EventRow:
    attributes = record.get("attributes") or {}
    if isinstance(attributes, str):
        try:
            attributes = json.loads(attributes)
        except json.JSONDecodeError:
            raise InvalidInput("attributes must be a JSON object of text values", ("attributes",)) from None
    if not isinstance(attributes, dict) or not all(isinstance(v, str) for v in attributes.values()):
        raise InvalidInput("attributes must be a JSON object of text values", ("attributes",))
    return EventRow(line, _member_id(record), _text(record, "event_id") or "", _text(record, "event_type") or "",
                    attributes)


PARSERS: dict[ImportKind, Callable[[int, dict, datetime], MemberRow | BalanceRow | OrderRow | EventRow]] = {
    ImportKind.MEMBERS: parse_member, ImportKind.BALANCES: parse_balance, ImportKind.ORDERS: parse_order,
    ImportKind.EVENTS: parse_event, ImportKind.TAGS: parse_tag}


def _opening(points: int, expires_at: datetime | None, memo: str | None, now: datetime) -> OpeningLot:
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("these points expired before the import", ("expires_at",))
    memo = (memo or "").strip()
    if len(memo) > MAX_MEMO or any(ord(c) < 32 for c in memo):
        raise InvalidInput(f"memo is at most {MAX_MEMO} characters, without control characters", ("memo",))
    return OpeningLot(points, expires_at, memo or OPENING_MEMO)


def _member_id(record: dict) -> str:
    value = record.get("member_id")
    if not isinstance(value, str) or not EXTERNAL_ID_PATTERN.match(value.strip()):
        raise InvalidInput("member_id must be 1-64 letters, digits or _.:@-", ("member_id",))
    return value.strip()


def _text(record: dict, name: str) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", (name,))
    return value


def _whole(record: dict, name: str, low: int, high: int, required: bool = False) -> int:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{name} is required", (name,))
        return 0
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,12}\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}", (name,))
    return value


# An expiry given as a date means the whole of that day; any other date, its start.
WHOLE_DAY = frozenset({"points_expire_at", "expires_at"})


def _moment(record: dict, name: str) -> datetime | None:
    """ISO 8601: a date (UTC) or a time with an offset."""
    value = _text(record, name)
    if value is None:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            day = date.fromisoformat(value.strip())
            return datetime.combine(day, time.max if name in WHOLE_DAY else time.min, timezone.utc)
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a date (2026-12-31) or a time with its offset", (name,)) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs its UTC offset (2026-12-31T23:59:59+08:00)", (name,))
    return moment.astimezone(timezone.utc)


def batches(records: Iterable[tuple[int, dict]], size: int) -> Iterator[list[tuple[int, dict]]]:
    batch: list[tuple[int, dict]] = []
    for numbered in records:
        batch.append(numbered)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class ImportService:
    def __init__(self, transactions: "Transactions", clock: "Clock", events: "EventService") -> None:
        self.transactions = transactions
        self.clock = clock
        self.events = events

    async def resume_point(self, kind: ImportKind, source: str) -> int:
        """The last line of this file (by its fingerprint) an earlier run committed."""
        return await self.transactions.read(lambda uow: uow.imports.checkpoint(kind.value, source))

    async def run(self, kind: ImportKind, source: str, records: Iterable[tuple[int, dict]], *,
                  batch: int = DEFAULT_BATCH, progress: Progress = unreported,
                  rejected: Callable[[Rejection], None] = lambda _: None) -> ImportReport:
        """Import ``records`` (line number, row), ``batch`` a transaction, from after the checkpoint
        of ``source`` (the file's fingerprint). ``rejected`` hears of each row refused as it is."""
        if not 1 <= batch <= MAX_BATCH:
            raise InvalidInput(f"a batch is 1-{MAX_BATCH} rows", ("batch",))
        report = ImportReport(resumed_after=await self.resume_point(kind, source))
        for numbered in batches(((n, r) for n, r in records if n > report.resumed_after), batch):
            if kind is ImportKind.EVENTS:
                written, there, refused = await self._events(numbered)
                await self.transactions.write(lambda uow: uow.imports.save_checkpoint(
                    kind.value, source, numbered[-1][0], self.clock.now()))
            else:
                written, there, refused = await self.transactions.write(
                    lambda uow: self._batch(uow, kind, source, numbered))
            report.imported += written
            report.already_there += there
            for rejection in refused:
                report.rejected.append(rejection)
                rejected(rejection)
            progress(numbered[-1][0], None)
        return report

    async def rows(self, kind: ImportKind, records: list[dict]) -> ImportReport:
        """A small batch (a staff or integration call) in one transaction, by the same rules; each
        rejection names the row's position (1-based). No checkpoint: the natural keys suffice."""
        if not 1 <= len(records) <= MAX_CALL_ROWS:
            raise InvalidInput(f"1-{MAX_CALL_ROWS} rows a call", ("rows",))
        numbered = list(enumerate(records, start=1))
        if kind is ImportKind.EVENTS:
            return ImportReport(*await self._events(numbered))
        written, there, refused = await self.transactions.write(lambda uow: self._batch(uow, kind, None, numbered))
        return ImportReport(written, there, refused)

    async def _events(self, numbered: list[tuple[int, dict]]) -> tuple[int, int, list[Rejection]]:
        """Each event through the earning rules, as `recordEvent`, keyed by its type and id."""
        rows, refused = self._parsed(ImportKind.EVENTS, numbered, self.clock.now())
        ids, rows, unknown = await self.transactions.read(lambda uow: _of_known_members(uow, rows))
        refused += unknown
        written = there = 0
        for row in rows:
            try:
                outcome = await self.events.record(IMPORT, ids[row.external_id], row.event_type, row.event_id,
                                                   row.attributes, f"import:event:{row.event_type}:{row.event_id}"[:128])
            except DomainError as error:
                refused.append(Rejection(row.line, error.message))
                continue
            if outcome.replayed or (outcome.error is not None and outcome.error.code in ALREADY_RECORDED):
                there += 1
            elif outcome.error is not None:
                refused.append(Rejection(row.line, outcome.error.message))
            else:
                written += 1
        return written, there, sorted(refused, key=lambda r: r.line)

    def _parsed(self, kind: ImportKind, numbered: list[tuple[int, dict]], now: datetime) -> tuple[list, list[Rejection]]:
        rows, refused = [], []
        for line, record in numbered:
            if "_error" in record:  # the file could not hold it as a row
                refused.append(Rejection(line, record["_error"]))
                continue
            try:
                rows.append(PARSERS[kind](line, record, now))
            except InvalidInput as error:
                refused.append(Rejection(line, error.message))
        return rows, refused

    async def _batch(self, uow: "UnitOfWork", kind: ImportKind, source: str | None,
                     numbered: list[tuple[int, dict]]) -> tuple[int, int, list[Rejection]]:
        now = self.clock.now()
        rows, refused = self._parsed(kind, numbered, now)
        write = WRITERS[kind]
        written, there, refused_here = await write(uow, rows, now)
        if source is not None:
            await uow.imports.save_checkpoint(kind.value, source, numbered[-1][0], now)
        return written, there, sorted(refused + refused_here, key=lambda r: r.line)


async def _write_members(uow: "UnitOfWork", rows: list[MemberRow], now: datetime) -> tuple[int, int, list[Rejection]]:
    rows, repeated = _first_of_each(rows)
    there = await uow.imports.existing_members([r.external_id for r in rows])
    fresh = [r for r in rows if r.external_id not in there]
    tiers, default = await tier_table(uow), (await brand_settings(uow)).expiry_for(now)
    new = []
    for row in fresh:
        level = tiers.level_for(row.growth)
        new.append(NewMember(row.external_id, row.nickname, row.joined_at or now, level, row.growth,
                             tiers.upkeep.keep_until(level, now) if level > 1 else None, row.opening,
                             row.opening.expiry(default) if row.opening else None))
    ids = await uow.imports.add_members(new, now)
    await uow.imports.add_growth([GrowthChange(ids[m.external_id], m.growth, m.growth, GrowthReason.OPENING, now,
                                               IMPORT_ACTOR, "成长值（迁移）") for m in new if m.growth])
    entries = [LedgerEntry(ids[m.external_id], m.opening.points, m.opening.points, LedgerReason.OPENING, now,
                           IMPORT_ACTOR, m.lot_expires_at, m.opening.memo, m.opening.ref)
               for m in new if m.opening]
    await uow.imports.add_first_lots(entries)  # and the day summaries count them, as every entry saved
    return len(new), len(rows) - len(new) + repeated, []


async def _write_balances(uow: "UnitOfWork", rows: list[BalanceRow], now: datetime) -> tuple[int, int, list[Rejection]]:
    """Through each member's account, as any credit: their balance, lots, debt and due date follow."""
    ids, rows, refused = await _of_known_members(uow, rows)
    opened = await uow.imports.opened([(ids[r.external_id], r.opening.ref) for r in rows])
    default = (await brand_settings(uow)).expiry_for(now)
    written, there = 0, 0
    by_member: dict[int, list[BalanceRow]] = {}
    for row in rows:
        key = (ids[row.external_id], row.opening.ref)
        if key in opened:
            there += 1
            continue
        opened.add(key)
        by_member.setdefault(key[0], []).append(row)
    for member_id in sorted(by_member):
        member = await uow.members.lock(member_id)
        for row in by_member[member_id]:
            lot = row.opening
            member.account.credit(lot.points, LedgerReason.OPENING, now, lot.expiry(default), IMPORT_ACTOR, lot.memo,
                                  lot.ref)
            written += 1
        await uow.members.save(member)
    return written, there, refused


async def _write_orders(uow: "UnitOfWork", rows: list[OrderRow], now: datetime) -> tuple[int, int, list[Rejection]]:
    ids, rows, refused = await _of_known_members(uow, rows)
    there = await uow.imports.existing_orders([r.order_id for r in rows])
    written = 0
    for row in rows:
        if row.order_id in there:
            continue
        there.add(row.order_id)
        await uow.orders.add(row.history(ids[row.external_id]))
        written += 1
    return written, len(rows) - written, refused


async def _of_known_members(uow: "UnitOfWork", rows: list) -> tuple[dict[str, int], list, list[Rejection]]:
    """(the members' ids by member id, the rows of members Jifen has, the others rejected): balances,
    orders and events belong to members imported before them."""
    ids = await uow.imports.member_ids(sorted({r.external_id for r in rows}))
    refused = [Rejection(r.line, f"no member {r.external_id}: import the members first")
               for r in rows if r.external_id not in ids]
    return ids, [r for r in rows if r.external_id in ids], refused


async def _write_tags(uow: "UnitOfWork", rows: list[TagRow], now: datetime) -> tuple[int, int, list[Rejection]]:
    """Tags set by import; one a brand's staff have not created is refused (tags are theirs to define)."""
    ids, rows, refused = await _of_known_members(uow, rows)
    known = {t.code for t in await uow.tags.all()}
    refused += [Rejection(r.line, f"no tag {r.tag}: create it first") for r in rows if r.tag not in known]
    written = 0
    for code in sorted({r.tag for r in rows} & known):
        members = [ids[r.external_id] for r in rows if r.tag == code]
        written += await uow.tags.tag(code, members, TagSource.IMPORT, now)
    kept = sum(r.tag in known for r in rows)
    return written, kept - written, refused


WRITERS = {ImportKind.MEMBERS: _write_members, ImportKind.BALANCES: _write_balances,
           ImportKind.ORDERS: _write_orders, ImportKind.TAGS: _write_tags}


def _first_of_each(rows: list[MemberRow]) -> tuple[list[MemberRow], int]:
    """A member id again in one batch is already there, as it is in a later batch: the first row counts."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row.external_id not in seen:
            seen.add(row.external_id)
            kept.append(row)
    return kept, len(rows) - len(kept)
