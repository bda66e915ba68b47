"""What tags and profiles need from storage; persistence/tags.py implements it."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.tags import Profile, Tag, TagRule, TagSource


class TagRepository(Protocol):
    async def all(self) -> list["Tag"]: ...
    async def get(self, code: str) -> "Tag | None": ...
    async def put(self, tag: "Tag") -> None: ...
    async def tag(self, code: str, member_ids: list[int], source: "TagSource", now: datetime) -> int:
        """Tag those not tagged yet; how many were."""
    async def untag(self, code: str, member_ids: list[int]) -> int: ...
    async def of_members(self, member_ids: list[int]) -> dict[int, list[str]]: ...
    async def holds_any(self, member_id: int, codes: tuple[str, ...]) -> bool: ...
    async def members_with(self, code: str, before_id: int | None, limit: int) -> list[int]:
        """Members holding the tag, by descending id below ``before_id``."""
    async def refresh_rule(self, code: str, rule: "TagRule", since: datetime, now: datetime) -> int:
        """Make the tag's RULE rows the members the rule finds (since ``since``); how many hold it so."""
    async def profile(self, member_id: int) -> "Profile":
        """The member's profile (an empty one before anything was set)."""
    async def put_profile(self, profile: "Profile") -> None: ...
