"""What others may learn of a member: a pseudonym that stands for them in one place only.

A public leaderboard or a partner's statement must tell members apart without naming them: the
brand's member id is the token subject, and a list of them is a list of accounts. A pseudonym is an
HMAC of the member under a server key, scoped to where it is shown (one board, one partner), so it
is stable there, cannot be turned back into the member, and two scopes cannot be joined.
"""
from __future__ import annotations

import hashlib
import hmac

PSEUDONYM_BYTES = 12


class Pseudonyms:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a pseudonym key needs at least 16 bytes")
        self._key = key

    @classmethod
    def from_secret(cls, secret: str) -> "Pseudonyms":
        """Derived, so the signing secret itself never keys anything else."""
        return cls(hmac.new(secret.encode(), b"jifen:pseudonyms:v1", hashlib.sha256).digest())

    def of(self, scope: str, member_id: int) -> str:
        digest = hmac.new(self._key, f"{scope}\x1f{member_id}".encode(), hashlib.sha256).digest()
        return digest[:PSEUDONYM_BYTES].hex()
