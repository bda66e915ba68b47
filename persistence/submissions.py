"""Submissions waiting for, or past, staff review."""
from __future__ import annotations

from sqlalchemy import func, insert, select, update

from domain.submissions import Submission, SubmissionKind, SubmissionStatus
from persistence.tables import submissions

FIELDS = ("member_id", "content", "ref", "submitted_at", "reviewed_at", "reviewed_by", "reject_reason", "points")


def submission_from_row(row) -> Submission:
    return Submission(row.member_id, SubmissionKind(row.kind), row.content, tuple(row.image_urls), row.ref,
                      row.submitted_at, SubmissionStatus(row.status), row.reviewed_at, row.reviewed_by,
                      row.reject_reason, row.points, row.id)


def submission_values(s: Submission) -> dict:
    return {**{name: getattr(s, name) for name in FIELDS}, "kind": s.kind.value, "status": s.status.value,
            "image_urls": list(s.image_urls)}


class SqlSubmissionRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def get(self, submission_id: int) -> Submission | None:
        row = (await self.connection.execute(select(submissions).where(submissions.c.id == submission_id))).first()
        return submission_from_row(row) if row else None

    async def add(self, submission: Submission) -> None:
        result = await self.connection.execute(
            insert(submissions).values(**submission_values(submission)).returning(submissions.c.id))
        submission.id = result.scalar_one()

    async def update(self, submission: Submission) -> None:
        await self.connection.execute(update(submissions).where(submissions.c.id == submission.id)
                                      .values(**submission_values(submission)))

    async def pending_count(self, member_id: int) -> int:
        return await self.connection.scalar(select(func.count()).select_from(submissions).where(
            submissions.c.member_id == member_id, submissions.c.status == SubmissionStatus.PENDING.value))

    async def live_for_ref(self, member_id: int, kind: SubmissionKind, ref: str) -> bool:
        found = await self.connection.scalar(select(submissions.c.id).where(
            submissions.c.member_id == member_id, submissions.c.kind == kind.value, submissions.c.ref == ref,
            submissions.c.status != SubmissionStatus.REJECTED.value).limit(1))
        return found is not None

    async def page(self, member_id, status, kind, before_id, limit) -> list[Submission]:
        query = select(submissions)
        if member_id is not None:
            query = query.where(submissions.c.member_id == member_id)
        if status is not None:
            query = query.where(submissions.c.status == status.value)
        if kind is not None:
            query = query.where(submissions.c.kind == kind.value)
        if before_id is not None:
            query = query.where(submissions.c.id < before_id)
        rows = await self.connection.execute(query.order_by(submissions.c.id.desc()).limit(limit))
        return [submission_from_row(row) for row in rows]
