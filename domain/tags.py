"""Member tags (标签) and the profile a brand keeps of each member (360° profile).

Rules, decided here:
- Staff define tags by code. A tag is set by hand (``tagMembers``), by import (`jifen import tags`,
  or ``tagMembers`` from an integration with the ``import`` scope), or by its ``rule``: an event
  type seen N times, orders (count and spend) within D days, or a segment. Rule tags are worked
  out again once a brand day by the sweep, or at once by ``refreshTags``; a refresh replaces only
  what the rule set, never a tag set by hand or by import.
- Campaigns, pushes, mall items and lotteries may target tags: a member qualifies holding any of
  them; a targeted item or lottery refuses others with ``NOT_TARGETED``.
- The profile holds gender, city, preferred store and up to ``MAX_ATTRIBUTES`` custom key/values
  (keys ``[a-z][a-z0-9_]{0,31}``, values up to 200 characters). The member edits their own; staff
  edit anyone's. Only the member and staff read it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain.brand import first_run_today
from domain.configuration import Actor, check_presence
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.segments import Segment
from domain.text import checked_text

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.ports import Transactions, UnitOfWork

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}\Z")
EVENT_TYPE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}\Z")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
MAX_ATTRIBUTES = 20
MAX_TAGGED_AT_ONCE = 1000
MAX_TARGET_TAGS = 10
LAST_REFRESH_KEY = "tags:last-refresh"


class TagSource(str, Enum):
    MANUAL = "MANUAL"
    RULE = "RULE"
    IMPORT = "IMPORT"


class TagRuleKind(str, Enum):
    EVENT = "EVENT"  # `event_type` seen `min_count` times within `within_days`
    ORDERS = "ORDERS"  # `min_count` orders and `min_spend_fen` spent within `within_days` (refunds taken off)
    SEGMENT = "SEGMENT"  # in `segment` as the last refresh stored it


@dataclass(frozen=True)
class TagRule:
    kind: TagRuleKind
    event_type: str | None = None
    min_count: int = 1
    min_spend_fen: int = 0
    within_days: int = 30
    segment: Segment | None = None

    def __post_init__(self) -> None:
        if self.kind is TagRuleKind.EVENT and not EVENT_TYPE_PATTERN.match(self.event_type or ""):
            raise InvalidInput("an EVENT rule names an event type", ("rule", "eventType"))
        if self.kind is TagRuleKind.SEGMENT and self.segment is None:
            raise InvalidInput("a SEGMENT rule names a segment", ("rule", "segment"))
        if not 0 <= self.min_count <= 100_000 or not 0 <= self.min_spend_fen <= 100_000_000_00:
            raise InvalidInput("minCount is 0-100000 and minSpendFen 0 or more", ("rule", "minCount"))
        if not 1 <= self.within_days <= 3660:
            raise InvalidInput("withinDays is 1-3660", ("rule", "withinDays"))

    def to_record(self) -> dict:
        return {"kind": self.kind.value, "eventType": self.event_type, "minCount": self.min_count,
                "minSpendFen": self.min_spend_fen, "withinDays": self.within_days,
                "segment": self.segment.value if self.segment else None}

    @classmethod
    def from_record(cls, r: dict | None) -> "TagRule | None":
        if not r:
            return None
        return cls(TagRuleKind(r["kind"]), r.get("eventType"), r.get("minCount", 1), r.get("minSpendFen", 0),
                   r.get("withinDays", 30), Segment(r["segment"]) if r.get("segment") else None)


@dataclass(frozen=True)
class Tag:
    code: str
    name: str
    rule: TagRule | None = None

    def __post_init__(self) -> None:
        if not CODE_PATTERN.match(self.code):
            raise InvalidInput("code must be 1-40 lowercase letters, digits, _ or -", ("code",))
        checked_text(self.name, "name", max_length=40)


def checked_tags(codes: tuple[str, ...], field: str = "tags") -> tuple[str, ...]:
    """Target tags as a campaign, item or lottery keeps them: codes, at most ``MAX_TARGET_TAGS``."""
    if len(codes) > MAX_TARGET_TAGS or any(not CODE_PATTERN.match(c) for c in codes):
        raise InvalidInput(f"at most {MAX_TARGET_TAGS} tag codes", (field,))
    return tuple(sorted(set(codes)))


async def check_tags_exist(uow: "UnitOfWork", codes: tuple[str, ...], field: str = "tags") -> None:
    missing = set(codes) - {t.code for t in await uow.tags.all()}
    if missing:
        raise InvalidInput(f"no tag {sorted(missing)[0]}", (field,))


async def targeting_refusal(uow: "UnitOfWork", member_id: int, tags: tuple[str, ...], what: str,
                            field: tuple[str, ...]) -> Refusal | None:
    """The refusal of something kept for members holding any of ``tags`` (none: everyone)."""
    if not tags or await uow.tags.holds_any(member_id, tags):
        return None
    return Refusal(ErrorCode.NOT_TARGETED, f"{what} is for selected members", field)


class Gender(str, Enum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    OTHER = "OTHER"
    UNDISCLOSED = "UNDISCLOSED"


@dataclass
class Profile:
    member_id: int
    gender: Gender = Gender.UNDISCLOSED
    city: str | None = None
    preferred_store_id: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    updated_at: datetime | None = None

    def validate(self) -> "Profile":
        self.city = checked_text(self.city, "city", max_length=40, required=False) or None
        if self.preferred_store_id is not None:
            from domain.orders import checked_store_id  # here: orders import campaigns, which import tags
            checked_store_id(self.preferred_store_id, "preferredStoreId")
        if len(self.attributes) > MAX_ATTRIBUTES:
            raise InvalidInput(f"at most {MAX_ATTRIBUTES} attributes", ("attributes",))
        for key, value in self.attributes.items():
            if not KEY_PATTERN.match(key):
                raise InvalidInput("attribute keys are 1-32 lowercase letters, digits or _, from a letter",
                                   ("attributes", "key"))
            checked_text(value, "value", max_length=200, required=False)
        return self


class TagService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def all(self) -> list[Tag]:
        return await self.transactions.read(lambda uow: uow.tags.all())

    async def save(self, staff: Actor, tag: Tag, *, create: bool) -> Tag:
        async def work(uow: "UnitOfWork") -> Tag:
            check_presence(await uow.tags.get(tag.code) is not None, create=create, what="tag", code=tag.code)
            await uow.tags.put(tag)
            await uow.audit.record(staff.label, "tag.create" if create else "tag.update", tag.code,
                                   {"name": tag.name, "rule": tag.rule.to_record() if tag.rule else None},
                                   self.clock.now())
            return tag

        saved = await self.transactions.write(work)
        if saved.rule is not None:
            await self.refresh_one(saved)
        return saved

    async def tag_members(self, actor: Actor, code: str, external_ids: list[str], *, remove: bool,
                          source: TagSource = TagSource.MANUAL) -> int:
        """Set (or take off) a tag by hand or by import, naming members by the brand's member ids (found
        in one read); how many members changed."""
        if not 1 <= len(external_ids) <= MAX_TAGGED_AT_ONCE:
            raise InvalidInput(f"1-{MAX_TAGGED_AT_ONCE} members at once", ("memberIds",))

        async def work(uow: "UnitOfWork") -> int:
            if await uow.tags.get(code) is None:
                raise NotFound(f"no tag {code[:40]}", ("tag",))
            found = await uow.imports.member_ids(sorted(set(external_ids)))
            if len(found) < len(set(external_ids)):
                raise InvalidInput("no such member", ("memberIds",))
            member_ids, now = list(found.values()), self.clock.now()
            changed = await uow.tags.untag(code, member_ids) if remove else \
                await uow.tags.tag(code, member_ids, source, now)
            await uow.audit.record(actor.label, "tag.remove" if remove else "tag.add", code,
                                   {"members": len(member_ids), "changed": changed}, now)
            return changed

        return await self.transactions.write(work)

    async def of_members(self, member_ids: list[int]) -> dict[int, list[str]]:
        return await self.transactions.read(lambda uow: uow.tags.of_members(member_ids))

    async def refresh(self) -> int:
        """Work every rule tag out again now; how many members hold a rule tag after."""
        total = 0
        for tag in await self.all():
            if tag.rule is not None:
                total += await self.refresh_one(tag)
        return total

    async def refresh_one(self, tag: Tag) -> int:
        now = self.clock.now()
        since = now - timedelta(days=tag.rule.within_days)
        return await self.transactions.write(lambda uow: uow.tags.refresh_rule(tag.code, tag.rule, since, now))

    async def refresh_if_due(self) -> int | None:
        """Once a brand day (the scheduler asks every sweep)."""
        now = self.clock.now()

        claimed = await self.transactions.write(lambda uow: first_run_today(uow, LAST_REFRESH_KEY, now))
        return await self.refresh() if claimed else None

    # --- the profile ----------------------------------------------------------------------------

    async def profile(self, member_id: int) -> Profile:
        return await self.transactions.read(lambda uow: uow.tags.profile(member_id))

    async def update_profile(self, actor: Actor, member_id: int, changes: dict) -> Profile:
        """Change the fields given (``attributes`` replaces the set; an empty value removes a key)."""
        async def work(uow: "UnitOfWork") -> Profile:
            profile = await uow.tags.profile(member_id)
            for name, value in changes.items():
                setattr(profile, name, value)
            profile.attributes = {k: v for k, v in profile.attributes.items() if v}
            profile.updated_at = self.clock.now()
            await uow.tags.put_profile(profile.validate())
            if actor.kind == "staff":
                await uow.audit.record(actor.label, "profile.update", str(member_id),
                                       {"fields": sorted(changes)}, profile.updated_at)
            return profile

        return await self.transactions.write(work)
