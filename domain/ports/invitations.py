"""What invitations need from storage; persistence/invitations.py implements it."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.invitations import Invitation, ReviewStatus, RiskReview


class InvitationRepository(Protocol):
    async def inviter_of(self, invitee_id: int) -> int | None: ...
    async def get(self, invitee_id: int) -> "Invitation | None": ...
    async def of_inviter(self, inviter_id: int, limit: int) -> list["Invitation"]:
        """The inviter's invitations, newest first."""
    async def count_by_inviter(self, inviter_id: int) -> int: ...
    async def count_since(self, inviter_id: int, since: datetime) -> int: ...
    async def rewarded_count(self, inviter_id: int, since: datetime | None) -> int:
        """Invitations of the inviter paid or to be paid (accepted since ``since``, or ever)."""
    async def shares_a_device(self, inviter_id: int, device_id: str | None, phone_hash: str | None) -> bool:
        """Whether another invitee of the inviter is on this device or has this phone."""
    async def device_rewarded(self, device_id: str | None, phone_hash: str | None) -> bool:
        """Whether an invitee on this device or with this phone was rewarded already."""
    async def add(self, invitation: "Invitation") -> None: ...
    async def update(self, invitation: "Invitation") -> None: ...
    async def qualified(self, now: datetime, check_ins_needed: int, days: int) -> list["Invitation"]:
        """PENDING invitations whose friend became real within ``days`` of accepting."""
    async def lapse(self, accepted_before: datetime, now: datetime) -> int:
        """PENDING invitations accepted before ``accepted_before`` become LAPSED."""
    async def first_order_due(self) -> list["Invitation"]:
        """PAID invitations whose friend has a released order and whose first-order reward is unpaid."""
    async def add_review(self, review: "RiskReview") -> None: ...
    async def review(self, review_id: int) -> "RiskReview | None": ...
    async def reviews(self, status: "ReviewStatus | None", before_id: int | None, limit: int) -> list["RiskReview"]: ...
    async def update_review(self, review: "RiskReview") -> None: ...
    async def under_review(self, member_id: int) -> bool:
        """Whether an open review names the member (as the one held back or as its subject)."""
    async def serialize_acceptances(self) -> None:
        """Hold a brand-wide lock until commit, so concurrent acceptances cannot close a cycle between them."""
