"""The GraphQL schema: every area's queries and mutations merged, with masking and limits."""
from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from api.graphql.analytics import AnalyticsQueries
from api.graphql.assists import AssistMutations, AssistQueries
from api.graphql.audit import AuditQueries
from api.graphql.birthdays import BirthdayMutations, BirthdayQueries
from api.graphql.brand import BrandMutations, BrandQueries
from api.graphql.campaigns import CampaignMutations, CampaignQueries
from api.graphql.checkin import CheckInMutations, CheckInQueries
from api.graphql.checkout import CheckoutMutations, CheckoutQueries, OrderType
from api.graphql.community import CommunityMutations, CommunityQueries, SubmissionType
from api.graphql.deductions import DeductionMutations, DeductionQueries
from api.graphql.events import EventMutations, EventQueries
from api.graphql.ledger import LedgerEntry
from api.graphql.group_redemptions import GroupRedemptionMutations, GroupRedemptionQueries, GroupType
from api.graphql.leaderboards import LeaderboardMutations, LeaderboardQueries
from api.graphql.lottery import DrawType, LotteryMutations, LotteryQueries, LotteryType
from api.graphql.mall import FlashSaleQueries, MallItemType, MallMutations, MallQueries, RedemptionType
from api.graphql.members import MemberMutations, MemberQueries, MemberType
from api.graphql.node import NodeQueries
from api.graphql.notifications import NotificationMutations, NotificationQueries, NotificationType
from api.graphql.orders import OrderMutations, OrderQueries, PurchaseOrderType
from api.graphql.partners import ExchangeType, PartnerMutations, PartnerQueries
from api.graphql.points import PointsMutations
from api.graphql.realtime import ActivitySubscriptions, RealtimeSubscriptions
from api.graphql.segments import SegmentMutations, SegmentQueries
from api.graphql.tasks import TaskMutations, TaskQueries
from api.graphql.webhooks import WebhookMutations, WebhookQueries
from api.execution import FastLeaves, PreparedDocuments, call_simple_resolvers_directly, read_plain_fields_directly
from api.request_limits import LimitingRequests, ListLiteralLimit
from domain.errors import DomainError

log = logging.getLogger("jifen.api")

Query = merge_types("Query", (
    MemberQueries, CheckInQueries, TaskQueries, OrderQueries, CommunityQueries, EventQueries, AssistQueries,
    BirthdayQueries, MallQueries, FlashSaleQueries, CheckoutQueries, DeductionQueries, LotteryQueries, GroupRedemptionQueries,
    LeaderboardQueries, CampaignQueries, BrandQueries, PartnerQueries, AuditQueries, SegmentQueries, NotificationQueries, AnalyticsQueries,
    WebhookQueries, NodeQueries))
Mutation = merge_types("Mutation", (
    CheckInMutations, TaskMutations, OrderMutations, MallMutations, CheckoutMutations, DeductionMutations,
    LotteryMutations, GroupRedemptionMutations, CommunityMutations, EventMutations, AssistMutations,
    BirthdayMutations, NotificationMutations, PointsMutations, CampaignMutations, MemberMutations, BrandMutations,
    LeaderboardMutations, PartnerMutations, SegmentMutations, WebhookMutations))
Subscription = merge_types("Subscription", (RealtimeSubscriptions, ActivitySubscriptions))

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 2000
LIMIT_RULES = [*QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
               *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules, ListLiteralLimit]


class MaskInternalErrors(MaskErrors):
    """Show our own errors as they are; replace anything unexpected, logging it with the request id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=self.is_internal, error_message="Internal server error")

    def _process_result(self, result: object) -> None:
        # Strawberry first asks whether the result is a (runtime-checked) protocol, which costs more than
        # the rest of this hook; almost every result has no errors to mask, which is cheap to see.
        if getattr(result, "errors", None):
            super()._process_result(result)

    @staticmethod
    def is_internal(error: GraphQLError) -> bool:
        return error.original_error is not None and not isinstance(error.original_error, GraphQLError)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if isinstance(error.original_error, DomainError):
            return self.bad_input(error, error.original_error)
        request_id = getattr(self.execution_context.context, "request_id", None)
        log.error("internal error in %s [request %s]", error.path, request_id, exc_info=error.original_error)
        return GraphQLError("Internal server error", nodes=error.nodes, source=error.source,
                            positions=error.positions, path=error.path,
                            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id})


    @staticmethod
    def bad_input(error: GraphQLError, cause: DomainError) -> GraphQLError:
        """A rule refused an argument of a query (mutations answer with userErrors instead)."""
        return GraphQLError(cause.message, nodes=error.nodes, source=error.source, positions=error.positions,
                            path=error.path, extensions={"code": "BAD_USER_INPUT", "reason": cause.code.value})


class JifenSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Masking already logged the internal ones; the rest are the caller's mistakes."""


def build_schema(*, introspection: bool = True, observers: tuple = ()) -> strawberry.Schema:
    # Factories, not instances: strawberry builds fresh extensions per request, and runs every hook
    # of every extension on each, so parsing, limits and validation are one extension, not five.
    rules = (*LIMIT_RULES, *(() if introspection else (NoSchemaIntrospectionCustomRule,)))
    extensions = [MaskInternalErrors, LimitingRequests, lambda: PreparedDocuments(rules, MAX_TOKENS), *observers]
    types = [MemberType, LedgerEntry, PurchaseOrderType, SubmissionType, NotificationType, MallItemType,
             RedemptionType, OrderType, LotteryType, DrawType, GroupType, ExchangeType]
    schema = JifenSchema(query=Query, mutation=Mutation, subscription=Subscription, types=types,
                         extensions=extensions, execution_context_class=FastLeaves)
    read_plain_fields_directly(schema)
    call_simple_resolvers_directly(schema)
    return schema


def sdl() -> str:
    return build_schema().as_str() + "\n"
