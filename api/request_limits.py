"""What one request may ask, checked after validation and before anything runs.

- One operation: a document with several must name one in ``operationName`` (strawberry would
  otherwise run the first). Arrays of operations (batching) are not accepted at all.
- Lists of at most 100 items, in the document or in its variables: the body limit bounds a
  request's size, this bounds the work one argument can ask for (ids to mark read, codes to upload).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from graphql import DocumentNode, ListValueNode, OperationDefinitionNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

from api.cost import refusal

MAX_LIST_ITEMS = 100
# Parsed documents come from the parser cache, the same object for the same text: walk each once.
_LITERALS: OrderedDict[int, tuple[DocumentNode, int]] = OrderedDict()
LITERALS_KEPT = 512


class LimitingRequests(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operations = [d for d in (document.definitions if document else ()) if isinstance(d, OperationDefinitionNode)]
        longest = max(_longest_literal(document), _longest_value(context.variables or {}))
        # strawberry's operation_name falls back to the first operation's; what the client sent is here.
        named = getattr(context, "_provided_operation_name", None)
        if len(operations) > 1 and not named:
            context.result = refusal("this document holds several operations: name one in operationName",
                                     {"code": "BAD_REQUEST"})
        elif longest > MAX_LIST_ITEMS:
            context.result = refusal(f"a list of {longest} items: at most {MAX_LIST_ITEMS} per list",
                                     {"code": "INPUT_TOO_LARGE", "limit": MAX_LIST_ITEMS})
        yield


def _longest_value(value) -> int:
    if isinstance(value, list):
        return max([len(value), *(_longest_value(item) for item in value)])
    if isinstance(value, dict):
        return max([0, *(_longest_value(item) for item in value.values())])
    return 0


class _LongestList(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.longest = 0

    def enter_list_value(self, node: ListValueNode, *_args) -> None:
        self.longest = max(self.longest, len(node.values))


def _longest_literal(document: DocumentNode | None) -> int:
    if document is None:
        return 0
    kept = _LITERALS.get(id(document))
    if kept is not None and kept[0] is document:
        return kept[1]
    finder = _LongestList()
    visit(document, finder)
    _LITERALS[id(document)] = (document, finder.longest)
    if len(_LITERALS) > LITERALS_KEPT:
        _LITERALS.popitem(last=False)
    return finder.longest
