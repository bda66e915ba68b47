"""What brand settings and the audit log need from storage; persistence/settings.py implements it."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.audit import AuditFilter, AuditRecord


class SettingsRepository(Protocol):
    async def get(self, key: str) -> Any | None: ...
    async def put(self, key: str, value: Any, actor: str, at: datetime) -> None: ...

class AuditLog(Protocol):
    async def record(self, actor: str, action: str, target: str, details: dict, at: datetime) -> None: ...
    async def page(self, where: "AuditFilter", before_id: int | None, limit: int) -> list["AuditRecord"]:
        """Newest first."""
