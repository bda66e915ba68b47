"""Tags, who holds them and from where, rule tags worked out in SQL, and members' profiles."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, and_, delete, func, insert, literal, select, update

from domain.orders import OrderStatus
from domain.tags import Gender, Profile, Tag, TagRule, TagRuleKind, TagSource
from persistence.members import upsert
from persistence.tables import UtcDateTime, brand_events, member_profiles, member_segments, member_tags, purchase_orders, tags

T = member_tags.c


class SqlTagRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def all(self) -> list[Tag]:
        rows = await self.connection.execute(select(tags).order_by(tags.c.code))
        return [Tag(row.code, row.name, TagRule.from_record(row.rule)) for row in rows]

    async def get(self, code: str) -> Tag | None:
        row = (await self.connection.execute(select(tags).where(tags.c.code == code))).first()
        return Tag(row.code, row.name, TagRule.from_record(row.rule)) if row else None

    async def put(self, tag: Tag) -> None:
        values = {"name": tag.name, "rule": tag.rule.to_record() if tag.rule else None}
        statement = upsert(self.connection.dialect.name)(tags).values(code=tag.code, **values)
        await self.connection.execute(statement.on_conflict_do_update(index_elements=["code"], set_=values))

    async def tag(self, code: str, member_ids: list[int], source: TagSource, now: datetime) -> int:
        statement = upsert(self.connection.dialect.name)(member_tags).values([
            {"member_id": m, "tag_code": code, "source": source.value, "tagged_at": now} for m in set(member_ids)])
        result = await self.connection.execute(
            statement.on_conflict_do_nothing(index_elements=["member_id", "tag_code"]).returning(T.member_id))
        return len(result.all())

    async def untag(self, code: str, member_ids: list[int]) -> int:
        result = await self.connection.execute(delete(member_tags).where(
            T.tag_code == code, T.member_id.in_(member_ids)))
        return result.rowcount

    async def of_members(self, member_ids: list[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {m: [] for m in member_ids}
        rows = await self.connection.execute(select(T.member_id, T.tag_code).where(T.member_id.in_(member_ids))
                                             .order_by(T.tag_code))
        for row in rows:
            found[row.member_id].append(row.tag_code)
        return found

    async def holds_any(self, member_id: int, codes: tuple[str, ...]) -> bool:
        found = await self.connection.scalar(select(T.tag_code).where(
            T.member_id == member_id, T.tag_code.in_(codes)).limit(1))
        return found is not None

    async def members_with(self, code: str, before_id: int | None, limit: int) -> list[int]:
        query = select(T.member_id).where(T.tag_code == code)
        if before_id is not None:
            query = query.where(T.member_id < before_id)
        rows = await self.connection.execute(query.order_by(T.member_id.desc()).limit(limit))
        return [row.member_id for row in rows]

    async def refresh_rule(self, code: str, rule: TagRule, since: datetime, now: datetime) -> int:
        found = matching(rule, since)
        await self.connection.execute(delete(member_tags).where(
            T.tag_code == code, T.source == TagSource.RULE.value, T.member_id.not_in(select(found.c.member_id))))
        adding = select(found.c.member_id, literal(code, String()), literal(TagSource.RULE.value, String()),
                        literal(now, UtcDateTime())).where(found.c.member_id.is_not(None))  # a WHERE: SQLite's upsert
        statement = upsert(self.connection.dialect.name)(member_tags).from_select(
            ["member_id", "tag_code", "source", "tagged_at"], adding)
        await self.connection.execute(statement.on_conflict_do_nothing(index_elements=["member_id", "tag_code"]))
        return await self.connection.scalar(select(func.count()).select_from(member_tags).where(
            T.tag_code == code, T.source == TagSource.RULE.value))

    async def profile(self, member_id: int) -> Profile:
        row = (await self.connection.execute(select(member_profiles).where(
            member_profiles.c.member_id == member_id))).first()
        if row is None:
            return Profile(member_id)
        return Profile(member_id, Gender(row.gender), row.city, row.preferred_store_id, dict(row.attributes or {}),
                       row.updated_at)

    async def put_profile(self, profile: Profile) -> None:
        values = {"gender": profile.gender.value, "city": profile.city,
                  "preferred_store_id": profile.preferred_store_id, "attributes": profile.attributes,
                  "updated_at": profile.updated_at}
        changed = await self.connection.execute(update(member_profiles).where(
            member_profiles.c.member_id == profile.member_id).values(**values))
        if not changed.rowcount:
            await self.connection.execute(insert(member_profiles).values(member_id=profile.member_id, **values))


def matching(rule: TagRule, since: datetime):
    """The members a rule finds, as a subquery of member ids."""
    if rule.kind is TagRuleKind.SEGMENT:
        return select(member_segments.c.member_id).where(member_segments.c.segment == rule.segment.value).subquery()
    if rule.kind is TagRuleKind.EVENT:
        e = brand_events.c
        return select(e.member_id).where(and_(e.event_type == rule.event_type, e.occurred_at >= since,
                                               e.revoked_at.is_(None))) \
            .group_by(e.member_id).having(func.count() >= rule.min_count).subquery()
    o = purchase_orders.c
    return select(o.member_id).where(and_(o.placed_at >= since, o.status != OrderStatus.REFUNDED.value)) \
        .group_by(o.member_id).having(and_(func.count() >= rule.min_count,
                                           func.sum(o.amount_fen - o.refunded_fen) >= rule.min_spend_fen)).subquery()
