"""Leaderboards (day, week, month, all time), a member's own rank, period prizes, and badges."""
from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import BadUserInput, UserError, caller, may_see_private, require_staff, user_errors
from api.graphql.relay import check_first, to_global_id
from api.graphql.scalars import Long
from domain import badges, leaderboards
from domain.errors import DomainError
from domain.realtime import masked

LeaderboardPeriod = strawberry.enum(leaderboards.LeaderboardPeriod,
                                    description="Periods in the brand's time zone; weeks start on Monday.")
BadgeCode = strawberry.enum(badges.BadgeCode)


@strawberry.type(description="Who holds a place: masked for everyone but themselves.")
class LeaderboardMember:
    id: strawberry.ID = strawberry.field(description="Stands for the member on this board only (this period and "
                                                     "its start): it tells rows apart and cannot be turned into "
                                                     "the member's id or matched across boards.")
    display_name: str
    is_me: bool
    member_id: strawberry.ID | None = strawberry.field(description="The member's global id: staff and the member "
                                                                   "themselves only; null for everyone else.")


@strawberry.type
class LeaderboardRow:
    rank: int
    points: Long = strawberry.field(description="Points earned in the period (engagement earnings only).")
    member: LeaderboardMember


@strawberry.type
class Badge:
    code: BadgeCode  # type: ignore[valid-type]
    name: str
    description: str
    awarded_at: datetime


def badge_type(badge: badges.Badge) -> Badge:
    definition = badge.definition
    return Badge(code=badge.code, name=definition.name, description=definition.description,
                 awarded_at=badge.awarded_at)


@strawberry.type
class PrizeTier:
    up_to_rank: int
    points: int


@strawberry.type
class LeaderboardPrizes:
    period: LeaderboardPeriod  # type: ignore[valid-type]
    tiers: list[PrizeTier]


@strawberry.input
class PrizeTierInput:
    up_to_rank: int
    points: int


@strawberry.input
class UpdateLeaderboardPrizesInput:
    period: LeaderboardPeriod  # type: ignore[valid-type]
    tiers: list[PrizeTierInput] = strawberry.field(description="Rising ranks: [{upToRank: 1, points: 500}, "
                                                               "{upToRank: 3, points: 200}]; [] for none.")


@strawberry.type
class UpdateLeaderboardPrizesPayload:
    prizes: LeaderboardPrizes | None
    user_errors: list[UserError]


def prizes_type(rule: leaderboards.PrizeRule) -> LeaderboardPrizes:
    return LeaderboardPrizes(period=rule.period, tiers=[PrizeTier(up_to_rank=r, points=p) for r, p in rule.tiers])


async def rows(info: Info, standings: list[leaderboards.Standing], board: str) -> list[LeaderboardRow]:
    members = await info.context.loaders.members.load_many([s.member_id for s in standings])
    return [LeaderboardRow(rank=s.rank, points=s.points, member=_placeholder(info, s.member_id, m, board))
            for s, m in zip(standings, members)]


def _placeholder(info: Info, member_id: int, member, board: str) -> LeaderboardMember:
    me = caller(info).member_id == member_id
    shown = (member.nickname if me else masked(member.nickname)) if member else "**"
    return LeaderboardMember(id=strawberry.ID(info.context.pseudonyms.of(board, member_id)), is_me=me,
                             display_name=shown,
                             member_id=to_global_id("Member", member.external_id)
                             if member and may_see_private(info, member_id) else None)


async def board_of(info: Info, period) -> tuple[leaderboards.LeaderboardPeriod, date, str]:
    """The period, the start of its current board, and the scope of that board's pseudonyms."""
    period = leaderboards.LeaderboardPeriod(period.value)
    starts_on = await info.context.services.leaderboards.current_start(period)
    return period, starts_on, leaderboards.board_scope(period, starts_on)


@strawberry.type
class LeaderboardQueries:
    @strawberry.field(description="The top of a period's leaderboard (`first` at most 100).")
    async def leaderboard(self, info: Info, period: LeaderboardPeriod, first: int  # type: ignore[valid-type]
                          ) -> list[LeaderboardRow]:
        check_first(first)
        period, starts_on, board = await board_of(info, period)
        return await rows(info, await info.context.services.leaderboards.top(period, first, starts_on), board)

    @strawberry.field(description="What the top ranks of a period win when it closes.")
    async def leaderboard_prizes(self, info: Info, period: LeaderboardPeriod  # type: ignore[valid-type]
                                 ) -> LeaderboardPrizes:
        return prizes_type(await info.context.services.leaderboards.prizes(leaderboards.LeaderboardPeriod(period.value)))


@strawberry.type
class LeaderboardMutations:
    @strawberry.mutation(description="Staff: prizes for the top ranks of each closed day, week or month.")
    async def update_leaderboard_prizes(self, info: Info, input: UpdateLeaderboardPrizesInput
                                        ) -> UpdateLeaderboardPrizesPayload:
        staff = require_staff(info)
        if len(input.tiers) > leaderboards.MAX_PRIZE_RANKS:
            raise BadUserInput(f"at most {leaderboards.MAX_PRIZE_RANKS} prize tiers")
        try:
            rule = await info.context.services.leaderboards.update_prizes(staff.actor, leaderboards.PrizeRule(
                leaderboards.LeaderboardPeriod(input.period.value), tuple((t.up_to_rank, t.points) for t in input.tiers)))
        except DomainError as error:
            return UpdateLeaderboardPrizesPayload(prizes=None, user_errors=user_errors(error))
        return UpdateLeaderboardPrizesPayload(prizes=prizes_type(rule), user_errors=[])
