"""What one request may ask.

- One operation: a document with several must name one in ``operationName`` (strawberry would
  otherwise run the first). Arrays of operations (batching) are not accepted at all.
- Lists of at most 100 items, in the document or in its variables: the body limit bounds a
  request's size, this bounds the work one argument can ask for (ids to mark read, codes to upload).
  Staff and integrations may send 1,000 in their variables: an import's rows.
  Lists written in the document are checked by a validation rule, so once per distinct document
  with the other document limits; variables change with every request and are checked before
  anything runs.
- Variables nested at most ``MAX_INPUT_DEPTH`` lists or objects deep (no input of the schema comes
  near it), walked without recursion, so a body of a thousand brackets is one refusal, not a
  RecursionError per request.
- Text a database can store: no NUL character and no unpaired surrogate in any string, in the
  variables or written in the document. PostgreSQL refuses NUL in text and no encoder writes a lone
  surrogate; checked here once for every argument of every field, not field by field.
"""
from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, ListValueNode, OperationDefinitionNode, StringValueNode, ValidationRule
from strawberry.extensions import SchemaExtension

from api.execution.cost import refusal
from domain.text import UNSTORABLE

MAX_LIST_ITEMS = 100
BULK_LIST_ITEMS = 1000  # staff's and integrations' variables (importMembers, importBalances)
MAX_INPUT_DEPTH = 10


def too_long(length: int, limit: int = MAX_LIST_ITEMS) -> tuple[str, dict]:
    return (f"a list of {length} items: at most {limit} per list", {"code": "INPUT_TOO_LARGE", "limit": limit})


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


class StorableStrings(ValidationRule):
    """A string written in the document (`"a\\u0000b"`) holds only text a database can store."""

    def enter_string_value(self, node: StringValueNode, *_args) -> None:
        if UNSTORABLE.search(node.value):
            message, extensions = unstorable("this string")
            self.report_error(GraphQLError(message, node, extensions=extensions))


def unstorable(where: str) -> tuple[str, dict]:
    return (f"{where} holds a NUL character or an unpaired surrogate, which no text can store",
            {"code": "BAD_USER_INPUT", "reason": "UNSTORABLE_TEXT"})


class LimitingRequests(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operations = [d for d in (document.definitions if document else ()) if isinstance(d, OperationDefinitionNode)]
        # strawberry's operation_name falls back to the first operation's; what the client sent is here.
        named = getattr(context, "_provided_operation_name", None)
        if len(operations) > 1 and not named:
            context.result = refusal("this document holds several operations: name one in operationName",
                                     {"code": "BAD_REQUEST"})
        else:
            caller = getattr(context.context, "caller", None)
            bulk = caller is not None and caller.kind in ("staff", "integration")
            problem = variables_problem(context.variables, BULK_LIST_ITEMS if bulk else MAX_LIST_ITEMS)
            if problem is not None:
                context.result = refusal(*problem)
        yield


def variables_problem(variables: dict | None, list_items: int = MAX_LIST_ITEMS) -> tuple[str, dict] | None:
    """(message, extensions) of the first limit the variables break, or None. Iterative: the depth
    of what a client sends bounds nothing but this walk's own stack."""
    if not variables:
        return None
    stack: list[tuple[object, int, tuple]] = [(variables, 0, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                return unstorable("variables." + ".".join(map(str, path)))
            continue
        if not isinstance(value, (list, dict)):
            continue
        if depth >= MAX_INPUT_DEPTH:
            return (f"variables nested more than {MAX_INPUT_DEPTH} deep", {"code": "INPUT_TOO_DEEP",
                                                                          "limit": MAX_INPUT_DEPTH})
        if isinstance(value, list):
            if len(value) > list_items:
                return too_long(len(value), list_items)
            stack.extend((item, depth + 1, (*path, index)) for index, item in enumerate(value))
        else:
            stack.extend((key, depth + 1, path) for key in value)  # keys are text a JSON scalar may store
            stack.extend((item, depth + 1, (*path, key)) for key, item in value.items())
    return None
