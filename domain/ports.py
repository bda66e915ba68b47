"""What the domain needs from storage. ``persistence`` implements these; tests may fake them."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from domain.checkin import CheckIn
    from domain.idempotency import IdempotencyRecord
    from domain.ledger import AccountSnapshot, Hold, LedgerEntry, LedgerReason
    from domain.members import Member
    from domain.tiers import TierChange

T = TypeVar("T")


class MemberRepository(Protocol):
    async def get(self, member_id: int) -> Member | None: ...
    async def get_by_external_id(self, external_id: str) -> Member | None: ...
    async def get_many(self, member_ids: Sequence[int]) -> list[Member]: ...
    async def add_if_absent(self, external_id: str, nickname: str, tier_level: int, at: datetime) -> None: ...
    async def lock(self, member_id: int) -> Member | None:
        """Load a member with its open lots, holding a write lock until the transaction ends."""
    async def save(self, member: Member) -> list[LedgerEntry]:
        """Persist account changes; return the new entries with their ids."""
    async def tier_changes(self, member_id: int) -> list[TierChange]: ...


class LedgerRepository(Protocol):
    async def entries_page(self, member_id: int, before_id: int | None, limit: int,
                           reasons: Sequence[LedgerReason] | None) -> list[LedgerEntry]: ...
    async def entries_by_id(self, entry_ids: Sequence[int]) -> list[LedgerEntry]: ...
    async def open_lots(self, member_id: int) -> dict[datetime, int]: ...
    async def hold(self, hold_id: int) -> Hold | None: ...
    async def members_with_lots_due(self, now: datetime, after_id: int, limit: int) -> list[int]: ...
    async def holds_due(self, now: datetime, limit: int) -> list[Hold]: ...
    async def active_holds_due(self, member_id: int, now: datetime) -> list[Hold]: ...
    async def member_ids(self, after_id: int, limit: int) -> list[int]: ...
    async def audit_snapshot(self, member_id: int) -> "AccountSnapshot": ...


class CheckInRepository(Protocol):
    async def latest(self, member_ids: Sequence[int]) -> dict[int, CheckIn]: ...
    async def add(self, check_in: CheckIn) -> None: ...


class IdempotencyRepository(Protocol):
    async def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...
    async def add(self, record: IdempotencyRecord) -> None: ...
    async def purge_before(self, moment: datetime) -> int: ...


class SettingsRepository(Protocol):
    async def get(self, key: str) -> Any | None: ...
    async def put(self, key: str, value: Any, actor: str, at: datetime) -> None: ...


class AuditLog(Protocol):
    async def record(self, actor: str, action: str, target: str, details: dict, at: datetime) -> None: ...


class UnitOfWork(Protocol):
    members: MemberRepository
    ledger: LedgerRepository
    check_ins: CheckInRepository
    idempotency: IdempotencyRepository
    settings: SettingsRepository
    audit: AuditLog


class Transactions(Protocol):
    async def write(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run ``work`` in one write transaction; commit on return, roll back on error.

        Transient conflicts (deadlock, serialization failure, a unique race) rerun ``work``
        from the start, a bounded number of times, so ``work`` must not keep state between runs.
        """

    async def read(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T: ...
