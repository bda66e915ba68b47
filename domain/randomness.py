"""Where unpredictability comes from: injected, so tests and audits can replay it.

Production draws its bytes from the operating system. Tests pass a seeded source, so a run that
fails can be replayed exactly. Nothing in the domain calls ``random`` or ``secrets`` for an
outcome that moves points; it asks the source it was given.
"""
from __future__ import annotations

import random
import secrets
from typing import Protocol


class RandomSource(Protocol):
    def token(self, size: int) -> bytes:
        """``size`` unpredictable bytes."""


class SystemRandomSource:
    def token(self, size: int) -> bytes:
        return secrets.token_bytes(size)


class SeededRandomSource:
    """Deterministic bytes for tests: the same seed gives the same sequence."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def token(self, size: int) -> bytes:
        return self._random.randbytes(size)
