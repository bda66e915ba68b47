"""Errors a client sees: our own as they are; anything unexpected replaced by "Internal server error"
with the request id, and logged with its traceback under that id. Every error carries a stable
`extensions.code`: ours carry their own; graphql-core's are given one where they arise (parsing,
validation, variable coercion), and one raised while running without a code is a server fault."""
from __future__ import annotations

import logging

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from domain.errors import DomainError

log = logging.getLogger("jifen.api")


# graphql-core's own words for the parser's limits (max_tokens, nesting).
PARSER_LIMITS = ("Document contains more than", "Document is nested too deeply")


def is_internal(error: GraphQLError) -> bool:
    """An exception from our code, or an error graphql-core raised while completing a field (a null
    for a non-null field, a value its type cannot represent): a fault of the server, not the request."""
    if error.original_error is not None and not isinstance(error.original_error, GraphQLError):
        return True
    return error.path is not None and not (error.extensions or {}).get("code")


def coded(errors: list[GraphQLError], code: str) -> list[GraphQLError]:
    """Give errors that have no code this one (in place: cached validation errors keep it)."""
    for error in errors:
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": code}
    return errors


def request_error_code(error: GraphQLError) -> str:
    """The code of an error raised before anything ran, by what raised it."""
    if isinstance(error, GraphQLSyntaxError):
        message = error.message.removeprefix("Syntax Error: ")
        return "LIMIT_EXCEEDED" if message.startswith(PARSER_LIMITS) else "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED"


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
