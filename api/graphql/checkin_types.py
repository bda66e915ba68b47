"""Check-in state shown on a member (kept apart so Member and the check-in mutations can both use it)."""
import strawberry


@strawberry.type
class CheckInStatus:
    streak: int = strawberry.field(description="Days in the current unbroken run; 0 when the run is broken.")
    checked_in_today: bool
    total_days: int = strawberry.field(default=0, description="累计签到: check-in days all told.")
    days_this_month: int = strawberry.field(default=0, description="Check-in days in this calendar month (the "
                                                                   "brand's), today's included.")


@strawberry.type
class StreakBonus:
    day: int
    points: int


@strawberry.type(description="Points paid once a member's check-in days reach a total.")
class CheckInTotalReward:
    days: int
    points: int


@strawberry.type(description="The brand's daily check-in rule.")
class CheckInRule:
    base_points: int
    streak_bonuses: list[StreakBonus]
    monthly_rewards: list[CheckInTotalReward] = strawberry.field(
        default_factory=list, description="Paid on the check-in that reaches `days` in a calendar month (each month).")
    lifetime_rewards: list[CheckInTotalReward] = strawberry.field(
        default_factory=list, description="Paid on the check-in that reaches `days` all told (once).")
