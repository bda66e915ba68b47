"""What one request may ask.

- One operation: a document with several must name one in ``operationName`` (strawberry would
  otherwise run the first). Arrays of operations (batching) are not accepted at all.
- Lists of at most 100 items, in the document or in its variables: the body limit bounds a
  request's size, this bounds the work one argument can ask for (ids to mark read, codes to upload).
  Lists written in the document are checked by a validation rule, so once per distinct document
  with the other document limits; variables change with every request and are checked before
  anything runs.
"""
from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, ListValueNode, OperationDefinitionNode, ValidationRule
from strawberry.extensions import SchemaExtension

from api.cost import refusal

MAX_LIST_ITEMS = 100


def too_long(length: int) -> tuple[str, dict]:
    return (f"a list of {length} items: at most {MAX_LIST_ITEMS} per list",
            {"code": "INPUT_TOO_LARGE", "limit": MAX_LIST_ITEMS})


class ListLiteralLimit(ValidationRule):
    """The longest list written in the document, reported once if it holds too many items."""

    def __init__(self, context) -> None:
        super().__init__(context)
        self.longest: ListValueNode | None = None

    def enter_list_value(self, node: ListValueNode, *_args) -> None:
        if self.longest is None or len(node.values) > len(self.longest.values):
            self.longest = node

    def leave_document(self, *_args) -> None:
        if self.longest is not None and len(self.longest.values) > MAX_LIST_ITEMS:
            message, extensions = too_long(len(self.longest.values))
            self.report_error(GraphQLError(message, self.longest, extensions=extensions))


class LimitingRequests(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operations = [d for d in (document.definitions if document else ()) if isinstance(d, OperationDefinitionNode)]
        longest = longest_list(context.variables or {})
        # strawberry's operation_name falls back to the first operation's; what the client sent is here.
        named = getattr(context, "_provided_operation_name", None)
        if len(operations) > 1 and not named:
            context.result = refusal("this document holds several operations: name one in operationName",
                                     {"code": "BAD_REQUEST"})
        elif longest > MAX_LIST_ITEMS:
            context.result = refusal(*too_long(longest))
        yield


def longest_list(value) -> int:
    if isinstance(value, list):
        return max([len(value), *(longest_list(item) for item in value)])
    if isinstance(value, dict):
        return max([0, *(longest_list(item) for item in value.values())])
    return 0
