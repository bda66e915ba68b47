"""Who invited whom (one row per invitee, so the database refuses a second acceptance too), what each
side was paid, and the reviews of rewards held back."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, select, update

from domain.invitations import Invitation, InviterReward, ReviewStatus, RiskReview
from domain.orders import OrderStatus
from persistence.members import on_device
from persistence.tables import check_ins, invitations, members, purchase_orders, risk_reviews

ACCEPTANCE_LOCK = 0x6A6966656E01  # an arbitrary, fixed advisory-lock key for invitation acceptances
REWARDED = (InviterReward.PAID.value, InviterReward.PENDING.value)
I = invitations.c


def invitation_from_row(row) -> Invitation:
    return Invitation(row.inviter_id, row.invitee_id, row.accepted_at, row.inviter_points, row.invitee_points,
                      InviterReward(row.inviter_reward), row.invitee_paid, row.note, row.first_order_paid,
                      row.resolved_at)


def review_from_row(row) -> RiskReview:
    return RiskReview(row.kind, row.member_id, row.subject_id, row.reason, row.created_at, ReviewStatus(row.status),
                      row.resolved_at, row.resolved_by, row.id)


class SqlInvitationRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def inviter_of(self, invitee_id: int) -> int | None:
        return await self.connection.scalar(select(I.inviter_id).where(I.invitee_id == invitee_id))

    async def get(self, invitee_id: int) -> Invitation | None:
        row = (await self.connection.execute(select(invitations).where(I.invitee_id == invitee_id))).first()
        return invitation_from_row(row) if row else None

    async def of_inviter(self, inviter_id: int, limit: int) -> list[Invitation]:
        rows = await self.connection.execute(select(invitations).where(I.inviter_id == inviter_id)
                                             .order_by(I.accepted_at.desc(), I.invitee_id.desc()).limit(limit))
        return [invitation_from_row(row) for row in rows]

    async def count_by_inviter(self, inviter_id: int) -> int:
        return await self.connection.scalar(
            select(func.count()).select_from(invitations).where(I.inviter_id == inviter_id))

    async def count_since(self, inviter_id: int, since: datetime) -> int:
        return await self.connection.scalar(select(func.count()).select_from(invitations).where(
            I.inviter_id == inviter_id, I.accepted_at > since))

    async def rewarded_count(self, inviter_id: int, since: datetime | None) -> int:
        query = select(func.count()).select_from(invitations).where(
            I.inviter_id == inviter_id, I.inviter_reward.in_(REWARDED))
        return await self.connection.scalar(query if since is None else query.where(I.accepted_at >= since))

    async def shares_a_device(self, inviter_id: int, device_id: str | None, phone_hash: str | None) -> bool:
        same = on_device(device_id, phone_hash)
        if same is None:
            return False
        found = await self.connection.scalar(select(I.invitee_id).select_from(
            invitations.join(members, members.c.id == I.invitee_id)).where(I.inviter_id == inviter_id, same).limit(1))
        return found is not None

    async def device_rewarded(self, device_id: str | None, phone_hash: str | None) -> bool:
        same = on_device(device_id, phone_hash)
        if same is None:
            return False
        found = await self.connection.scalar(select(I.invitee_id).select_from(
            invitations.join(members, members.c.id == I.invitee_id)).where(I.invitee_paid, same).limit(1))
        return found is not None

    async def serialize_acceptances(self) -> None:
        if self.connection.dialect.name == "postgresql":
            await self.connection.execute(select(func.pg_advisory_xact_lock(ACCEPTANCE_LOCK)))
        # SQLite: write transactions are serial already (BEGIN IMMEDIATE).

    async def add(self, invitation: Invitation) -> None:
        await self.connection.execute(insert(invitations).values(invitee_id=invitation.invitee_id,
                                                                 **_values(invitation)))

    async def update(self, invitation: Invitation) -> None:
        await self.connection.execute(update(invitations).where(I.invitee_id == invitation.invitee_id)
                                      .values(**_values(invitation)))

    async def qualified(self, now: datetime, check_ins_needed: int, days: int) -> list[Invitation]:
        """PENDING invitations whose friend placed an order (not refunded in full), or checked in
        ``check_ins_needed`` times, within ``days`` of accepting: three queries whatever the number (an
        invitation accepted between them waits for the next sweep)."""
        pending = I.inviter_reward == InviterReward.PENDING.value
        rows = (await self.connection.execute(select(invitations).where(pending).order_by(I.invitee_id))).all()
        if not rows:
            return []
        closes = {row.invitee_id: row.accepted_at + timedelta(days=days) for row in rows}
        orders = purchase_orders.c
        ordered = {member_id for member_id, placed_at in await self.connection.execute(
            select(orders.member_id, orders.placed_at).select_from(
                purchase_orders.join(invitations, I.invitee_id == orders.member_id))
            .where(pending, orders.placed_at >= I.accepted_at, orders.refunded_fen < orders.amount_fen))
            if member_id in closes and placed_at < closes[member_id]}
        days_in = Counter(member_id for member_id, checked_in_at in await self.connection.execute(
            select(check_ins.c.member_id, check_ins.c.checked_in_at).select_from(
                check_ins.join(invitations, I.invitee_id == check_ins.c.member_id))
            .where(pending, check_ins.c.checked_in_at >= I.accepted_at))
            if member_id in closes and checked_in_at < closes[member_id])
        return [invitation_from_row(row) for row in rows
                if row.invitee_id in ordered or days_in[row.invitee_id] >= check_ins_needed]

    async def lapse(self, accepted_before: datetime, now: datetime) -> int:
        result = await self.connection.execute(update(invitations).where(
            I.inviter_reward == InviterReward.PENDING.value, I.accepted_at < accepted_before)
            .values(inviter_reward=InviterReward.LAPSED.value, resolved_at=now))
        return result.rowcount

    async def first_order_due(self) -> list[Invitation]:
        released = select(purchase_orders.c.id).where(
            purchase_orders.c.member_id == I.invitee_id, purchase_orders.c.status != OrderStatus.PENDING.value,
            purchase_orders.c.credited_points > 0).exists()
        rows = await self.connection.execute(select(invitations).where(
            I.inviter_reward == InviterReward.PAID.value, I.first_order_paid.is_(False), released)
            .order_by(I.invitee_id))
        return [invitation_from_row(row) for row in rows]

    async def add_review(self, review: RiskReview) -> None:
        result = await self.connection.execute(insert(risk_reviews).values(
            kind=review.kind, member_id=review.member_id, subject_id=review.subject_id, reason=review.reason,
            status=review.status.value, created_at=review.created_at).returning(risk_reviews.c.id))
        review.id = result.scalar_one()

    async def review(self, review_id: int) -> RiskReview | None:
        row = (await self.connection.execute(select(risk_reviews).where(risk_reviews.c.id == review_id))).first()
        return review_from_row(row) if row else None

    async def reviews(self, status: ReviewStatus | None, before_id: int | None, limit: int) -> list[RiskReview]:
        query = select(risk_reviews)
        if status is not None:
            query = query.where(risk_reviews.c.status == status.value)
        if before_id is not None:
            query = query.where(risk_reviews.c.id < before_id)
        rows = await self.connection.execute(query.order_by(risk_reviews.c.id.desc()).limit(limit))
        return [review_from_row(row) for row in rows]

    async def under_review(self, member_id: int) -> bool:
        R = risk_reviews.c
        found = await self.connection.scalar(select(R.id).where(
            R.status == ReviewStatus.OPEN.value, or_(R.member_id == member_id, R.subject_id == member_id)).limit(1))
        return found is not None

    async def update_review(self, review: RiskReview) -> None:
        await self.connection.execute(update(risk_reviews).where(risk_reviews.c.id == review.id).values(
            status=review.status.value, resolved_at=review.resolved_at, resolved_by=review.resolved_by))


def _values(invitation: Invitation) -> dict:
    return {"inviter_id": invitation.inviter_id, "accepted_at": invitation.accepted_at,
            "inviter_points": invitation.inviter_points, "invitee_points": invitation.invitee_points,
            "inviter_reward": invitation.inviter_reward.value, "invitee_paid": invitation.invitee_paid,
            "note": invitation.note, "first_order_paid": invitation.first_order_paid,
            "resolved_at": invitation.resolved_at}


