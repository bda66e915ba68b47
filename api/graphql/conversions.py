"""GraphQL input values turned into the integers the domain works with."""
from __future__ import annotations

import math

from domain.errors import InvalidInput


def multiplier_permille(value: float, field: str) -> int:
    """1.25 -> 1250. Absurd floats (inf, nan, 1e308) are refused before any arithmetic on them."""
    if not math.isfinite(value) or not 0 <= value <= 1000:
        raise InvalidInput("multiplier must be a number between 1.0 and 10.0", (field,))
    return round(value * 1000)
