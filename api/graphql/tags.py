"""Member tags (标签) and profiles (360° profile): staff define tags and set them; rules set them too."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, caller, require_member, require_private, require_staff, user_errors
from api.graphql.members import member_key, resolve_member_id
from api.graphql.segments import Segment
from domain import tags
from domain.errors import DomainError, InvalidInput

TagRuleKind = strawberry.enum(tags.TagRuleKind, description=(
    "EVENT: an event type seen minCount times within withinDays; ORDERS: minCount orders and minSpendFen spent "
    "(refunds taken off) within withinDays; SEGMENT: in a segment as its last refresh stored it."))
Gender = strawberry.enum(tags.Gender)


@strawberry.type
class TagRule:
    kind: TagRuleKind  # type: ignore[valid-type]
    event_type: str | None
    min_count: int
    min_spend_fen: int
    within_days: int
    segment: Segment | None  # type: ignore[valid-type]


@strawberry.type(description="A staff-defined member tag; one with a rule is worked out again daily.")
class Tag:
    code: str
    name: str
    rule: TagRule | None

    @classmethod
    def of(cls, tag: tags.Tag) -> "Tag":
        rule = tag.rule
        return cls(code=tag.code, name=tag.name, rule=None if rule is None else TagRule(
            kind=rule.kind, event_type=rule.event_type, min_count=rule.min_count, min_spend_fen=rule.min_spend_fen,
            within_days=rule.within_days, segment=rule.segment))


@strawberry.input
class TagRuleInput:
    kind: TagRuleKind  # type: ignore[valid-type]
    event_type: str | None = None
    min_count: int = 1
    min_spend_fen: int = 0
    within_days: int = 30
    segment: Segment | None = None  # type: ignore[valid-type]


@strawberry.input
class TagInput:
    code: str
    name: str
    rule: TagRuleInput | None = strawberry.field(default=None, description="Set by this rule as well as by hand.")

    def to_domain(self) -> tags.Tag:
        rule = None if self.rule is None else tags.TagRule(
            tags.TagRuleKind(self.rule.kind.value), self.rule.event_type, self.rule.min_count,
            self.rule.min_spend_fen, self.rule.within_days, self.rule.segment)
        return tags.Tag(self.code, self.name.strip(), rule)


@strawberry.type
class TagPayload:
    tag: Tag | None
    user_errors: list[UserError]


@strawberry.input
class TagMembersInput:
    tag: str
    member_ids: list[strawberry.ID] = strawberry.field(description="1-1000 members (global or brand member ids).")
    remove: bool = strawberry.field(default=False, description="Take the tag off instead.")


@strawberry.type
class TagMembersPayload:
    changed: int = strawberry.field(description="Members newly tagged (or untagged).")
    user_errors: list[UserError]


@strawberry.type
class RefreshTagsPayload:
    tagged: int = strawberry.field(description="Members holding a rule tag after the refresh.")


@strawberry.type
class ProfileAttribute:
    key: str
    value: str


@strawberry.type(description="What the brand keeps of a member beyond the account (the member and staff only).")
class Profile:
    gender: Gender  # type: ignore[valid-type]
    city: str | None
    preferred_store_id: str | None
    attributes: list[ProfileAttribute]
    updated_at: datetime | None

    @classmethod
    def of(cls, profile: tags.Profile) -> "Profile":
        return cls(gender=profile.gender, city=profile.city, preferred_store_id=profile.preferred_store_id,
                   attributes=[ProfileAttribute(key=k, value=v) for k, v in sorted(profile.attributes.items())],
                   updated_at=profile.updated_at)


@strawberry.input
class ProfileAttributeInput:
    key: str
    value: str = strawberry.field(description="An empty value removes the key.")


@strawberry.input(description="Fields left out stay as they are.")
class UpdateProfileInput:
    member_id: strawberry.ID | None = strawberry.field(default=None, description="Staff: whose profile. Members "
                                                                                 "edit their own.")
    gender: Gender | None = None  # type: ignore[valid-type]
    city: str | None = None
    preferred_store_id: str | None = None
    attributes: list[ProfileAttributeInput] | None = strawberry.field(
        default=None, description=f"Replaces the set (at most {tags.MAX_ATTRIBUTES}).")

    def changes(self) -> dict:
        found = {name: getattr(self, name) for name in ("gender", "city", "preferred_store_id")
                 if getattr(self, name) is not None}
        if self.attributes is not None:
            if len(self.attributes) > tags.MAX_ATTRIBUTES:
                raise InvalidInput(f"at most {tags.MAX_ATTRIBUTES} attributes", ("attributes",))
            found["attributes"] = {a.key: a.value.strip() for a in self.attributes}
        if "preferred_store_id" in found and not found["preferred_store_id"]:
            found["preferred_store_id"] = None
        return found


@strawberry.type
class UpdateProfilePayload:
    profile: Profile | None
    user_errors: list[UserError]


async def member_tags(info: Info, member_id: int) -> list[str]:
    require_staff(info)
    return (await info.context.services.tags.of_members([member_id]))[member_id]


async def member_profile(info: Info, member_id: int) -> Profile:
    require_private(info, member_id, "profiles")
    return Profile.of(await info.context.services.tags.profile(member_id))


def target_tags(info: Info, codes: tuple[str, ...]) -> list[str] | None:
    """The tags something is kept for: staff see them, others do not (tag names say how a brand sees people)."""
    return list(codes) if caller(info).is_staff else None


@strawberry.type
class TagQueries:
    @strawberry.field(description="Staff: every tag.")
    async def tags(self, info: Info) -> list[Tag]:
        require_staff(info)
        return [Tag.of(t) for t in await info.context.services.tags.all()]


async def save(info: Info, data: TagInput, *, create: bool) -> TagPayload:
    staff = require_staff(info)
    try:
        saved = await info.context.services.tags.save(staff.actor, data.to_domain(), create=create)
    except DomainError as error:
        return TagPayload(tag=None, user_errors=user_errors(error))
    return TagPayload(tag=Tag.of(saved), user_errors=[])


@strawberry.type
class TagMutations:
    @strawberry.mutation(description="Staff: define a tag (with a rule, it is worked out at once and daily).")
    async def create_tag(self, info: Info, input: TagInput) -> TagPayload:
        return await save(info, input, create=True)

    @strawberry.mutation(description="Staff: rename a tag or change its rule.")
    async def update_tag(self, info: Info, input: TagInput) -> TagPayload:
        return await save(info, input, create=False)

    @strawberry.mutation(description="Staff, or an integration with the import scope: set a tag on members (or "
                                     "take it off). A rule refresh never removes a tag set this way.")
    async def tag_members(self, info: Info, input: TagMembersInput) -> TagMembersPayload:
        who = caller(info)
        if not who.holds("import"):
            require_staff(info)
        source = tags.TagSource.MANUAL if who.is_staff else tags.TagSource.IMPORT
        try:
            if not 1 <= len(input.member_ids) <= tags.MAX_TAGGED_AT_ONCE:
                raise InvalidInput(f"1-{tags.MAX_TAGGED_AT_ONCE} members at once", ("memberIds",))
            external_ids = [await member_key(m) for m in input.member_ids]
            changed = await info.context.services.tags.tag_members(who.actor, input.tag, external_ids,
                                                                  remove=input.remove, source=source)
        except DomainError as error:
            return TagMembersPayload(changed=0, user_errors=user_errors(error))
        return TagMembersPayload(changed=changed, user_errors=[])

    @strawberry.mutation(description="Staff: work every rule tag out again now (the sweep does it daily).")
    async def refresh_tags(self, info: Info) -> RefreshTagsPayload:
        require_staff(info)
        return RefreshTagsPayload(tagged=await info.context.services.tags.refresh())

    @strawberry.mutation(description="Member: your profile; staff: anyone's (memberId).")
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> UpdateProfilePayload:
        try:
            if input.member_id is not None:
                staff = require_staff(info)
                actor, member_id = staff.actor, await resolve_member_id(info, input.member_id)
            else:
                member = require_member(info)
                actor, member_id = member.actor, member.member_id
            profile = await info.context.services.tags.update_profile(actor, member_id, input.changes())
        except DomainError as error:
            return UpdateProfilePayload(profile=None, user_errors=user_errors(error))
        return UpdateProfilePayload(profile=Profile.of(profile), user_errors=[])
