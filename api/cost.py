"""Query cost: a static price per request, reported in `extensions.cost`, paid from a per-caller budget.

Every field costs 1; a field with a `first` argument (a connection or a list page) multiplies the
cost of what it selects by `first`; a subscription costs ``SUBSCRIPTION_COST`` more. A document
over ``MAX_QUERY_COST`` is refused outright (``QUERY_TOO_COSTLY``). Each caller (a member, a staff
user, or an anonymous client's address) has ``BUDGET_PER_MINUTE`` points in a sliding minute; a
request that would overdraw it is refused with ``THROTTLED`` and a `retryAfter`, and nothing runs. The bucket lives in Redis when Redis is
configured, so every process draws on the same budget; otherwise in the process.
"""
from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator

from graphql import (ExecutionResult, FieldNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode,
                     OperationDefinitionNode, OperationType)
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from strawberry.extensions import SchemaExtension

from api.client_address import client_address
from api.document_memos import MISSING, DocumentMemo

MAX_QUERY_COST = 5_000
# A subscription holds a socket and a share of every event for as long as it lasts: it costs what a
# hundred fields do, so an address's budget opens at most a few hundred a minute.
SUBSCRIPTION_COST = 100
BUDGET_PER_MINUTE = 20_000


# Whether a document's page sizes are all written in it (no `first: $n`), and then its cost: the
# same document object comes back for every request from the prepared-document cache.
_fixed_costs = DocumentMemo(1024)


def query_cost(document, operation_name: str | None, variables: dict | None) -> int:
    fixed = _fixed_costs.get(document, operation_name)
    if fixed is MISSING:
        cost = priced(document, operation_name, variables)
        paged_by_variable = any(_pages_by_variable(d.selection_set) for d in document.definitions)
        _fixed_costs.put(document, operation_name, None if paged_by_variable else cost)
        return cost
    return fixed if fixed is not None else priced(document, operation_name, variables)


def _pages_by_variable(selection_set) -> bool:
    for selection in selection_set.selections if selection_set else ():
        arguments = getattr(selection, "arguments", None) or ()
        if any(a.name.value == "first" and a.value.kind == "variable" for a in arguments):
            return True
        if _pages_by_variable(getattr(selection, "selection_set", None)):
            return True
    return False


def priced(document, operation_name: str | None, variables: dict | None) -> int:
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next((op for op in operations if operation_name is None or (op.name and op.name.value ==
                                                                          operation_name)), None)
    if chosen is None:
        return 0
    held = SUBSCRIPTION_COST if chosen.operation is OperationType.SUBSCRIPTION else 0
    return held + _selections(chosen.selection_set, fragments, variables or {}, frozenset())


def _selections(selection_set, fragments: dict, variables: dict, seen: frozenset) -> int:
    total = 0
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue  # introspection is metadata, and in prod it is off
            inner = _selections(selection.selection_set, fragments, variables, seen)
            total += 1 + _page_size(selection, variables) * inner
        elif isinstance(selection, InlineFragmentNode):
            total += _selections(selection.selection_set, fragments, variables, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                total += _selections(fragment.selection_set, fragments, variables, seen | {selection.name.value})
    return total


def _page_size(field: FieldNode, variables: dict) -> int:
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        raw = variables.get(value.name.value) if value.kind == "variable" else getattr(value, "value", None)
        try:
            return max(1, int(raw))
        except (TypeError, ValueError):
            return 1
    return 1


class CostBudget:
    """The per-caller bucket; Redis-backed when a URL is given."""

    def __init__(self, redis_url: str | None, prefix: str, per_minute: int = BUDGET_PER_MINUTE) -> None:
        storage = (RedisStorage(redis_url.replace("redis://", "async+redis://", 1), implementation="redispy",
                                key_prefix=f"{prefix}:cost") if redis_url else MemoryStorage())
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.item = RateLimitItemPerMinute(per_minute)

    async def spend(self, caller: str, cost: int) -> tuple[bool, int, float]:
        """(allowed, points left, seconds until enough has refilled)."""
        allowed = cost == 0 or await self.limiter.hit(self.item, caller, cost=cost)
        stats = await self.limiter.get_window_stats(self.item, caller)
        retry = 0.0 if allowed else max(0.0, stats.reset_time - time.time())
        return allowed, stats.remaining, retry


def costing(budget: CostBudget):
    """A strawberry extension factory: price the document after validation, before anything runs."""

    class Costing(SchemaExtension):
        def __init__(self) -> None:
            self.report: dict | None = None

        async def on_execute(self) -> AsyncIterator[None]:
            # A result set before execution is what strawberry returns instead of executing.
            context = self.execution_context
            self.report, refused = await charge(budget, context.graphql_document, context.operation_name,
                                                context.variables, context.context)
            if refused is not None:
                context.result = refused
            yield

        def get_results(self) -> dict:
            return {"cost": self.report} if self.report else {}

    return Costing


async def charge(budget: CostBudget, document, operation_name: str | None, variables: dict | None,
                 request) -> tuple[dict | None, ExecutionResult | None]:
    """Price the request and pay it from its caller's budget: the report for `extensions.cost`, and
    the refusal when it costs too much or the budget is spent (a refused request spends nothing)."""
    cost = query_cost(document, operation_name, variables)
    if cost > MAX_QUERY_COST:
        return None, refusal(f"this request costs {cost}, more than {MAX_QUERY_COST}: ask for smaller pages",
                             {"code": "QUERY_TOO_COSTLY", "cost": cost})
    allowed, left, retry = await budget.spend(caller_key(request), cost)
    report = {"requested": cost, "budgetLeft": left, "budgetPerMinute": budget.item.amount}
    if not allowed:
        return report, refusal("too many requests: the query budget is spent for now",
                               {"code": "THROTTLED", "retryAfter": math.ceil(retry), "cost": cost})
    return report, None


def refusal(message: str, extensions: dict) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions=extensions)])


def caller_key(context) -> str:
    caller = getattr(context, "caller", None)
    if caller is not None and caller.kind != "anonymous":
        return caller.actor.label
    return f"address:{client_address(getattr(context, 'request', None))}"
