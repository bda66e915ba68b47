"""What invitations need from storage; persistence/invitations.py implements it."""
from __future__ import annotations

from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.invitations import Invitation


class InvitationRepository(Protocol):
    async def inviter_of(self, invitee_id: int) -> int | None: ...
    async def count_by_inviter(self, inviter_id: int) -> int: ...
    async def add(self, invitation: "Invitation") -> None: ...
    async def serialize_acceptances(self) -> None:
        """Hold a brand-wide lock until commit, so concurrent acceptances cannot close a cycle between them."""
