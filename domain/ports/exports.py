"""What an export needs from storage; persistence/exports.py implements it."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.exports import ExportKind


class ExportRepository(Protocol):
    async def count(self, kind: "ExportKind", since: datetime | None) -> int: ...
    def rows(self, kind: "ExportKind", since: datetime | None) -> AsyncIterator[list[tuple]]:
        """Batches of rows in the order they were written, as domain.exports.COLUMNS names them."""
