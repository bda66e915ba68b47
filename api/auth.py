"""Bearer tokens (HS256 with JIFEN_SECRET) for members and staff."""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import jwt

from domain.configuration import Actor
from domain.members import EXTERNAL_ID_PATTERN

ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 30 * 24 * 3600


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Caller:
    """Who sent the request. ``member_id`` is the internal id, filled once the member is ensured."""

    kind: str  # "anonymous", "member", "staff" or "partner" (then ``name`` is the partner's code)
    name: str = ""
    nickname: str | None = None
    member_id: int | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.kind, self.name)

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_member(self) -> bool:
        return self.kind == "member"

    @property
    def is_partner(self) -> bool:
        return self.kind == "partner"


ANONYMOUS = Caller("anonymous")


def issue_token(secret: str, subject: str, role: str = "member", nickname: str | None = None,
                ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
    now = int(time.time())
    claims = {"sub": subject, "role": role, "iat": now, "exp": now + ttl_seconds}
    if nickname:
        claims["nickname"] = nickname
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@functools.lru_cache(maxsize=4096)
def verified_claims(secret: str, token: str) -> dict:
    """A member sends the same token with every request: its signature is checked once, then kept.
    A token that fails is not kept (lru_cache keeps no exceptions), so it fails every time."""
    claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    # PyJWT reads a numeric string as a time; a token that says "exp": "1900000000" is malformed.
    if isinstance(claims["exp"], bool) or not isinstance(claims["exp"], (int, float)):
        raise jwt.InvalidTokenError("exp must be a number")
    return claims


def caller_from_header(secret: str, header: str | None) -> Caller:
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Authorization must be 'Bearer <token>'")
    try:
        claims = verified_claims(secret, token.strip())
    except jwt.PyJWTError as error:
        raise InvalidToken(f"invalid token: {error}") from None
    if claims["exp"] <= time.time():  # verified while it was valid, then kept: it may have expired since
        raise InvalidToken("invalid token: Signature has expired")
    role = claims.get("role", "member")
    subject = claims["sub"]
    if role not in ("member", "staff"):
        raise InvalidToken("invalid token: unknown role")
    if not isinstance(subject, str) or not EXTERNAL_ID_PATTERN.match(subject):
        raise InvalidToken("invalid token: the subject must be 1-64 letters, digits or _.:@-")
    nickname = claims.get("nickname") if isinstance(claims.get("nickname"), str) else None
    return Caller(role, subject, nickname)
