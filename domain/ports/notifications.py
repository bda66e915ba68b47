"""What notifications need from storage; persistence/notifications.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.notifications import Notification, NotificationDraft


class NotificationRepository(Protocol):
    async def expiring_lots(self, after: datetime, until: datetime, start_after: tuple[datetime, int] | None,
                            limit: int) -> list[tuple[int, datetime, int]]:
        """(member, expiry, points) of open lots expiring in (after, until], in (expiry, member) order,
        from just past ``start_after``."""
        """(member id, expires at, points) of every open lot expiring in (after, until]."""
    async def add_once(self, drafts: Sequence["NotificationDraft"], at: datetime) -> list["Notification"]:
        """Store the drafts whose (member, ref) is new; return those stored."""
    async def page(self, member_id: int, before_id: int | None, limit: int) -> list["Notification"]: ...
    async def mark_read(self, member_id: int, ids: Sequence[int] | None, at: datetime) -> int: ...
    async def unread_count(self, member_id: int) -> int: ...
