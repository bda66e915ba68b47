"""Query cost: a static price per request, reported in `extensions.cost`, paid from a per-caller budget.

Every field costs 1; a field with a `first` argument (a connection or a list page) multiplies the
cost of what it selects by `first`; a subscription costs ``SUBSCRIPTION_COST`` more. A document
over ``MAX_QUERY_COST`` is refused outright (``QUERY_TOO_COSTLY``). Each caller (a member, a staff
user, or an anonymous client's address) has ``BUDGET_PER_MINUTE`` points in a sliding minute; a
request that would overdraw it is refused with ``THROTTLED`` and a `retryAfter`, and nothing runs. The bucket lives in Redis when Redis is
configured, so every process draws on the same budget; otherwise in the process.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator

from graphql import (ExecutionResult, FieldNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode,
                     OperationDefinitionNode, OperationType)
import redis
from strawberry.extensions import SchemaExtension

from api.http.client_address import client_address
from api.execution.document_memos import MISSING, DocumentMemo
from persistence.redis_scripts import ScriptLink

log = logging.getLogger("jifen.cost")

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


WINDOW_SECONDS = 60.0


def window_verdict(now: float, cost: int, limit: int, state: tuple[int, int, int] | None
                   ) -> tuple[bool, int, float, tuple[int, int, int]]:
    """One request against a caller's sliding minute, estimated as a sliding-window counter does: the
    last whole minute's spending, weighted by how much of it the sliding minute still covers, plus
    this minute's. ``state`` is (minute, spent this minute, spent the minute before) as last stored.
    Returns (allowed, points left, seconds until this cost would be allowed, the state to store)."""
    minute = int(now // WINDOW_SECONDS)
    current, previous = 0, 0
    if state is not None and state[0] == minute:
        current, previous = state[1], state[2]
    elif state is not None and state[0] == minute - 1:
        previous = state[1]
    elapsed = now - minute * WINDOW_SECONDS
    used = previous * (1 - elapsed / WINDOW_SECONDS) + current
    allowed = used + cost <= limit
    if allowed:
        current, used = current + cost, used + cost
    retry = 0.0 if allowed else _wait(cost, limit, elapsed, current, previous, used)
    return allowed, max(0, int(limit - used)), retry, (minute, current, previous)


def _wait(cost: int, limit: int, elapsed: float, current: int, previous: int, used: float) -> float:
    """How long until `cost` fits: the last minute's share fades linearly, then this minute's does."""
    if cost > limit:
        return WINDOW_SECONDS  # never: say a minute, the client will be told so again
    excess = used + cost - limit
    if previous and previous * (1 - elapsed / WINDOW_SECONDS) >= excess:
        return excess * WINDOW_SECONDS / previous
    to_next = WINDOW_SECONDS - elapsed
    room = limit - cost
    if current <= room:
        return to_next
    return to_next + WINDOW_SECONDS * (1 - room / current)


# One round trip: the same estimate as window_verdict, on Redis's clock, stored for every process.
# KEYS: the caller's hash. ARGV: cost, limit. Returns allowed, then the figures as text (Lua numbers
# come back from Redis as integers).
SPEND = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local minute = math.floor(now / 60)
local stored = redis.call('HMGET', KEYS[1], 'm', 'c', 'p')
local m, current, previous = tonumber(stored[1]), 0, 0
if m == minute then
  current, previous = tonumber(stored[2]) or 0, tonumber(stored[3]) or 0
elseif m == minute - 1 then
  previous = tonumber(stored[2]) or 0
end
local elapsed = now - minute * 60
local used = previous * (1 - elapsed / 60) + current
local cost, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local allowed = 0
if used + cost <= limit then
  allowed = 1
  current = current + cost
  used = used + cost
  redis.call('HSET', KEYS[1], 'm', minute, 'c', current, 'p', previous)
  redis.call('PEXPIRE', KEYS[1], 120000)
end
return {allowed, tostring(used), tostring(elapsed), tostring(current), tostring(previous)}
"""
PAUSE_AFTER_FAILURE = 5.0  # seconds without Redis after it failed: a dead Redis costs no timeouts


class CostBudget:
    """The per-caller budget of points a sliding minute, in the process or, with a Redis URL, in Redis
    (one script per request, shared by every process). Without Redis for a moment, requests are let
    through (and it is logged): the budget is a brake on abuse, not a reason to stop serving."""

    MAX_CALLERS = 100_000  # in the process: the callers of the last minutes, the oldest dropped first

    def __init__(self, redis_url: str | None, prefix: str, per_minute: int = BUDGET_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self.prefix = f"{prefix}:cost:"
        self.local: dict[str, tuple[int, int, int]] = {}
        self.redis = ScriptLink(redis_url, timeout=1.0) if redis_url else None
        self.script = self.redis.register_script(SPEND) if self.redis is not None else None
        self.paused_until = 0.0

    async def spend(self, caller: str, cost: int) -> tuple[bool, int, float]:
        """(allowed, points left, seconds until enough has refilled)."""
        if self.redis is None:
            return self._spend_here(caller, cost)
        if time.monotonic() < self.paused_until:
            return True, self.per_minute, 0.0
        try:
            allowed, used, elapsed, current, previous = await self.script(keys=[self.prefix + caller],
                                                                          args=[cost, self.per_minute])
        except (redis.RedisError, OSError) as error:
            self.paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
            log.warning("cost budget unavailable, requests are not budgeted for %.0f s: %s", PAUSE_AFTER_FAILURE,
                        error)
            return True, self.per_minute, 0.0
        used = float(used)
        retry = 0.0 if allowed else _wait(cost, self.per_minute, float(elapsed), int(float(current)),
                                           int(float(previous)), used)
        return bool(allowed), max(0, int(self.per_minute - used)), retry

    def _spend_here(self, caller: str, cost: int) -> tuple[bool, int, float]:
        allowed, left, retry, state = window_verdict(time.time(), cost, self.per_minute, self.local.get(caller))
        if allowed:
            self.local.pop(caller, None)  # re-inserted last: the dict's order is the callers' recency
            self.local[caller] = state
            while len(self.local) > self.MAX_CALLERS:
                del self.local[next(iter(self.local))]
        return allowed, left, retry

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.close()


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
    report = {"requested": cost, "budgetLeft": left, "budgetPerMinute": budget.per_minute}
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
