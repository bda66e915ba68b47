"""Bearer tokens (HS256 with JIFEN_SECRET) for members, staff, stores and the brand's integrations."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

import jwt
import orjson

from domain.configuration import Actor
from domain.errors import InvalidInput
from domain.members import EXTERNAL_ID_PATTERN, NO_SIGNALS, MemberSignals
from domain.orders import STORE_ID_PATTERN

ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 30 * 24 * 3600
# The header PyJWT writes for every token `issue_token` makes, and the shape of the whole token: the
# claims, and an HS256 signature (32 bytes: 43 characters of base64url without padding).
ISSUED_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
ISSUED_SHAPE = re.compile(re.escape(ISSUED_HEADER) + r"\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})")
ISSUED_CLAIMS = {"sub": str, "role": str, "iat": int, "exp": int, "nickname": str, "did": str, "phn": str,
                 "scp": str}
ROLES = ("member", "staff", "store", "integration")
# What an integration token may be given (claim scp, space-separated): the change feed, imports, exports.
INTEGRATION_SCOPES = ("ledger:read", "import", "export")


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Caller:
    """Who sent the request. ``member_id`` is the internal id, filled once the member is ensured."""

    # "anonymous", "member", "staff", "store" (``name``: the store id), "integration" (``name``: the
    # brand system's name, with its ``scopes``) or "partner" (``name``: its code)
    kind: str
    name: str = ""
    nickname: str | None = None
    member_id: int | None = None
    # What the brand's login service says of the member's device and phone (hashed): claims did, phn.
    signals: MemberSignals = NO_SIGNALS
    scopes: frozenset[str] = frozenset()

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

    @property
    def is_store(self) -> bool:
        return self.kind == "store"

    def holds(self, scope: str) -> bool:
        """Whether an integration's token grants ``scope``; staff hold every scope."""
        return self.is_staff or (self.kind == "integration" and scope in self.scopes)


ANONYMOUS = Caller("anonymous")


def issue_token(secret: str, subject: str, role: str = "member", nickname: str | None = None,
                ttl_seconds: int = DEFAULT_TTL_SECONDS, device_id: str | None = None,
                phone_hash: str | None = None, scopes: str | None = None) -> str:
    now = int(time.time())
    claims = {"sub": subject, "role": role, "iat": now, "exp": now + ttl_seconds}
    optional = {"nickname": nickname, "did": device_id, "phn": phone_hash, "scp": scopes}
    claims.update({name: value for name, value in optional.items() if value})
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@functools.lru_cache(maxsize=4096)
def verified_claims(secret: str, token: str) -> dict:
    """A member sends the same token with every request: its signature is checked once, then kept.
    A token that fails is not kept (lru_cache keeps no exceptions), so it fails every time."""
    claims = issued_claims(secret, token)
    if claims is not None:
        return claims
    claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    # PyJWT reads a numeric string as a time; a token that says "exp": "1900000000" is malformed.
    if isinstance(claims["exp"], bool) or not isinstance(claims["exp"], (int, float)):
        raise jwt.InvalidTokenError("exp must be a number")
    return claims


def issued_claims(secret: str, token: str) -> dict | None:
    """The claims of a valid token shaped exactly as `issue_token` writes them, checked in a sixth of
    PyJWT's time (a check-in wave is mostly first requests, each with a token not seen before); None
    for any other token, which PyJWT then decides. So this accepts only what PyJWT accepts."""
    shape = ISSUED_SHAPE.fullmatch(token)
    if shape is None:
        return None
    signed, _, signature = token.rpartition(".")
    expected = base64.urlsafe_b64encode(hmac.digest(secret.encode(), signed.encode(), hashlib.sha256)).rstrip(b"=")
    if not hmac.compare_digest(expected, signature.encode()):
        return None
    payload = shape.group(1)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(claims, dict) or "sub" not in claims or "exp" not in claims:
        return None
    if any(type(claims[name]) is not ISSUED_CLAIMS.get(name) for name in claims):  # bool is no int here
        return None
    now = time.time()
    if claims["exp"] <= now or claims.get("iat", 0) > now:
        return None
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
    if role not in ROLES:
        raise InvalidToken("invalid token: unknown role")
    if not isinstance(subject, str) or not EXTERNAL_ID_PATTERN.match(subject):
        raise InvalidToken("invalid token: the subject must be 1-64 letters, digits or _.:@-")
    if role == "store" and not STORE_ID_PATTERN.match(subject):
        raise InvalidToken("invalid token: a store's subject is its store id, 1-64 letters, digits or _.:-")
    nickname = claims.get("nickname") if isinstance(claims.get("nickname"), str) else None
    scopes = scopes_of(claims.get("scp")) if role == "integration" else frozenset()
    return Caller(role, subject, nickname, signals=signals_of(claims.get("did"), claims.get("phn")), scopes=scopes)


def scopes_of(claim: object) -> frozenset[str]:
    """An integration's scopes (claim scp, space-separated); one it does not know makes the token invalid."""
    if claim is None:
        return frozenset()
    if not isinstance(claim, str):
        raise InvalidToken("invalid token: scp is a space-separated string of scopes")
    scopes = frozenset(claim.split())
    if unknown := scopes - set(INTEGRATION_SCOPES):
        raise InvalidToken(f"invalid token: unknown scope {sorted(unknown)[0][:40]!r}")
    return scopes


def signals_of(device: object, phone: object) -> MemberSignals:
    """The did and phn claims, checked as the brand's server's own call checks them."""
    if device is None and phone is None:
        return NO_SIGNALS
    if not all(claim is None or isinstance(claim, str) for claim in (device, phone)):
        raise InvalidToken("invalid token: the did and phn claims are strings")
    try:
        return MemberSignals(device, phone)  # type: ignore[arg-type]
    except InvalidInput as error:
        raise InvalidToken(f"invalid token: the did and phn claims: {error.message}") from None
