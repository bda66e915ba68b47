"""Errors a client sees: our own as they are; anything unexpected replaced by "Internal server error"
with the request id, and logged with its traceback under that id."""
from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from domain.errors import DomainError

log = logging.getLogger("jifen.api")


def is_internal(error: GraphQLError) -> bool:
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


def masked(errors: list[GraphQLError], request_id: str | None) -> list[GraphQLError]:
    return [anonymised(error, request_id) if is_internal(error) else error for error in errors]


def anonymised(error: GraphQLError, request_id: str | None) -> GraphQLError:
    if isinstance(error.original_error, DomainError):
        return bad_input(error, error.original_error)
    log.error("internal error in %s [request %s]", error.path, request_id, exc_info=error.original_error)
    return GraphQLError("Internal server error", nodes=error.nodes, source=error.source,
                        positions=error.positions, path=error.path,
                        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id})


def bad_input(error: GraphQLError, cause: DomainError) -> GraphQLError:
    """A rule refused an argument of a query (mutations answer with userErrors instead)."""
    return GraphQLError(cause.message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, extensions={"code": "BAD_USER_INPUT", "reason": cause.code.value})


class MaskInternalErrors(MaskErrors):
    """Strawberry's masking hook, with the replacement above."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_internal, error_message="Internal server error")

    def _process_result(self, result: object) -> None:
        # Strawberry first asks whether the result is a (runtime-checked) protocol, which costs more than
        # the rest of this hook; almost every result has no errors to mask, which is cheap to see.
        if getattr(result, "errors", None):
            super()._process_result(result)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return anonymised(error, getattr(self.execution_context.context, "request_id", None))
