"""The GraphQL schema: every area's queries and mutations merged, with masking and limits."""
from __future__ import annotations

import functools

import strawberry
from graphql import OperationType as CoreOperationType
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types.graphql import OperationType
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
from api.graphql.imports import ImportMutations
from api.graphql.invitations import InvitationMutations, InvitationQueries
from api.graphql.deductions import DeductionMutations, DeductionQueries
from api.graphql.events import EventMutations, EventQueries
from api.graphql.feed import FeedQueries
from api.graphql.ledger import LedgerEntry
from api.graphql.gifts import GiftMutations, GiftQueries, PointsGiftType
from api.graphql.group_redemptions import GroupRedemptionMutations, GroupRedemptionQueries, GroupType
from api.graphql.leaderboards import LeaderboardMutations, LeaderboardQueries
from api.graphql.lottery import DrawType, LotteryMutations, LotteryQueries, LotteryType
from api.graphql.mall import FlashSaleQueries, MallItemType, MallMutations, MallQueries, RedemptionType
from api.graphql.members import MemberMutations, MemberQueries, MemberType
from api.graphql.node import NodeQueries
from api.graphql.notifications import NotificationMutations, NotificationQueries, NotificationType
from api.graphql.orders import OrderMutations, OrderQueries, PurchaseOrderType
from api.graphql.partners import ExchangeType, PartnerMutations, PartnerQueries
from api.graphql.chances import ChanceMutations, ChanceQueries
from api.graphql.perks import PerkMutations
from api.graphql.tags import TagMutations, TagQueries
from api.graphql.points_conversions import ConversionMutations, ConversionQueries
from api.graphql.points import PointsMutations
from api.graphql.scalars import OVERRIDES
from api.graphql.realtime import ActivitySubscriptions, RealtimeSubscriptions
from api.graphql.segments import SegmentMutations, SegmentQueries
from api.graphql.stores import StoreMutations, StoreQueries
from api.graphql.tasks import TaskMutations, TaskQueries
from api.graphql.webhooks import WebhookMutations, WebhookQueries
from api.execution.execution import (FastLeaves, PreparedDocuments, call_simple_resolvers_directly,
                                     read_plain_fields_directly)
from api.execution.cost import CostBudget, costing
from api.execution.error_masking import MaskInternalErrors, coded, is_internal, request_error_code
from api.ops.observability import Metrics, observing
from api.execution.planned_queries import PlannedQueries
from api.http.request_limits import LimitingRequests, ListLiteralLimit, StorableStrings

Query = merge_types("Query", (
    MemberQueries, CheckInQueries, TaskQueries, OrderQueries, CommunityQueries, InvitationQueries, EventQueries,
    AssistQueries, BirthdayQueries, MallQueries, FlashSaleQueries, CheckoutQueries, DeductionQueries, LotteryQueries,
    GroupRedemptionQueries, LeaderboardQueries, CampaignQueries, BrandQueries, PartnerQueries, AuditQueries,
    SegmentQueries, NotificationQueries, AnalyticsQueries, WebhookQueries, StoreQueries, FeedQueries, GiftQueries, ChanceQueries, ConversionQueries, TagQueries,
    NodeQueries))
Mutation = merge_types("Mutation", (
    CheckInMutations, TaskMutations, OrderMutations, MallMutations, CheckoutMutations, DeductionMutations,
    LotteryMutations, GroupRedemptionMutations, CommunityMutations, InvitationMutations, EventMutations,
    AssistMutations, BirthdayMutations, NotificationMutations, PointsMutations, CampaignMutations, MemberMutations,
    BrandMutations, LeaderboardMutations, PartnerMutations, SegmentMutations, WebhookMutations, StoreMutations, ImportMutations,
    GiftMutations, PerkMutations, ChanceMutations, ConversionMutations, TagMutations))
Subscription = merge_types("Subscription", (RealtimeSubscriptions, ActivitySubscriptions))

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 2000
LIMIT_RULES = [*QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
               *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules, ListLiteralLimit,
               StorableStrings]


@functools.lru_cache(maxsize=8)
def without_subscriptions(allowed: frozenset) -> tuple[frozenset, frozenset]:
    """The operation types allowed over HTTP, as strawberry's and as graphql-core's (worked out once for
    each of the few sets the views pass)."""
    kept = allowed - {OperationType.SUBSCRIPTION}
    return kept, frozenset(CoreOperationType(kind.value) for kind in kept)


class IntrospectionHidden(NoSchemaIntrospectionCustomRule):
    """In prod the schema is not shown: a document asking for it does not validate (not a limit)."""

    def report_error(self, error) -> None:
        super().report_error(coded([error], "GRAPHQL_VALIDATION_FAILED")[0])


class JifenSchema(strawberry.Schema):
    planned: PlannedQueries | None = None  # the short way for known documents, when the app has one

    def process_errors(self, errors, execution_context=None) -> None:
        """Masking logs the internal ones; the rest are the caller's mistakes, and those raised before
        anything ran (a parse error, say) get the code of what raised them."""
        for error in errors:
            if error.path is None and not is_internal(error):
                coded([error], request_error_code(error))

    async def execute(self, query, variable_values=None, context_value=None, root_value=None, operation_name=None,
                      allowed_operation_types=None, operation_extensions=None):
        # Subscriptions run over WebSockets only (`subscribe`); strawberry's views would also take
        # them over HTTP for streaming transports, which this server does not offer.
        allowed, core = without_subscriptions(frozenset(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES))
        if self.planned is not None:
            result = await self.planned.answer(query, variable_values, context_value, root_value, operation_name,
                                               operation_extensions, core)
            if result is not None:
                return result
        return await super().execute(query, variable_values, context_value, root_value, operation_name,
                                     set(allowed), operation_extensions)


def build_schema(*, introspection: bool = True, metrics: Metrics | None = None,
                 budget: CostBudget | None = None) -> strawberry.Schema:
    """The schema; with the app's metrics and cost budget, observed, priced, and with the short way for
    planned queries (api/execution/planned_queries.py), which calls what the observing and costing hooks call."""
    # Factories, not instances: strawberry builds fresh extensions per request, and runs every hook
    # of every extension on each, so parsing, limits and validation are one extension, not five.
    rules = (*LIMIT_RULES, *(() if introspection else (IntrospectionHidden,)))
    observers = (observing(metrics), costing(budget)) if metrics is not None and budget is not None else ()
    extensions = [MaskInternalErrors, LimitingRequests, lambda: PreparedDocuments(rules, MAX_TOKENS), *observers]
    types = [MemberType, LedgerEntry, PurchaseOrderType, SubmissionType, NotificationType, MallItemType,
             RedemptionType, OrderType, LotteryType, DrawType, GroupType, ExchangeType,
             PointsGiftType]
    schema = JifenSchema(query=Query, mutation=Mutation, subscription=Subscription, types=types,
                         extensions=extensions, execution_context_class=FastLeaves, scalar_overrides=OVERRIDES)
    read_plain_fields_directly(schema)
    call_simple_resolvers_directly(schema)
    if observers:
        schema.planned = PlannedQueries(schema._schema, rules, MAX_TOKENS, metrics, budget)
        core = schema._schema
        metrics.root_fields = frozenset(name for root in (core.query_type, core.mutation_type, core.subscription_type)
                                        for name in root.fields)
    return schema


def sdl() -> str:
    return build_schema().as_str() + "\n"
