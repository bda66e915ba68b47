"""The ledger change feed for the brand's integrations (`ledgerChanges`)."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import require_scope
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.relay import PageInfo, to_global_id
from domain import feed

FEED_SCOPE = "ledger:read"


@strawberry.type(description="A ledger entry as the change feed shows it, with the member it belongs to.")
class LedgerChange:
    member_id: strawberry.ID = strawberry.field(description="The member's global id.")
    brand_member_id: str = strawberry.field(description="The brand's own member id (the member token's subject).")
    entry: LedgerEntry


@strawberry.type
class LedgerChangeEdge:
    cursor: str
    node: LedgerChange


@strawberry.type
class LedgerChangeConnection:
    edges: list[LedgerChangeEdge]
    page_info: PageInfo = strawberry.field(description=(
        "endCursor: where to ask from next time; it is `after` again when nothing new has come."))


def change_type(change: feed.LedgerChange) -> LedgerChangeEdge:
    return LedgerChangeEdge(cursor=change.position.encode(), node=LedgerChange(
        member_id=to_global_id("Member", change.member_external_id), brand_member_id=change.member_external_id,
        entry=entry_type(change.entry)))


@strawberry.type
class FeedQueries:
    @strawberry.field(description=(
        "Integration (scope ledger:read) or staff: every ledger entry once, in the order of the "
        "transactions that wrote them, never skipping one that commits late. Keep `pageInfo.endCursor` "
        "and ask again with it as `after`; null `after` starts from the first entry."))
    async def ledger_changes(self, info: Info, first: int = 100, after: str | None = None) -> LedgerChangeConnection:
        require_scope(info, FEED_SCOPE)
        position = feed.FeedPosition.decode(after)
        changes, more = await info.context.services.feed.changes(position, first)
        edges = [change_type(c) for c in changes]
        return LedgerChangeConnection(edges=edges, page_info=PageInfo(
            has_next_page=more, has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else (after if after is not None else position.encode())))
