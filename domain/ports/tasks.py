"""What tasks need from storage; persistence/tasks.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.tasks import Task


class TaskRepository(Protocol):
    async def get(self, code: str) -> "Task | None": ...
    async def all(self) -> list["Task"]: ...
    async def put(self, task: "Task") -> None: ...
    async def completions(self, member_id: int, code: str, period_key: str) -> int: ...
    async def completion_counts(self, member_id: int, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]: ...
    async def add_completion(self, member_id: int, code: str, period_key: str, at: datetime) -> None: ...
    async def completions_since(self, member_id: int, codes: Sequence[str], since: datetime) -> int: ...
    async def use_ticket_nonce(self, key_id: str, nonce: str, member_id: int, at: datetime) -> bool:
        """Record a completion ticket's nonce; False when it was recorded before (the ticket was used)."""
    async def purge_ticket_nonces(self, before: datetime) -> int:
        """Forget nonces of tickets that can no longer be valid."""
    async def challenges_with_step(self, step_code: str) -> list["Task"]:
        """Enabled challenges that count ``step_code`` among their steps."""
