"""Submissions (评价, 晒单, screenshots, reports): proof a member sends in, paid once staff approve.

A submission waits as PENDING until staff approve it (points credited as a ``REVIEW`` entry,
once) or reject it (with a reason the member sees). Points come from the brand's rule for the
kind at the moment of approval, unless the reviewer sets them. A member may have at most
``MAX_PENDING`` submissions waiting, and a reference (an order id, an item) takes one
submission of each kind unless the earlier one was rejected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from domain import configuration
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import LedgerReason
from domain.text import checked_text

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

SUBMISSIONS_KEY = "submissions"
MAX_PENDING = 20
MAX_IMAGES = 9
URL_PATTERN = re.compile(r"^https://[^\s\x00-\x1f]{1,490}\Z")
REF_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")


class SubmissionKind(str, Enum):
    REVIEW = "REVIEW"
    PHOTO_POST = "PHOTO_POST"
    SHARE_SCREENSHOT = "SHARE_SCREENSHOT"
    VIOLATION_REPORT = "VIOLATION_REPORT"
    CHECK_IN_SCREENSHOT = "CHECK_IN_SCREENSHOT"


KIND_LABELS = {SubmissionKind.REVIEW: "评价", SubmissionKind.PHOTO_POST: "晒单",
               SubmissionKind.SHARE_SCREENSHOT: "分享截图", SubmissionKind.VIOLATION_REPORT: "举报",
               SubmissionKind.CHECK_IN_SCREENSHOT: "打卡截图"}


class SubmissionStatus(str, Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class SubmissionRule:
    points: dict[SubmissionKind, int] = field(default_factory=lambda: {
        SubmissionKind.REVIEW: 20, SubmissionKind.PHOTO_POST: 50, SubmissionKind.SHARE_SCREENSHOT: 10,
        SubmissionKind.VIOLATION_REPORT: 30, SubmissionKind.CHECK_IN_SCREENSHOT: 10})

    def __post_init__(self) -> None:
        if any(not 0 <= p <= 100_000 for p in self.points.values()):
            raise InvalidInput("points per kind must be 0-100000", ("points",))

    def to_record(self) -> dict:
        return {kind.value: points for kind, points in self.points.items()}

    @classmethod
    def from_record(cls, r: dict) -> "SubmissionRule":
        return cls({SubmissionKind(kind): points for kind, points in r.items()})


async def submission_rule(uow: "UnitOfWork") -> SubmissionRule:
    return await configuration.load(uow, SUBMISSIONS_KEY, SubmissionRule.from_record, SubmissionRule())


@dataclass
class Submission:
    member_id: int
    kind: SubmissionKind
    content: str
    image_urls: tuple[str, ...]
    ref: str | None
    submitted_at: datetime
    status: SubmissionStatus = SubmissionStatus.PENDING
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    reject_reason: str | None = None
    points: int = 0
    id: int | None = None


def validated(kind: SubmissionKind, content: str, image_urls: list[str], ref: str | None) -> tuple:
    content = checked_text(content, "content", max_length=2000, required=not image_urls, multiline=True)
    if len(image_urls) > MAX_IMAGES or any(not URL_PATTERN.match(u) for u in image_urls):
        raise InvalidInput(f"at most {MAX_IMAGES} https image URLs", ("imageUrls",))
    if kind is SubmissionKind.PHOTO_POST and not image_urls:
        raise InvalidInput("a photo post needs at least one image", ("imageUrls",))
    if ref is not None and not REF_PATTERN.match(ref):
        raise InvalidInput("ref must be 1-64 letters, digits or _.:-", ("ref",))
    return content, tuple(image_urls), ref


class SubmissionService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def submit(self, member_id: int, kind: SubmissionKind, content: str, image_urls: list[str],
                     ref: str | None) -> Submission:
        content, images, ref = validated(kind, content, image_urls, ref)

        async def work(uow: "UnitOfWork") -> Submission:
            await uow.members.lock(member_id)  # one member's submissions are checked and added one at a time
            if await uow.submissions.pending_count(member_id) >= MAX_PENDING:
                raise Refusal(ErrorCode.TOO_MANY_PENDING, f"at most {MAX_PENDING} submissions may wait for review")
            if ref is not None and (order := await uow.orders.get(ref)) is not None and order.member_id != member_id:
                raise InvalidInput("that order belongs to another member", ("ref",))
            if ref is not None and await uow.submissions.live_for_ref(member_id, kind, ref):
                raise Refusal(ErrorCode.DUPLICATE_SUBMISSION, f"{ref} already has a {kind.value.lower()}", ("ref",))
            submission = Submission(member_id, kind, content, images, ref, self.clock.now())
            await uow.submissions.add(submission)
            return submission

        return await self.transactions.write(work)

    async def review(self, staff: Actor, submission_id: int, approve: bool, reason: str | None,
                     points: int | None, key: str) -> tuple["PointsOutcome", Submission]:
        reason = checked_text(reason, "reason", max_length=200, required=not approve)
        if points is not None and not 0 <= points <= 100_000:
            raise InvalidInput("points must be 0-100000", ("points",))
        found = await self.transactions.read(lambda uow: uow.submissions.get(submission_id))
        if found is None:
            raise NotFound("no such submission", ("submissionId",))

        async def rule(ctx: "OperationContext") -> None:
            submission = await ctx.uow.submissions.get(submission_id)  # re-read under the member's lock
            if submission.status is not SubmissionStatus.PENDING:
                raise Refusal(ErrorCode.ALREADY_REVIEWED, f"already {submission.status.value.lower()}",
                              ("submissionId",))
            submission.reviewed_at, submission.reviewed_by = ctx.now, staff.label
            if approve:
                earned = (await submission_rule(ctx.uow)).points.get(submission.kind, 0) if points is None else points
                submission.status, submission.points = SubmissionStatus.APPROVED, earned
                if earned:
                    ctx.member.account.credit(earned, LedgerReason.REVIEW, ctx.now, ctx.brand.expiry_for(ctx.now),
                                              staff.label, f"{KIND_LABELS[submission.kind]}通过审核",
                                              f"submission:{submission_id}")
            else:
                submission.status, submission.reject_reason = SubmissionStatus.REJECTED, reason
            await ctx.uow.submissions.update(submission)
            await ctx.uow.audit.record(staff.label, f"submission.{'approve' if approve else 'reject'}",
                                       str(submission_id), {"points": submission.points, "reason": reason}, ctx.now)

        outcome = await self.operations.run(
            actor=staff, key=key, operation="reviewSubmission", member_id=found.member_id, rule=rule,
            payload={"submission": submission_id, "approve": approve, "reason": reason, "points": points})
        return outcome, await self.transactions.read(lambda uow: uow.submissions.get(submission_id))

    async def update_rule(self, staff: Actor, rule: SubmissionRule) -> SubmissionRule:
        """Kinds left out keep their current points."""
        async def work(uow: "UnitOfWork") -> SubmissionRule:
            merged = SubmissionRule({**(await submission_rule(uow)).points, **rule.points})
            await configuration.store(uow, SUBMISSIONS_KEY, merged.to_record(), staff, self.clock.now())
            return merged

        return await self.transactions.write(work)

    async def page(self, member_id: int | None, status: SubmissionStatus | None, kind: SubmissionKind | None,
                   before_id: int | None, limit: int) -> list[Submission]:
        return await self.transactions.read(
            lambda uow: uow.submissions.page(member_id, status, kind, before_id, limit))
