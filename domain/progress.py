"""How far a long operator run has got (a reconciliation, a segment refresh, an expiry sweep),
reported after each batch to whoever started it: the CLI prints it every few seconds."""
from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int | None], None]  # (done so far, how many in all if known)


def unreported(done: int, total: int | None) -> None:
    """For a run nobody watches (the scheduler's)."""
