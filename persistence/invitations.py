"""Who invited whom: one row per invitee, so the database refuses a second acceptance too."""
from __future__ import annotations

from sqlalchemy import func, insert, select

from domain.invitations import Invitation
from persistence.tables import invitations


ACCEPTANCE_LOCK = 0x6A6966656E01  # an arbitrary, fixed advisory-lock key for invitation acceptances


class SqlInvitationRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def inviter_of(self, invitee_id: int) -> int | None:
        return await self.connection.scalar(
            select(invitations.c.inviter_id).where(invitations.c.invitee_id == invitee_id))

    async def count_by_inviter(self, inviter_id: int) -> int:
        return await self.connection.scalar(
            select(func.count()).select_from(invitations).where(invitations.c.inviter_id == inviter_id))

    async def serialize_acceptances(self) -> None:
        if self.connection.dialect.name == "postgresql":
            await self.connection.execute(select(func.pg_advisory_xact_lock(ACCEPTANCE_LOCK)))
        # SQLite: write transactions are serial already (BEGIN IMMEDIATE).

    async def add(self, invitation: Invitation) -> None:
        await self.connection.execute(insert(invitations).values(
            invitee_id=invitation.invitee_id, inviter_id=invitation.inviter_id, accepted_at=invitation.accepted_at,
            inviter_points=invitation.inviter_points, invitee_points=invitation.invitee_points))
