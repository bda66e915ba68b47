"""Submissions (评价, 晒单, screenshots, reports) reviewed by staff."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import BadUserInput, UserError, require_member, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member, member_type
from api.graphql.relay import Connection, Node, check_first, connection, decode_cursor, int_key, to_global_id
from domain import submissions
from domain.errors import DomainError, InvalidInput

SubmissionKind = strawberry.enum(submissions.SubmissionKind, description="What kind of proof a member sends.")
SubmissionStatus = strawberry.enum(submissions.SubmissionStatus)


@strawberry.type(name="Submission", description="Proof sent by a member, paid once staff approve it.")
class SubmissionType(Node):
    _submission: strawberry.Private[submissions.Submission]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Submission", self._submission.id)

    @strawberry.field
    def kind(self) -> SubmissionKind:  # type: ignore[valid-type]
        return self._submission.kind

    @strawberry.field
    def status(self) -> SubmissionStatus:  # type: ignore[valid-type]
        return self._submission.status

    @strawberry.field
    def content(self) -> str:
        return self._submission.content

    @strawberry.field
    def image_urls(self) -> list[str]:
        return list(self._submission.image_urls)

    @strawberry.field(description="What it is about, e.g. an order id.")
    def ref(self) -> str | None:
        return self._submission.ref

    @strawberry.field
    def submitted_at(self) -> datetime:
        return self._submission.submitted_at

    @strawberry.field
    def reviewed_at(self) -> datetime | None:
        return self._submission.reviewed_at

    @strawberry.field(description="Why it was rejected, shown to the member.")
    def reject_reason(self) -> str | None:
        return self._submission.reject_reason

    @strawberry.field(description="Points paid on approval.")
    def points(self) -> int:
        return self._submission.points

    @strawberry.field(description="Staff only; null for members.")
    async def member(self, info: Info) -> MemberType | None:
        if not info.context.caller.is_staff:
            return None
        return member_type(await info.context.loaders.members.load(self._submission.member_id))


def submission_connection(found: list[submissions.Submission], first: int,
                          has_previous: bool) -> Connection[SubmissionType]:
    return connection([SubmissionType(_submission=s) for s in found], [s.id for s in found], first, has_previous)


@strawberry.input
class SubmitReviewInput:
    kind: SubmissionKind = submissions.SubmissionKind.REVIEW  # type: ignore[valid-type]
    content: str = ""
    image_urls: list[str] = strawberry.field(default_factory=list)
    ref: str | None = None


@strawberry.type
class SubmitReviewPayload:
    submission: SubmissionType | None
    user_errors: list[UserError]


@strawberry.input
class ReviewSubmissionInput:
    submission_id: strawberry.ID
    approve: bool
    reason: str | None = strawberry.field(default=None, description="Required to reject; the member sees it.")
    points: int | None = strawberry.field(default=None, description="Override the rule's points for this kind.")
    idempotency_key: str


@strawberry.type
class ReviewSubmissionPayload:
    submission: SubmissionType | None
    member: MemberType | None
    entry: LedgerEntry | None
    user_errors: list[UserError]


@strawberry.type
class SubmissionPoints:
    kind: SubmissionKind  # type: ignore[valid-type]
    points: int


@strawberry.input
class SubmissionPointsInput:
    kind: SubmissionKind  # type: ignore[valid-type]
    points: int


@strawberry.input
class UpdateSubmissionPointsInput:
    points: list[SubmissionPointsInput]


@strawberry.type
class UpdateSubmissionPointsPayload:
    points: list[SubmissionPoints] | None
    user_errors: list[UserError]


def submission_points_type(rule: submissions.SubmissionRule) -> list[SubmissionPoints]:
    return [SubmissionPoints(kind=kind, points=points) for kind, points in rule.points.items()]


@strawberry.type
class CommunityQueries:
    @strawberry.field(description="Staff: submissions, newest first, filtered by status and kind.")
    async def submissions(self, info: Info, first: int, after: str | None = None,
                          status: SubmissionStatus | None = None,  # type: ignore[valid-type]
                          kind: SubmissionKind | None = None) -> Connection[SubmissionType]:  # type: ignore
        require_staff(info)
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.submissions.page(
            None, submissions.SubmissionStatus(status.value) if status else None,
            submissions.SubmissionKind(kind.value) if kind else None, before, first + 1)
        return submission_connection(found, first, before is not None)

    @strawberry.field(description="Points paid when staff approve each kind of submission.")
    async def submission_points(self, info: Info) -> list[SubmissionPoints]:
        return submission_points_type(await info.context.services.transactions.read(submissions.submission_rule))


@strawberry.type
class CommunityMutations:
    @strawberry.mutation(description="Member: send a review, photo post (晒单), screenshot or report for review.")
    async def submit_review(self, info: Info, input: SubmitReviewInput) -> SubmitReviewPayload:
        member = require_member(info)
        try:
            submission = await info.context.services.submissions.submit(
                member.member_id, submissions.SubmissionKind(input.kind.value), input.content,
                input.image_urls[:submissions.MAX_IMAGES + 1], input.ref)
        except DomainError as error:
            return SubmitReviewPayload(submission=None, user_errors=user_errors(error))
        return SubmitReviewPayload(submission=SubmissionType(_submission=submission), user_errors=[])

    @strawberry.mutation(description="Staff: points paid on approval, per kind of submission.")
    async def update_submission_points(self, info: Info, input: UpdateSubmissionPointsInput
                                       ) -> UpdateSubmissionPointsPayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.submissions.update_rule(staff.actor, submissions.SubmissionRule(
                {submissions.SubmissionKind(p.kind.value): p.points for p in input.points[:10]}))
        except DomainError as error:
            return UpdateSubmissionPointsPayload(points=None, user_errors=user_errors(error))
        return UpdateSubmissionPointsPayload(points=submission_points_type(rule), user_errors=[])

    @strawberry.mutation(description="Staff: approve (points credited once) or reject (with a reason).")
    async def review_submission(self, info: Info, input: ReviewSubmissionInput) -> ReviewSubmissionPayload:
        staff = require_staff(info)
        try:
            try:
                submission_id = int_key(input.submission_id, "Submission")
            except BadUserInput as error:
                raise InvalidInput(error.message, ("submissionId",)) from None
            outcome, submission = await info.context.services.submissions.review(
                staff.actor, submission_id, input.approve, input.reason, input.points, input.idempotency_key)
        except DomainError as error:
            return ReviewSubmissionPayload(submission=None, member=None, entry=None, user_errors=user_errors(error))
        return ReviewSubmissionPayload(submission=SubmissionType(_submission=submission),
                                       member=fresh_member(info, outcome.member_id),
                                       entry=entry_type(outcome.entry), user_errors=user_errors(outcome.error))
