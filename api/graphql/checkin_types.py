"""Check-in state shown on a member (kept apart so Member and the check-in mutations can both use it)."""
import strawberry


@strawberry.type
class CheckInStatus:
    streak: int = strawberry.field(description="Days in the current unbroken run; 0 when the run is broken.")
    checked_in_today: bool


@strawberry.type
class StreakBonus:
    day: int
    points: int


@strawberry.type(description="The brand's daily check-in rule.")
class CheckInRule:
    base_points: int
    streak_bonuses: list[StreakBonus]
