"""The short way through for a document that has run before: planned queries, and mutations.

Strawberry runs every request through its extension machinery: five extensions, four hooks each
looked up, wrapped in context managers and entered and left, an execution context, a middleware
manager. For a home page, or a refused flash-sale attempt, that bookkeeping costs about as much as
the work itself. A document already parsed and valid, with one operation and variables within the
limits, needs only what those hooks do for it, in the same order: the limits, the price paid from
the caller's budget, the run, and the metrics and log line. Those are the same functions the
extensions call (api/http/request_limits.py, api/execution/cost.py, api/ops/observability.py).

A query runs its plan (api/execution/query_plans.py); one without a plan takes strawberry's way. A mutation
runs once, with the same execution context class, context and root value as strawberry's way, on
its plan or on graphql-core, which report its errors with their paths; a mutation is never run
twice, so nothing about it is retried here. A mutation sent where mutations are not allowed (GET) takes
strawberry's way, which refuses it.

Anything else takes strawberry's way, unchanged: a document not seen yet or invalid, several
operations, a subscription, variables that do not coerce or exceed the limits, and a refusal by the
budget (a refused request has spent nothing, and strawberry's way refuses it again in its own
words). A run that meets an error has been paid for: it stays here, and the errors are masked as
the masking hook masks them (api/execution/error_masking.py).
"""
from __future__ import annotations

import time

from graphql import GraphQLError, OperationDefinitionNode, OperationType, specified_rules
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.types import ExecutionResult

from api.execution.cost import CostBudget, charge
from api.execution.error_masking import masked
from api.execution.execution import FastLeaves, prepared_document
from api.ops.observability import Metrics, error_codes, label_of, record
from api.execution.query_plans import plan_for
from api.http.request_limits import variables_problem

QUERIES_ONLY = frozenset({OperationType.QUERY})
# What strawberry validates a document with before the extension adds the limit rules: the same
# rules, so the same prepared-document cache entry serves both ways.
STANDARD_RULES = tuple(specified_rules)


class PlannedQueries:
    def __init__(self, schema, limit_rules: tuple, max_tokens: int, metrics: Metrics, budget: CostBudget) -> None:
        self.schema = schema
        self.limit_rules = limit_rules
        self.max_tokens = max_tokens
        self.metrics = metrics
        self.budget = budget

    async def answer(self, query: str, variables: dict | None, request, root_value,
                     operation_name: str | None, operation_extensions: dict | None,
                     allowed: frozenset = QUERIES_ONLY) -> ExecutionResult | None:
        """The result, or None: strawberry's way answers it. ``allowed``: the operation types this
        request may run (a GET runs queries only)."""
        started = time.perf_counter()
        prepared = self._executor(query, variables, request, root_value, operation_name, operation_extensions)
        if prepared is None:
            return None
        executor, document = prepared
        kind = executor.operation.operation
        if kind not in allowed or (kind is OperationType.QUERY and plan_for(executor) is None):
            return None
        report, refused = await charge(self.budget, document, operation_name, variables, request)
        if refused is not None:
            return None
        # An operation runs its plan, and a run that meets an error goes on, on graphql-core, which
        # reports it (FastLeaves).
        ran = executor.execute_operation()
        if executor.is_awaitable(ran):
            ran = await ran
        result = ExecutionResult(data=ran.data, errors=ran.errors, extensions={"cost": report})
        # As strawberry's hooks do: the metrics see the errors as raised, the client sees them masked.
        record(self.metrics, label_of(document, operation_name), kind.value, error_codes(result),
               time.perf_counter() - started, request)
        if ran.errors:
            result.errors = masked(ran.errors, getattr(request, "request_id", None))
        return result

    def _executor(self, query, variables, request, root_value, operation_name, operation_extensions):
        if not query:
            return None
        try:
            document, errors = prepared_document(self.schema, query, STANDARD_RULES, self.limit_rules,
                                                 self.max_tokens)
        except GraphQLError:
            return None
        if errors:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation is OperationType.SUBSCRIPTION:
            return None
        if variables_problem(variables) is not None:
            return None
        executor = FastLeaves.build(self.schema, document, root_value, request, variables, operation_name,
                                    is_awaitable=optimized_is_awaitable, operation_extensions=operation_extensions)
        if isinstance(executor, list):  # the variables did not coerce, or no operation has that name
            return None
        return executor, document

