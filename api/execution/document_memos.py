"""What has been worked out once for a parsed document or operation, remembered by its identity.

The prepared-document cache hands back the same document object for every request with the same
text, so identity is the key: hashing a document would walk every node of it. Each entry keeps
its object alive, so the object's id cannot pass to another while the entry lasts; the oldest
entry goes when the memo is full.
"""
from __future__ import annotations

from typing import Any

MISSING = object()


class DocumentMemo:
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[tuple[int, Any], tuple[object, Any]] = {}

    def get(self, node: object, qualifier: Any = None) -> Any:
        """The value kept for ``node`` (and ``qualifier``), or ``MISSING``."""
        entry = self._entries.get((id(node), qualifier))
        return entry[1] if entry is not None and entry[0] is node else MISSING

    def put(self, node: object, qualifier: Any, value: Any) -> None:
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)), None)  # another request may have just taken it
        self._entries[(id(node), qualifier)] = (node, value)
